using System.Diagnostics;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Generation.Decoding;

/// <summary>How a prompt enters the model, which decides the generation ids transformers starts from.</summary>
public enum PromptInput
{
    /// <summary>inputs_embeds (interleav_wrap_chat: chat with images, or with its default image=[]): generation ids start empty.</summary>
    Embeddings,
    /// <summary>input_ids (build_inputs: chat(image=None), a text-only prompt): the prompt ids are the first generation ids.</summary>
    InputIds,
}

/// <summary>
/// <see cref="IDecoderModel"/> over a loaded <see cref="Ixc25Model"/> and one <see cref="PreparedPrompt"/>:
/// the prefill encodes the prompt's images (timed as <see cref="ImageEncodingTime"/>), builds the input
/// sequence and runs the decoder into a fresh KV cache (<see cref="LanguageModelPrefillTime"/>). Not
/// thread-safe (the model is not). Disposing it frees the KV cache of every sequence it made (the
/// prefilled one and all forks), so a finished or cancelled request gives its memory back at once.
/// </summary>
public sealed class Ixc25Decoder : IDecoderModel, IDisposable
{
    private readonly Ixc25Model _model;
    private readonly PreparedPrompt _prompt;
    private readonly Action<string>? _progress;
    private readonly List<SequenceKv> _caches = [];

    /// <param name="progress">Receives one line before each image is encoded and before the decoder prefill.</param>
    public Ixc25Decoder(Ixc25Model model, PreparedPrompt prompt, PromptInput input = PromptInput.Embeddings, Action<string>? progress = null)
    {
        _model = model;
        _prompt = prompt;
        _progress = progress;
        if (input == PromptInput.InputIds)
        {
            if (prompt.Layout.Segments.OfType<ImageSegment>().Any())
                throw new IxcException("a prompt with images enters the model as embeddings, not as input ids");
            PromptInputIds = [.. prompt.Layout.Segments.OfType<TextSegment>().SelectMany(t => t.Ids)];
        }
        else
        {
            PromptInputIds = [];
        }
    }

    public int VocabSize => _model.Dims.V;
    public IReadOnlyList<int> PromptInputIds { get; }
    /// <summary>Prompt positions (images included).</summary>
    public int PromptLength => _prompt.Layout.TotalLength;
    public TimeSpan ImageEncodingTime { get; private set; }
    public TimeSpan LanguageModelPrefillTime { get; private set; }

    public IDecoderSequence Prefill(Span<float> logits)
    {
        var sw = Stopwatch.StartNew();
        void OnPhase(PrefillPhase phase, int value)
        {
            if (phase == PrefillPhase.Image)
            {
                _progress?.Invoke($"encoding image {value + 1}/{_prompt.Images.Count}");
                return;
            }
            ImageEncodingTime = sw.Elapsed;
            _progress?.Invoke($"prefill of {value} positions");
            sw.Restart();
        }
        var cache = _model.NewCache();
        try
        {
            var output = _model.Prefill(_prompt, cache, onPhase: OnPhase);
            try { output.Read(0, logits); }
            finally { _model.Ops.Release(output); }
            LanguageModelPrefillTime = sw.Elapsed;
            lock (_caches) _caches.Add(cache);
            return new Ixc25Sequence(_model, cache, _caches);
        }
        catch
        {
            cache.Dispose();
            throw;
        }
    }

    /// <summary>KV caches made by this decoder and not yet freed.</summary>
    public int LiveCaches { get { lock (_caches) return _caches.Count; } }

    /// <summary>Frees the KV cache of every sequence this decoder made; the sequences must not be used afterwards.</summary>
    public void Dispose()
    {
        lock (_caches)
        {
            foreach (var c in _caches) c.Dispose();
            _caches.Clear();
        }
    }
}

/// <summary>
/// A sequence of an <see cref="Ixc25Model"/>: its KV cache. <see cref="Fork"/> and <see cref="CopyFrom"/>
/// copy the whole cache (L layers x 2 x Hkv x T x D values; for the 7B model in float32 that is 256 KiB per
/// position, e.g. 0.5 GiB for a 2000-position prompt), which is what beam search pays when a beam's
/// parent changes.
/// </summary>
public sealed class Ixc25Sequence : IDecoderSequence, IDeviceGreedyStep
{
    private readonly Ixc25Model _model;
    private readonly List<SequenceKv>? _owner;

    /// <param name="owner">Where forks register their caches (the decoder that frees them), or null.</param>
    public Ixc25Sequence(Ixc25Model model, SequenceKv cache, List<SequenceKv>? owner = null)
    {
        _model = model;
        Cache = cache;
        _owner = owner;
    }

    public SequenceKv Cache { get; }
    public int Length => Cache.Length;

    public void Step(int token, Span<float> logits)
    {
        var output = _model.ForwardTokens([token], Cache);
        try { output.Read(0, logits); }
        finally { _model.Ops.Release(output); }
    }

    public bool CanArgMaxOnDevice => _model.Backend is IXC25.Graph.IDeviceBackend;

    public int StepArgMax(int token)
    {
        var device = (IXC25.Graph.IDeviceBackend)_model.Backend;
        var output = _model.ForwardTokens([token], Cache);
        try { return device.ArgMax(output); }
        finally { _model.Ops.Release(output); }
    }

    public IDecoderSequence Fork()
    {
        // a fresh cache (doubling growth from its initial capacity), filled by copying
        var cache = _model.NewCache();
        if (_owner is not null) lock (_owner) _owner.Add(cache);
        var copy = new Ixc25Sequence(_model, cache, _owner);
        copy.CopyFrom(this);
        return copy;
    }

    public void CopyFrom(IDecoderSequence source)
    {
        Cache.CopyFrom(((Ixc25Sequence)source).Cache);
    }
}
