namespace IXC25.Backends.Reference;

public static partial class RefOps
{
    /// <summary>
    /// InternLM2RMSNorm. x [T, C], weight [C], y [T, C]:
    /// y = weight * (x * r) with r = 1 / sqrt(mean(x^2) + eps); the mean in double, r rounded to float32,
    /// the products in float32 in torch's order.
    /// </summary>
    public static void RmsNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        Length(x.Length, (long)T * C, "rms_norm", "x");
        Length(weight.Length, C, "rms_norm", "weight");
        Length(y.Length, (long)T * C, "rms_norm", "y");
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * C, C);
            double ss = 0;
            foreach (float v in row) ss += (double)v * v;
            float r = (float)(1.0 / Math.Sqrt(ss / C + eps));
            var o = y.Slice(t * C, C);
            for (int c = 0; c < C; c++) o[c] = weight[c] * (row[c] * r);
        }
    }

    /// <summary>
    /// torch.nn.LayerNorm over the last dimension. x [T, C], weight [C], bias [C], y [T, C]:
    /// y = (x - mean) / sqrt(var + eps) * weight + bias with the biased variance; statistics in double.
    /// </summary>
    public static void LayerNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y)
    {
        Length(x.Length, (long)T * C, "layer_norm", "x");
        Length(weight.Length, C, "layer_norm", "weight");
        Length(bias.Length, C, "layer_norm", "bias");
        Length(y.Length, (long)T * C, "layer_norm", "y");
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * C, C);
            double s = 0;
            foreach (float v in row) s += v;
            double mean = s / C;
            double sq = 0;
            foreach (float v in row) sq += (v - mean) * (v - mean);
            double inv = 1.0 / Math.Sqrt(sq / C + eps);
            var o = y.Slice(t * C, C);
            for (int c = 0; c < C; c++) o[c] = (float)((row[c] - mean) * inv * weight[c] + bias[c]);
        }
    }

    /// <summary>
    /// Softmax over the last dimension. x [T, K], y [T, K]: exp(x - max) / sum(exp(x - max)) in double.
    /// A row holding NaN, or whose maximum is +inf or -inf (all masked), is all NaN, as in torch
    /// (inf - inf is NaN there).
    /// </summary>
    public static void Softmax(ReadOnlySpan<float> x, int T, int K, Span<float> y)
    {
        Length(x.Length, (long)T * K, "softmax", "x");
        Length(y.Length, (long)T * K, "softmax", "y");
        for (int t = 0; t < T; t++) SoftmaxRow(x.Slice(t * K, K), y.Slice(t * K, K));
    }

    public static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x)
        {
            if (float.IsNaN(v)) { y.Fill(float.NaN); return; }
            if (v > max) max = v;
        }
        if (float.IsInfinity(max)) { y.Fill(float.NaN); return; }
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Exp((double)x[i] - max);
        for (int i = 0; i < x.Length; i++) y[i] = (float)(Math.Exp((double)x[i] - max) / sum);
    }
}
