namespace IXC25.Generation.Decoding;

/// <summary>Row operations of the decoding loops.</summary>
public static class ScoreMath
{
    /// <summary>
    /// log_softmax over a row [V], as torch's CPU kernel orders it: (x - max) - log(sum(exp(x - max))),
    /// float32 except the sum, which we accumulate in double (torch: float32 lanes; the results differ by
    /// about one ulp of the log-sum, the same for every entry of the row).
    /// </summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, Span<float> output)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) if (v > max) max = v;
        double sum = 0;
        foreach (float v in x) sum += MathF.Exp(v - max);
        float logSum = (float)Math.Log(sum);
        for (int i = 0; i < x.Length; i++) output[i] = x[i] - max - logSum;
    }

    /// <summary>The first index of the largest value (torch.argmax's choice among ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    /// <summary>
    /// Probabilities of a row of scores (softmax in double: exp(x - max) / sum; -inf gives exactly 0) into
    /// <paramref name="probs"/>. Returns the sum of the unnormalized weights' normalization (1 up to rounding).
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<double> probs)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x) if (v > max) max = v;
        if (float.IsNegativeInfinity(max)) throw new InvalidOperationException("every score is -inf: nothing can be sampled");
        double sum = 0;
        for (int i = 0; i < x.Length; i++) { double e = Math.Exp((double)x[i] - max); probs[i] = e; sum += e; }
        for (int i = 0; i < x.Length; i++) probs[i] /= sum;
    }
}
