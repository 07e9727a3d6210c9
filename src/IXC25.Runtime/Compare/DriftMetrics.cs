namespace IXC25.Runtime.Compare;

/// <summary>NMSE and largest absolute error of a tensor against its reference (double accumulation).</summary>
public readonly record struct TensorDrift(double Nmse, double MaxAbs);

/// <summary>One logits row against its reference row: KL(P_ref || P), whether the argmaxes agree, the rank of the
/// reference's argmax token among this row's logits (0 = top), and that token.</summary>
public readonly record struct LogitsDrift(double Kl, bool Top1, long Rank, int RefToken);

/// <summary>
/// The drift metrics of <c>ixc25 drift</c> (docs/QUANT.md), in double precision, written once here and checked
/// against the same definitions in torch (golden/quant/make_drift_golden.py):
/// NMSE = sum (a - r)^2 / sum r^2 (0 when both are all zero, +inf when only r is); max |a - r|;
/// KL = sum_i p_i (log p_i - log q_i) with log-softmax in double (p the reference's distribution);
/// argmax = the first index of the largest logit; rank = the number of logits strictly above the reference token's.
/// A NaN anywhere gives NaN metrics (never a silent finite number).
/// </summary>
public static class DriftMetrics
{
    public static TensorDrift Tensor(ReadOnlySpan<float> a, ReadOnlySpan<float> r)
    {
        if (a.Length != r.Length) throw new IxcException($"drift: {a.Length} values against a reference of {r.Length}");
        double num = 0, den = 0, max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - r[i];
            num += d * d;
            den += (double)r[i] * r[i];
            double ad = Math.Abs(d);
            if (ad > max || double.IsNaN(ad)) max = double.IsNaN(max) ? max : ad;
        }
        double nmse = den > 0 ? num / den : num == 0 ? 0 : double.IsNaN(num) ? double.NaN : double.PositiveInfinity;
        return new TensorDrift(nmse, max);
    }

    /// <summary>First index of the largest value (NaN rows: -1).</summary>
    public static int Argmax(ReadOnlySpan<float> x)
    {
        int best = -1;
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i])) return -1;
            if (best < 0 || x[i] > x[best]) best = i;
        }
        return best;
    }

    private static double LogSumExp(ReadOnlySpan<float> x, out double max)
    {
        max = double.NegativeInfinity;
        foreach (float v in x) max = Math.Max(max, v);
        double s = 0;
        foreach (float v in x) s += Math.Exp(v - max);
        return max + Math.Log(s);
    }

    public static LogitsDrift Logits(ReadOnlySpan<float> q, ReadOnlySpan<float> r)
    {
        if (q.Length != r.Length || r.Length == 0) throw new IxcException($"drift: a logits row of {q.Length} against a reference of {r.Length}");
        int refTok = Argmax(r), qTok = Argmax(q);
        if (refTok < 0 || qTok < 0) return new LogitsDrift(double.NaN, false, -1, refTok);
        double lr = LogSumExp(r, out _), lq = LogSumExp(q, out _);
        double kl = 0;
        for (int i = 0; i < r.Length; i++)
        {
            double lp = r[i] - lr;
            double p = Math.Exp(lp);
            if (p > 0) kl += p * (lp - (q[i] - lq));
        }
        long rank = 0;
        float t = q[refTok];
        foreach (float v in q) if (v > t) rank++;
        return new LogitsDrift(kl, refTok == qTok, rank, refTok);
    }
}
