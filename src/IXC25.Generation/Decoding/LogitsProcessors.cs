namespace IXC25.Generation.Decoding;

/// <summary>
/// One step of transformers 4.33's logits processing on one row: <paramref name="scores"/> [V] in place,
/// given the row's generation ids (empty at the first step of an embeddings prompt).
/// </summary>
public interface ILogitsProcessor
{
    void Process(ReadOnlySpan<int> inputIds, Span<float> scores);
}

/// <summary>
/// Mirrors 4.33 <c>RepetitionPenaltyLogitsProcessor</c>: for every distinct id in the generation ids,
/// score &lt; 0 becomes score * penalty, otherwise score / penalty (float32 arithmetic with the penalty
/// rounded to float32, as torch does with a Python float). Repeated ids are penalized once (HF gathers
/// all scores before it scatters them back).
/// </summary>
public sealed class RepetitionPenaltyProcessor : ILogitsProcessor
{
    public RepetitionPenaltyProcessor(double penalty)
    {
        if (!(penalty > 0)) throw new ArgumentOutOfRangeException(nameof(penalty), "must be positive");
        Penalty = (float)penalty;
    }

    public float Penalty { get; }

    public void Process(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        if (inputIds.IsEmpty) return;
        var gathered = new float[inputIds.Length];
        for (int i = 0; i < inputIds.Length; i++) gathered[i] = scores[inputIds[i]];
        for (int i = 0; i < inputIds.Length; i++)
        {
            float s = gathered[i];
            scores[inputIds[i]] = s < 0 ? s * Penalty : s / Penalty;
        }
    }
}

/// <summary>Mirrors 4.33 <c>TemperatureLogitsWarper</c>: scores / temperature (float32 division).</summary>
public sealed class TemperatureWarper : ILogitsProcessor
{
    public TemperatureWarper(double temperature)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), "must be positive");
        Temperature = (float)temperature;
    }

    public float Temperature { get; }

    public void Process(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        for (int i = 0; i < scores.Length; i++) scores[i] /= Temperature;
    }
}

/// <summary>
/// Mirrors 4.33 <c>TopKLogitsWarper</c>: k = max(top_k, min_tokens_to_keep), at most V; every score strictly
/// below the k-th largest becomes -inf, so all scores tied with the k-th largest are kept.
/// </summary>
public sealed class TopKWarper : ILogitsProcessor
{
    public TopKWarper(int topK, int minTokensToKeep = 1)
    {
        if (topK <= 0) throw new ArgumentOutOfRangeException(nameof(topK), "must be positive");
        K = Math.Max(topK, minTokensToKeep);
    }

    public int K { get; }

    public void Process(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        float kth = KthLargest(scores, Math.Min(K, scores.Length));
        for (int i = 0; i < scores.Length; i++)
            if (scores[i] < kth) scores[i] = float.NegativeInfinity;
    }

    /// <summary>The k-th largest value (with multiplicity) via a size-k min-heap.</summary>
    internal static float KthLargest(ReadOnlySpan<float> values, int k)
    {
        var heap = new float[k];
        int n = 0;
        foreach (float v in values)
        {
            if (n < k)
            {
                int c = n++;
                heap[c] = v;
                while (c > 0) { int p = (c - 1) / 2; if (heap[p] <= heap[c]) break; (heap[p], heap[c]) = (heap[c], heap[p]); c = p; }
            }
            else if (v > heap[0])
            {
                heap[0] = v;
                int c = 0;
                while (true)
                {
                    int l = 2 * c + 1, r = l + 1, m = c;
                    if (l < k && heap[l] < heap[m]) m = l;
                    if (r < k && heap[r] < heap[m]) m = r;
                    if (m == c) break;
                    (heap[m], heap[c]) = (heap[c], heap[m]);
                    c = m;
                }
            }
        }
        return heap[0];
    }
}

/// <summary>
/// Mirrors 4.33 <c>TopPLogitsWarper</c>: sort ascending, softmax of the sorted scores, cumulative sum
/// (accumulated in double and rounded to float32 per prefix, as torch's CPU cumsum does); sorted
/// positions whose cumulative probability is &lt;= 1 - top_p (rounded to float32, as torch compares) are
/// removed except the last <c>min_tokens_to_keep</c> (the largest scores); removed scores become -inf.
/// Differences from torch, documented in docs/DEVIATIONS.md: equal scores sort by index (torch.sort on
/// CPU is not stable, so which of several tied tokens at the cut survives is torch's arbitrary choice),
/// and the float32 softmax sums in double (torch sums in float32 lanes), which moves a cumulative
/// probability by about one ulp.
/// </summary>
public sealed class TopPWarper : ILogitsProcessor
{
    private ulong[] _keys = [];
    private float[] _cum = [];

    public TopPWarper(double topP, int minTokensToKeep = 1)
    {
        if (!(topP >= 0 && topP <= 1)) throw new ArgumentOutOfRangeException(nameof(topP), "must be in [0, 1]");
        if (minTokensToKeep < 1) throw new ArgumentOutOfRangeException(nameof(minTokensToKeep), "must be positive");
        TopP = topP;
        MinTokensToKeep = minTokensToKeep;
        Threshold = (float)(1.0 - topP);
    }

    public double TopP { get; }
    public int MinTokensToKeep { get; }
    /// <summary>1 - top_p computed in double, then rounded to float32.</summary>
    public float Threshold { get; }

    public void Process(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        int n = scores.Length;
        if (_keys.Length != n) { _keys = new ulong[n]; _cum = new float[n]; }
        // ascending by score, ties by index: the order-preserving bits of the float in the high half
        for (int i = 0; i < n; i++) _keys[i] = ((ulong)SortableBits(scores[i]) << 32) | (uint)i;
        Array.Sort(_keys);
        float max = scores[Index(_keys[n - 1])];
        double sum = 0;
        for (int j = 0; j < n; j++)
        {
            float e = MathF.Exp(scores[Index(_keys[j])] - max);
            _cum[j] = e;
            sum += e;
        }
        double acc = 0;
        for (int j = 0; j < n; j++)
        {
            acc += (float)(_cum[j] / sum);
            _cum[j] = (float)acc;
        }
        int keepFrom = Math.Max(0, n - MinTokensToKeep);
        for (int j = 0; j < keepFrom; j++)
            if (_cum[j] <= Threshold) scores[Index(_keys[j])] = float.NegativeInfinity;
    }

    private static int Index(ulong key) => (int)(uint)key;

    /// <summary>Maps a float to a uint whose unsigned order is the float order (-inf lowest).</summary>
    internal static uint SortableBits(float f)
    {
        uint b = BitConverter.SingleToUInt32Bits(f);
        return (b & 0x8000_0000u) != 0 ? ~b : b | 0x8000_0000u;
    }
}

/// <summary>
/// The processor and warper lists 4.33's generate() builds for a configuration
/// (<c>_get_logits_processor</c>, <c>_get_logits_warper</c>), restricted to what IXC-2.5 reaches:
/// processors = [repetition penalty if != 1]; warpers (sampling only) = [temperature if != 1, top-k if
/// != 0, top-p if &lt; 1], with min_tokens_to_keep = number of eos ids + 1 under beam sampling (at least
/// 2, as HF's int eos gives) and 1 otherwise.
/// </summary>
public sealed class LogitsPipeline
{
    private LogitsPipeline(IReadOnlyList<ILogitsProcessor> processors, IReadOnlyList<ILogitsProcessor> warpers)
    {
        Processors = processors;
        Warpers = warpers;
    }

    public IReadOnlyList<ILogitsProcessor> Processors { get; }
    public IReadOnlyList<ILogitsProcessor> Warpers { get; }

    public static LogitsPipeline FromConfig(GenerationConfig config)
    {
        var processors = new List<ILogitsProcessor>();
        if (config.RepetitionPenalty != 1.0) processors.Add(new RepetitionPenaltyProcessor(config.RepetitionPenalty));
        var warpers = new List<ILogitsProcessor>();
        if (config.DoSample)
        {
            int minKeep = config.NumBeams > 1 ? Math.Max(1, config.EosTokenIds.Count) + 1 : 1;
            if (config.Temperature != 1.0) warpers.Add(new TemperatureWarper(config.Temperature));
            if (config.TopK != 0) warpers.Add(new TopKWarper(config.TopK, minKeep));
            if (config.TopP < 1.0) warpers.Add(new TopPWarper(config.TopP, minKeep));
        }
        return new LogitsPipeline(processors, warpers);
    }

    /// <summary>
    /// greedy_search / sample: the next-token logits through the processors, then (sampling) the warpers.
    /// </summary>
    public void ApplyToLogits(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        ApplyProcessors(inputIds, scores);
        ApplyWarpers(inputIds, scores);
    }

    /// <summary>
    /// beam_search / beam_sample on one beam's log-probabilities: the processors, then the beam's running
    /// score is added (float32), then (beam_sample) the warpers: 4.33's order, which 4.35 changed to
    /// warpers before the addition (visible with a temperature other than 1).
    /// </summary>
    public void ApplyToBeamRow(ReadOnlySpan<int> inputIds, Span<float> logProbs, float beamScore)
    {
        ApplyProcessors(inputIds, logProbs);
        for (int i = 0; i < logProbs.Length; i++) logProbs[i] += beamScore;
        ApplyWarpers(inputIds, logProbs);
    }

    public void ApplyProcessors(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        foreach (var p in Processors) p.Process(inputIds, scores);
    }

    public void ApplyWarpers(ReadOnlySpan<int> inputIds, Span<float> scores)
    {
        foreach (var w in Warpers) w.Process(inputIds, scores);
    }
}
