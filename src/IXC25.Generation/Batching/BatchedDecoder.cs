using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Model.Rope;

namespace IXC25.Generation.Batching;

/// <summary>
/// <see cref="IDecoderModel"/> of one request on a <see cref="DecodeScheduler"/>: the prefill and every step are queued
/// to the scheduler thread and waited for, so <see cref="Generator"/> runs unchanged on the request's own thread while its
/// steps are batched with other requests'. The request has its own rotary module (a fresh one, as a fresh engine has:
/// docs/SERVING.md) shared by its sequences (beams), and owns every KV cache it creates: <see cref="Dispose"/> frees them
/// (at once, on the scheduler thread) and takes the request out of the decoding set.
/// </summary>
internal sealed class BatchedDecoder : IDecoderModel, IDisposable
{
    private readonly DecodeScheduler _scheduler;
    private readonly Ixc25Model _model;
    private readonly PreparedPrompt _prompt;
    private readonly Action<string>? _progress;
    private readonly CancellationToken _cancellation;
    private readonly List<SequenceKv> _caches = [];
    private bool _decoding;

    public BatchedDecoder(DecodeScheduler scheduler, Ixc25Model model, PreparedPrompt prompt, string mode, Action<string>? progress, CancellationToken cancellation)
    {
        _scheduler = scheduler;
        _model = model;
        _prompt = prompt;
        Mode = mode;
        _progress = progress;
        _cancellation = cancellation;
        Rope = new RotaryEmbedding(model.Rope.Config, model.Rope.Mode);
    }

    public string Mode { get; }
    public RotaryEmbedding Rope { get; }
    public int VocabSize => _model.Dims.V;
    public IReadOnlyList<int> PromptInputIds => [];
    public TimeSpan ImageEncodingTime { get; private set; }
    public TimeSpan LanguageModelPrefillTime { get; private set; }
    internal DecodeScheduler Scheduler => _scheduler;

    public IDecoderSequence Prefill(Span<float> logits)
    {
        var (cache, row, images, decoder) = _scheduler.Prefill(_prompt, Mode, Rope, _progress, _cancellation);
        lock (_caches) _caches.Add(cache);
        ImageEncodingTime = images;
        LanguageModelPrefillTime = decoder;
        row.CopyTo(logits);
        if (!_decoding)
        {
            _decoding = true;
            _scheduler.Decoding(Mode, +1);
        }
        return new BatchedSequence(this, cache);
    }

    /// <summary>A new cache holding a copy of <paramref name="source"/> (beam search).</summary>
    internal SequenceKv Fork(SequenceKv source)
    {
        var copy = _scheduler.Invoke(() =>
        {
            var c = _model.NewCache();
            try { c.CopyFrom(source); }
            catch { c.Dispose(); throw; }
            return c;
        });
        _scheduler.CacheCount(+1);
        lock (_caches) _caches.Add(copy);
        return copy;
    }

    public void Dispose()
    {
        if (_decoding)
        {
            _decoding = false;
            _scheduler.Decoding(Mode, -1);
        }
        SequenceKv[] caches;
        lock (_caches)
        {
            caches = [.. _caches];
            _caches.Clear();
        }
        if (caches.Length == 0) return;
        try
        {
            _scheduler.Invoke(() =>
            {
                foreach (var c in caches) c.Dispose();
                _scheduler.CacheCount(-caches.Length);
                return 0;
            });
        }
        catch (ObjectDisposedException)
        {
            // the engine is gone: the backend (and its memory) went with it
        }
    }
}

/// <summary>One sequence (beam) of a <see cref="BatchedDecoder"/>: its KV cache; steps go through the scheduler.</summary>
internal sealed class BatchedSequence(BatchedDecoder owner, SequenceKv cache) : IDecoderSequence
{
    public SequenceKv Cache { get; } = cache;
    public int Length => Cache.Length;

    public void Step(int token, Span<float> logits) =>
        owner.Scheduler.Step(Cache, owner.Rope, owner.Mode, token).CopyTo(logits);

    public IDecoderSequence Fork() => new BatchedSequence(owner, owner.Fork(Cache));

    public void CopyFrom(IDecoderSequence source)
    {
        var src = ((BatchedSequence)source).Cache;
        owner.Scheduler.Invoke(() =>
        {
            Cache.CopyFrom(src);
            return 0;
        });
    }
}
