using System.Diagnostics;
using IXC25.Server.Api;

namespace IXC25.Server.Hosting;

/// <summary>
/// The bounded queue in front of the engine: <c>slots</c> requests generate at once (--max-batch), at most
/// <c>queue</c> more wait for a slot (--max-queue); a request arriving when that many wait is refused (429).
/// Nothing is refused while a waiting place is free.
/// </summary>
internal sealed class Admission(int slots, int queue) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(slots, slots);
    private int _waiting;
    private int _running;

    public int Waiting => Volatile.Read(ref _waiting);
    public int Running => Volatile.Read(ref _running);
    public int Slots => slots;
    public int QueueCapacity => queue;

    /// <summary>
    /// Waits for a slot; returns the lease (dispose it to free the slot) and how long it waited. Throws
    /// <see cref="ApiError"/> 429 when the queue is full, <see cref="OperationCanceledException"/> when
    /// <paramref name="ct"/> fires while waiting.
    /// </summary>
    public async Task<(IDisposable Lease, TimeSpan Waited)> EnterAsync(CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        if (!_slots.Wait(0))
        {
            if (Interlocked.Increment(ref _waiting) > queue)
            {
                Interlocked.Decrement(ref _waiting);
                throw ApiError.QueueFull(RetryAfterSeconds());
            }
            try { await _slots.WaitAsync(ct).ConfigureAwait(false); }
            finally { Interlocked.Decrement(ref _waiting); }
        }
        Interlocked.Increment(ref _running);
        return (new Lease(this), sw.Elapsed);
    }

    /// <summary>A hint for Retry-After: one second per request ahead, per slot, at least 1.</summary>
    private int RetryAfterSeconds() => Math.Max(1, (Waiting + Running) / Math.Max(1, slots));

    private sealed class Lease(Admission owner) : IDisposable
    {
        private int _done;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            Interlocked.Decrement(ref owner._running);
            owner._slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
