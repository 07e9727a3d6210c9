namespace IXC25.Backends.Reference;

public static partial class RefOps
{
    /// <summary>
    /// Rotary embedding with rotate_half. x [HX, T, D], cos [T, D], sin [T, D], y [HX, T, D]:
    /// y = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[D/2:], x[:D/2]); float32, torch's order
    /// (bit-identical to apply_rotary_pos_emb). x and y may be the same memory.
    /// </summary>
    public static void Rope(ReadOnlySpan<float> x, int HX, int T, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y)
    {
        Require(D % 2 == 0, "rope", $"head dim {D} must be even");
        Length(x.Length, (long)HX * T * D, "rope", "x");
        Length(cos.Length, (long)T * D, "rope", "cos");
        Length(sin.Length, (long)T * D, "rope", "sin");
        Length(y.Length, (long)HX * T * D, "rope", "y");
        int half = D / 2;
        var row = new float[D]; // x and y may be the same memory
        for (int h = 0; h < HX; h++)
            for (int t = 0; t < T; t++)
            {
                x.Slice((h * T + t) * D, D).CopyTo(row);
                ReadOnlySpan<float> v = row;
                var c = cos.Slice(t * D, D);
                var s = sin.Slice(t * D, D);
                var o = y.Slice((h * T + t) * D, D);
                for (int d = 0; d < D; d++)
                {
                    float rot = d < half ? -v[d + half] : v[d - half];
                    o[d] = v[d] * c[d] + rot * s[d];
                }
            }
    }

    /// <summary>
    /// The interleaved wqkv layout. qkv [T, (H + 2 HKV) D] viewed as [T, HKV, G + 2, D] with G = H / HKV;
    /// q [H, T, D] (query head g*G + j = slice j of group g), k [HKV, T, D] (slice G), v [HKV, T, D] (slice G + 1).
    /// </summary>
    public static void SplitQkv(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, Span<float> q, Span<float> k, Span<float> v)
    {
        Require(HKV > 0 && H % HKV == 0, "split_qkv", $"heads {H} is not a multiple of kv_heads {HKV}");
        int G = H / HKV, W = (H + 2 * HKV) * D;
        Length(qkv.Length, (long)T * W, "split_qkv", "qkv");
        Length(q.Length, (long)H * T * D, "split_qkv", "q");
        Length(k.Length, (long)HKV * T * D, "split_qkv", "k");
        Length(v.Length, (long)HKV * T * D, "split_qkv", "v");
        for (int t = 0; t < T; t++)
            for (int g = 0; g < HKV; g++)
            {
                int baseCol = t * W + g * (G + 2) * D;
                for (int j = 0; j < G; j++) qkv.Slice(baseCol + j * D, D).CopyTo(q.Slice(((g * G + j) * T + t) * D, D));
                qkv.Slice(baseCol + G * D, D).CopyTo(k.Slice((g * T + t) * D, D));
                qkv.Slice(baseCol + (G + 1) * D, D).CopyTo(v.Slice((g * T + t) * D, D));
            }
    }

    /// <summary>
    /// Scaled dot-product attention with grouped KV heads. q [H, TQ, D], k [HKV, TK, D], v [HKV, TK, D],
    /// y [TQ, H * D] (token-major, head h in columns h*D .. h*D + D - 1). Query head h uses KV head
    /// h / (H / HKV). scores = (q k^T) * scale, or (q * scale) k^T when <paramref name="scaleQ"/>;
    /// with <paramref name="causal"/>, query t sees keys 0 .. TK - TQ + t. Softmax and products in double.
    /// </summary>
    public static void Sdpa(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int H, int HKV, int TQ, int TK, int D,
        float scale, bool causal, bool scaleQ, Span<float> y)
    {
        Require(HKV > 0 && H % HKV == 0, "sdpa", $"heads {H} is not a multiple of kv_heads {HKV}");
        Require(!causal || TK >= TQ, "sdpa", $"causal attention needs at least as many keys ({TK}) as queries ({TQ})");
        Length(q.Length, (long)H * TQ * D, "sdpa", "q");
        Length(k.Length, (long)HKV * TK * D, "sdpa", "k");
        Length(v.Length, (long)HKV * TK * D, "sdpa", "v");
        Length(y.Length, (long)TQ * H * D, "sdpa", "y");
        int G = H / HKV;
        var scores = new double[TK];
        var acc = new double[D];
        for (int h = 0; h < H; h++)
        {
            int g = h / G;
            for (int t = 0; t < TQ; t++)
            {
                var qt = q.Slice((h * TQ + t) * D, D);
                int visible = causal ? TK - TQ + t + 1 : TK;
                double max = double.NegativeInfinity;
                for (int s = 0; s < visible; s++)
                {
                    var ks = k.Slice((g * TK + s) * D, D);
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += (scaleQ ? (double)(qt[d] * scale) : qt[d]) * ks[d];
                    scores[s] = scaleQ ? dot : dot * scale;
                    if (scores[s] > max) max = scores[s];
                }
                double sum = 0;
                for (int s = 0; s < visible; s++) { scores[s] = Math.Exp(scores[s] - max); sum += scores[s]; }
                Array.Clear(acc);
                for (int s = 0; s < visible; s++)
                {
                    var vs = v.Slice((g * TK + s) * D, D);
                    double p = scores[s] / sum;
                    for (int d = 0; d < D; d++) acc[d] += p * vs[d];
                }
                var o = y.Slice(t * H * D + h * D, D);
                for (int d = 0; d < D; d++) o[d] = (float)acc[d];
            }
        }
    }

    /// <summary>
    /// InternLM2Attention core, prefill or decode against a KV cache. qkv [T, (H + 2 HKV) D],
    /// cos/sin [T, D] (the rotary tables at each token's position), k_past/v_past [HKV, TP, D] (TP may be 0),
    /// y [T, H D], k_new/v_new [HKV, T, D] (the rotated keys and the values to append to the cache).
    /// Composition: split_qkv, rope on q and k, concatenation with the past, causal sdpa with scale 1/sqrt(D).
    /// </summary>
    public static void Attention(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<float> kPast, ReadOnlySpan<float> vPast, int TP, Span<float> y, Span<float> kNew, Span<float> vNew)
    {
        Length(kPast.Length, (long)HKV * TP * D, "attention", "k_past");
        Length(vPast.Length, (long)HKV * TP * D, "attention", "v_past");
        var q = new float[H * T * D];
        var k = new float[HKV * T * D];
        SplitQkv(qkv, T, H, HKV, D, q, k, vNew);
        Rope(q, H, T, D, cos, sin, q);
        Rope(k, HKV, T, D, cos, sin, kNew);
        int TK = TP + T;
        var kAll = new float[HKV * TK * D];
        var vAll = new float[HKV * TK * D];
        for (int g = 0; g < HKV; g++)
        {
            kPast.Slice(g * TP * D, TP * D).CopyTo(kAll.AsSpan(g * TK * D));
            kNew.Slice(g * T * D, T * D).CopyTo(kAll.AsSpan(g * TK * D + TP * D));
            vPast.Slice(g * TP * D, TP * D).CopyTo(vAll.AsSpan(g * TK * D));
            vNew.Slice(g * T * D, T * D).CopyTo(vAll.AsSpan(g * TK * D + TP * D));
        }
        Sdpa(q, kAll, vAll, H, HKV, T, TK, D, (float)(1.0 / Math.Sqrt(D)), causal: true, scaleQ: false, y);
    }

    /// <summary>
    /// CLIPAttention core, batched and token-major. q, k, v, y [N, T, C] with heads of C / heads channels:
    /// for image n and head h, y = softmax((q * scale) k^T) v, no mask.
    /// </summary>
    public static void Mha(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int N, int T, int C, int heads, float scale, Span<float> y)
    {
        Require(heads > 0 && C % heads == 0, "mha", $"channels {C} are not a multiple of heads {heads}");
        int HD = C / heads;
        var qh = new float[heads * T * HD];
        var kh = new float[heads * T * HD];
        var vh = new float[heads * T * HD];
        var yh = new float[T * C];
        for (int n = 0; n < N; n++)
        {
            int off = n * T * C;
            for (int t = 0; t < T; t++)
                for (int h = 0; h < heads; h++)
                {
                    q.Slice(off + t * C + h * HD, HD).CopyTo(qh.AsSpan((h * T + t) * HD));
                    k.Slice(off + t * C + h * HD, HD).CopyTo(kh.AsSpan((h * T + t) * HD));
                    v.Slice(off + t * C + h * HD, HD).CopyTo(vh.AsSpan((h * T + t) * HD));
                }
            Sdpa(qh, kh, vh, heads, heads, T, T, HD, scale, causal: false, scaleQ: true, yh);
            yh.CopyTo(y.Slice(off, T * C));
        }
    }
}
