using System.Collections.Concurrent;
using System.Diagnostics;
using IXC25.Model.Inference;
using IXC25.Model.Rope;

namespace IXC25.Generation.Batching;

/// <summary>
/// One thread that owns an <see cref="Ixc25Model"/> (which is not thread-safe) and runs every model call of concurrent
/// requests: prefills in turns, one unit at a time (one image through the vision tower, or one chunk of
/// <see cref="ModelOptions.PrefillChunk"/> positions of the decoder pass), and decode steps of up to
/// <see cref="BatchOptions.MaxBatch"/> sequences of one task mode together (<see cref="Ixc25Model.ForwardStep"/>: one pass
/// over the weights for all of them). A turn runs the pending small jobs (KV cache allocation, copies, frees), then a
/// decode batch, then at most one prefill unit, so a running decode waits for at most one prefill unit between steps.
/// <para>Exactness: every sequence has its own KV cache and its own rotary module, and the batched step computes each row
/// exactly as the row alone (row_exact linears), so a request's logits do not depend on what runs with it. The task mode
/// (<see cref="Ixc25Model.SetMode"/>) is the model's: a batch holds one mode, and the scheduler switches between units.</para>
/// <para>Errors stay with their request: a failing prefill fails only its request; a failing batched step fails the
/// requests in that batch. Callers block on their own work only; cancellation is checked before every prefill unit.</para>
/// </summary>
public sealed class DecodeScheduler : IDisposable
{
    private readonly Ixc25Model _model;
    private readonly object _lock = new();
    private readonly Queue<Work> _invokes = new();
    private readonly List<PendingStep> _steps = [];
    private readonly LinkedList<PrefillJob> _prefills = new();
    private readonly Dictionary<string, int> _decoding = [];
    private readonly Thread _thread;
    private bool _disposed;
    private long _stepCount, _tokenCount;
    private int _caches;

    public DecodeScheduler(Ixc25Model model, BatchOptions options)
    {
        options.Validate();
        _model = model;
        Options = options;
        _thread = new Thread(Loop) { IsBackground = true, Name = "ixc25-decode-scheduler" };
        _thread.Start();
    }

    public BatchOptions Options { get; }

    /// <summary>Raised on the scheduler thread after each batched decode step (keep handlers short: the model waits).</summary>
    public event Action<BatchStep>? StepRan;

    /// <summary>Batched decode steps run so far.</summary>
    public long Steps => Interlocked.Read(ref _stepCount);

    /// <summary>Tokens decoded so far (sum of the batch sizes).</summary>
    public long Tokens => Interlocked.Read(ref _tokenCount);

    /// <summary>KV caches held by requests in progress (prompt caches and beam copies); a request's are freed when it ends.</summary>
    public int Caches => Volatile.Read(ref _caches);

    internal void CacheCount(int delta) => Interlocked.Add(ref _caches, delta);

    /// <summary>Decode steps waiting for a batch, prefills waiting or running, and requests in their decode phase (for metrics).</summary>
    public (int PendingSteps, int Prefills, int Decoding) Load
    {
        get { lock (_lock) return (_steps.Count, _prefills.Count, _decoding.Values.Sum()); }
    }

    // ------------------------------------------------------------------ what requests call (any thread)

    /// <summary>Runs <paramref name="f"/> on the scheduler thread at its next turn and returns its result (its exception).</summary>
    public T Invoke<T>(Func<T> f)
    {
        if (Thread.CurrentThread == _thread) return f();
        var w = new Work(() => f()!);
        Enqueue(() => _invokes.Enqueue(w));
        return (T)w.Done.Task.GetAwaiter().GetResult();
    }

    /// <summary>Prefills <paramref name="prompt"/> in mode <paramref name="mode"/> into a new KV cache, one unit per turn; progress lines go to <paramref name="progress"/> on the caller's thread.</summary>
    internal (SequenceKv Cache, float[] Logits, TimeSpan Images, TimeSpan Decoder) Prefill(PreparedPrompt prompt, string mode, RotaryEmbedding rope,
        Action<string>? progress, CancellationToken cancellationToken)
    {
        var job = new PrefillJob(prompt, mode, rope, cancellationToken);
        Enqueue(() => _prefills.AddLast(job));
        foreach (var ev in job.Events.GetConsumingEnumerable())
        {
            switch (ev)
            {
                case string line: progress?.Invoke(line); break;
                case Exception e: System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e); break;
                case PrefillJob done: return (done.Cache!, done.Logits!, done.ImageTime, done.DecoderTime);
            }
        }
        throw new InvalidOperationException("prefill ended without a result");
    }

    /// <summary>Feeds <paramref name="token"/> to the sequence (cache + rotary module) in the next batch of its mode; returns its logits [V].</summary>
    internal float[] Step(SequenceKv cache, RotaryEmbedding rope, string mode, int token)
    {
        var s = new PendingStep(cache, rope, mode, token, Stopwatch.GetTimestamp());
        Enqueue(() => _steps.Add(s));
        return s.Done.Task.GetAwaiter().GetResult();
    }

    /// <summary>A request of mode <paramref name="mode"/> enters (+1) or leaves (-1) its decode phase: the scheduler gathers steps of the requests decoding.</summary>
    internal void Decoding(string mode, int delta)
    {
        lock (_lock)
        {
            _decoding[mode] = _decoding.GetValueOrDefault(mode) + delta;
            Monitor.PulseAll(_lock);
        }
    }

    private void Enqueue(Action add)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            add();
            Monitor.PulseAll(_lock);
        }
    }

    // ------------------------------------------------------------------ the scheduler thread

    private void Loop()
    {
        bool lastWasPrefill = false;
        while (true)
        {
            Work[] invokes;
            List<PendingStep>? batch = null;
            PrefillJob? job = null;
            lock (_lock)
            {
                while (true)
                {
                    if (_disposed) { Shutdown(); return; }
                    if (_invokes.Count > 0) break;
                    var (mode, ready, wait) = BatchReadiness();
                    if (mode is not null && (ready || lastWasPrefill || _prefills.Count == 0 && wait <= TimeSpan.Zero))
                    {
                        batch = TakeBatch(mode);
                        break;
                    }
                    if (_prefills.Count > 0) { job = _prefills.First!.Value; break; }
                    if (mode is not null) Monitor.Wait(_lock, wait);
                    else Monitor.Wait(_lock);
                }
                invokes = [.. _invokes];
                _invokes.Clear();
            }
            foreach (var w in invokes) w.Run();
            if (batch is not null)
            {
                RunBatch(batch);
                lastWasPrefill = false;
            }
            else if (job is not null)
            {
                if (RunPrefillUnit(job)) lock (_lock) _prefills.Remove(job);
                lastWasPrefill = true;
            }
        }
    }

    /// <summary>The mode of the oldest pending step, whether its batch is full (every request of that mode decoding has a step pending, or MaxBatch), and how long the gather window has left.</summary>
    private (string? Mode, bool Ready, TimeSpan Wait) BatchReadiness()
    {
        if (_steps.Count == 0) return (null, false, TimeSpan.Zero);
        var oldest = _steps[0];
        int pending = _steps.Count(s => s.Mode == oldest.Mode);
        int expected = Math.Min(Options.MaxBatch, Math.Max(1, _decoding.GetValueOrDefault(oldest.Mode)));
        var waited = Stopwatch.GetElapsedTime(oldest.Arrived);
        return (oldest.Mode, pending >= expected, Options.Gather - waited);
    }

    private List<PendingStep> TakeBatch(string mode)
    {
        var batch = new List<PendingStep>();
        var caches = new HashSet<SequenceKv>(ReferenceEqualityComparer.Instance);
        foreach (var s in _steps)
            if (s.Mode == mode && batch.Count < Options.MaxBatch && caches.Add(s.Cache)) batch.Add(s);
        foreach (var s in batch) _steps.Remove(s);
        return batch;
    }

    private void SetMode(string mode)
    {
        if (_model.Mode != mode) _model.SetMode(mode);
    }

    private void RunBatch(List<PendingStep> batch)
    {
        var sw = Stopwatch.StartNew();
        float[][] rows;
        try
        {
            SetMode(batch[0].Mode);
            var logits = _model.ForwardStep(batch.Select(s => (long)s.Token).ToArray(), batch.Select(s => s.Cache).ToArray(), batch.Select(s => s.Rope).ToArray());
            try
            {
                int V = _model.Dims.V;
                rows = new float[batch.Count][];
                for (int b = 0; b < batch.Count; b++)
                {
                    rows[b] = new float[V];
                    logits.Read((long)b * V, rows[b]);
                }
            }
            finally { _model.Ops.Release(logits); }
        }
        catch (Exception e)
        {
            foreach (var s in batch) s.Done.TrySetException(e);
            return;
        }
        Interlocked.Increment(ref _stepCount);
        Interlocked.Add(ref _tokenCount, batch.Count);
        try { StepRan?.Invoke(new BatchStep(batch.Count, batch[0].Mode, sw.Elapsed)); }
        catch { /* an observer's failure is not the requests' */ }
        for (int b = 0; b < batch.Count; b++) batch[b].Done.TrySetResult(rows[b]);
    }

    /// <summary>Runs the job's next unit; true when the job is over (done, failed or cancelled).</summary>
    private bool RunPrefillUnit(PrefillJob job)
    {
        try
        {
            job.Token.ThrowIfCancellationRequested();
            SetMode(job.Mode);
            if (job.Steps is null)
            {
                job.Cache = _model.NewCache();
                CacheCount(+1);
                job.Steps = _model.PrefillSteps(job.Prompt, job.Cache, onPhase: job.OnPhase, rope: job.Rope);
            }
            var sw = Stopwatch.StartNew();
            bool more = job.Steps.MoveNext();
            if (job.InDecoder) job.DecoderTime += sw.Elapsed;
            else job.ImageTime += sw.Elapsed;
            if (more && job.Steps.Current is null) return false;
            var logits = job.Steps.Current ?? throw new InvalidOperationException("prefill produced no logits");
            try { job.Logits = logits.ToArray<float>(); }
            finally { _model.Ops.Release(logits); }
            job.Steps.Dispose();
            job.Events.Add(job);
            job.Events.CompleteAdding();
            return true;
        }
        catch (Exception e)
        {
            job.Steps?.Dispose();
            if (job.Cache is not null)
            {
                job.Cache.Dispose();
                CacheCount(-1);
                job.Cache = null;
            }
            job.Events.Add(e);
            job.Events.CompleteAdding();
            return true;
        }
    }

    private void Shutdown()
    {
        var gone = new ObjectDisposedException(nameof(DecodeScheduler), "the chat engine was disposed");
        foreach (var w in _invokes) w.Run();
        _invokes.Clear();
        foreach (var s in _steps) s.Done.TrySetException(gone);
        _steps.Clear();
        foreach (var j in _prefills)
        {
            j.Steps?.Dispose();
            j.Cache?.Dispose();
            j.Events.Add(gone);
            j.Events.CompleteAdding();
        }
        _prefills.Clear();
    }

    /// <summary>Finishes the work in progress, runs the pending cache frees, fails what is still waiting, and stops the thread.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            Monitor.PulseAll(_lock);
        }
        if (Thread.CurrentThread != _thread) _thread.Join();
    }

    // ------------------------------------------------------------------ work items

    private sealed class Work(Func<object> f)
    {
        public TaskCompletionSource<object> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run()
        {
            try { Done.TrySetResult(f()); }
            catch (Exception e) { Done.TrySetException(e); }
        }
    }

    private sealed record PendingStep(SequenceKv Cache, RotaryEmbedding Rope, string Mode, int Token, long Arrived)
    {
        public TaskCompletionSource<float[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class PrefillJob(PreparedPrompt prompt, string mode, RotaryEmbedding rope, CancellationToken token)
    {
        public PreparedPrompt Prompt { get; } = prompt;
        public string Mode { get; } = mode;
        public RotaryEmbedding Rope { get; } = rope;
        public CancellationToken Token { get; } = token;
        public SequenceKv? Cache { get; set; }
        public IEnumerator<IXC25.Graph.Act?>? Steps { get; set; }
        public float[]? Logits { get; set; }
        public bool InDecoder { get; private set; }
        public TimeSpan ImageTime { get; set; }
        public TimeSpan DecoderTime { get; set; }

        /// <summary>Progress lines, then the job itself (done) or an exception.</summary>
        public BlockingCollection<object> Events { get; } = [];

        public void OnPhase(PrefillPhase phase, int value)
        {
            if (phase == PrefillPhase.Image) Events.Add($"encoding image {value + 1}/{Prompt.Images.Count}");
            else
            {
                InDecoder = true;
                Events.Add($"prefill of {value} positions");
            }
        }
    }
}
