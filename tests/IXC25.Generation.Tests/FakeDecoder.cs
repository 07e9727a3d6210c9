using IXC25.Generation.Decoding;

namespace IXC25.Generation.Tests;

/// <summary>
/// A deterministic stand-in for a language model: the logits after a history (the tokens fed since the
/// prompt) are <see cref="Logits"/>(history). Counts prefills, steps and copies.
/// </summary>
internal sealed class FakeDecoder : IDecoderModel
{
    public FakeDecoder(int vocab, Func<IReadOnlyList<int>, float[]>? logits = null, IReadOnlyList<int>? promptIds = null)
    {
        VocabSize = vocab;
        Logits = logits ?? (h => HashLogits(h, vocab));
        PromptInputIds = promptIds ?? [];
    }

    public int VocabSize { get; }
    public IReadOnlyList<int> PromptInputIds { get; }
    public Func<IReadOnlyList<int>, float[]> Logits { get; }
    public int Prefills { get; private set; }
    public int Steps { get; set; }
    public int Copies { get; set; }
    /// <summary>Called after every step with the number of steps so far.</summary>
    public Action<int>? OnStep { get; init; }

    public IDecoderSequence Prefill(Span<float> logits)
    {
        Prefills++;
        Logits([]).CopyTo(logits);
        return new Sequence(this, []);
    }

    /// <summary>Pseudo-random scores in [-4, 4) from a hash of the history (FNV-1a, then xorshift per token).</summary>
    public static float[] HashLogits(IReadOnlyList<int> history, int vocab, uint salt = 0)
    {
        uint h = 2166136261u ^ salt;
        foreach (int t in history) h = (h ^ (uint)t) * 16777619u;
        var x = new float[vocab];
        uint s = h | 1;
        for (int i = 0; i < vocab; i++)
        {
            s ^= s << 13; s ^= s >> 17; s ^= s << 5;
            x[i] = (s >> 8) / (float)(1 << 24) * 8f - 4f;
        }
        return x;
    }

    public sealed class Sequence(FakeDecoder model, List<int> history) : IDecoderSequence
    {
        public List<int> History { get; private set; } = history;
        public int Length => 10 + History.Count;

        public void Step(int token, Span<float> logits)
        {
            History.Add(token);
            model.Logits(History).CopyTo(logits);
            model.Steps++;
            model.OnStep?.Invoke(model.Steps);
        }

        public IDecoderSequence Fork()
        {
            model.Copies++;
            return new Sequence(model, [.. History]);
        }

        public void CopyFrom(IDecoderSequence source)
        {
            model.Copies++;
            History = [.. ((Sequence)source).History];
        }
    }
}
