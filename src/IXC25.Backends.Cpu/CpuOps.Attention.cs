using IXC25.Backends.Cpu.Attention;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Runtime;

namespace IXC25.Backends.Cpu;

// Attention: the blocked online-softmax drivers of Attention/ over the GEMM microkernels.
public sealed partial class CpuOps
{
    /// <summary>qkv [T, (H + 2 HKV) D], cos/sin [T, D], k_past/v_past [HKV, TP, D], y [T, H D], k_new/v_new [HKV, T, D].</summary>
    /// <remarks>
    /// The reference-compatible form (<see cref="RefOps.Attention"/>): copies the past into a temporary
    /// <see cref="KvPanels"/>. A decoder that keeps its cache should use the <see cref="KvPanels"/> overload.
    /// k_new/v_new are bit-identical to the reference (same float32 rope expression).
    /// </remarks>
    public unsafe void Attention(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<float> kPast, ReadOnlySpan<float> vPast, int TP, Span<float> y, Span<float> kNew, Span<float> vNew)
    {
        CheckAttention(qkv, T, H, HKV, D, cos, sin, y);
        Check(TP >= 0 && kPast.Length == (long)HKV * TP * D, "attention", $"'k_past' has {kPast.Length} elements, expected {(long)HKV * Math.Max(TP, 0) * D}");
        Check(vPast.Length == (long)HKV * TP * D, "attention", $"'v_past' has {vPast.Length} elements, expected {(long)HKV * TP * D}");
        Check(kNew.Length == (long)HKV * T * D && vNew.Length == (long)HKV * T * D, "attention", $"'k_new'/'v_new' have {kNew.Length}/{vNew.Length} elements, expected {(long)HKV * T * D}");
        NewKeysValues(qkv, T, H, HKV, D, cos, sin, kNew, vNew);
        using var cache = KvPanels.Temporary(HKV, D, TP + T);
        cache.Append(kPast, vPast, TP);
        cache.Append(kNew, vNew, T);
        Attend(qkv, T, H, HKV, D, cos, sin, cache, y);
    }

    /// <summary>
    /// qkv [T, (H + 2 HKV) D] of the T new tokens, cos/sin [T, D] at their positions, y [T, H D]. Rotates the new
    /// keys, appends keys and values to <paramref name="cache"/> (which then holds TP + T tokens), and runs causal
    /// attention of the new tokens (positions TP .. TP + T - 1) against the whole cache.
    /// </summary>
    public unsafe void Attention(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, KvPanels cache, Span<float> y)
    {
        CheckAttention(qkv, T, H, HKV, D, cos, sin, y);
        Check(cache.KvHeads == HKV && cache.HeadDim == D, "attention", $"kv cache has {cache.KvHeads} heads of {cache.HeadDim}, expected {HKV} of {D}");
        int n = HKV * T * D;
        using (var kv = Scratch.Rent(2L * n))
        {
            var kNew = new Span<float>(kv.Pointer, n);
            var vNew = new Span<float>(kv.Pointer + n, n);
            NewKeysValues(qkv, T, H, HKV, D, cos, sin, kNew, vNew);
            cache.Append(kNew, vNew, T);
        }
        Attend(qkv, T, H, HKV, D, cos, sin, cache, y);
    }

    /// <summary>q, k, v, y [N, T, C] (CLIP attention core).</summary>
    public unsafe void Mha(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int N, int T, int C, int heads, float scale, Span<float> y)
    {
        Check(heads > 0 && C % heads == 0, "mha", $"channels {C} are not a multiple of heads {heads}");
        long n = (long)N * T * C;
        Check(q.Length == n && k.Length == n && v.Length == n && y.Length == n, "mha", $"q/k/v/y have {q.Length}/{k.Length}/{v.Length}/{y.Length} elements, expected {n} ([{N}, {T}, {C}])");
        if (n == 0) return;
        fixed (float* qp = q, kp = k, vp = v, yp = y)
            AttentionDriver.Mha(qp, kp, vp, N, T, C, heads, scale, yp, Threads);
    }

    /// <summary>
    /// Scaled dot-product attention as the reference's sdpa op: q [H, TQ, D], k/v [HKV, TK, D], y [TQ, H D];
    /// scores = (q k^T) * scale, or (q * scale) k^T when <paramref name="scaleQ"/>; causal: query t sees keys [0, TK - TQ + t].
    /// </summary>
    internal unsafe void Sdpa(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int H, int HKV, int TQ, int TK, int D,
        float scale, bool causal, bool scaleQ, Span<float> y)
    {
        Check(HKV > 0 && H % HKV == 0, "sdpa", $"heads {H} is not a multiple of kv_heads {HKV}");
        Check(!causal || TK >= TQ, "sdpa", $"causal attention needs at least as many keys ({TK}) as queries ({TQ})");
        Check(q.Length == (long)H * TQ * D && k.Length == (long)HKV * TK * D && v.Length == (long)HKV * TK * D && y.Length == (long)TQ * H * D,
            "sdpa", "tensor sizes do not match [H, TQ, D], [HKV, TK, D], [TQ, H D]");
        if (TQ == 0) return;
        using var cache = KvPanels.Temporary(HKV, D, TK);
        cache.Append(k, v, TK);
        fixed (float* qp = q, yp = y)
            AttentionDriver.Gqa(new PlainQueries(qp, H, TQ, D, scaleQ ? scale : 1f, yp), H, HKV, TQ, D, cache, causal, scaleQ ? 1f : scale, Threads);
    }

    private unsafe void Attend(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, KvPanels cache, Span<float> y)
    {
        if (T == 0) return;
        fixed (float* qp = qkv, cp = cos, sp = sin, yp = y)
            AttentionDriver.Gqa(new InternLm2Queries(qp, cp, sp, H, HKV, D, yp), H, HKV, T, D, cache, causal: true, (float)(1.0 / Math.Sqrt(D)), Threads);
    }

    /// <summary>Split of the new keys (rotated) and values out of qkv: k_new/v_new [HKV, T, D].</summary>
    private static unsafe void NewKeysValues(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> kNew, Span<float> vNew)
    {
        int G = H / HKV, W = (H + 2 * HKV) * D;
        fixed (float* qp = qkv, cp = cos, sp = sin, kp = kNew)
            for (int t = 0; t < T; t++)
                for (int g = 0; g < HKV; g++)
                {
                    float* row = qp + (nint)t * W + (nint)g * (G + 2) * D;
                    RopeKernel.Row(row + (nint)G * D, cp + (nint)t * D, sp + (nint)t * D, D, kp + ((nint)g * T + t) * D);
                    qkv.Slice(t * W + (g * (G + 2) + G + 1) * D, D).CopyTo(vNew.Slice((g * T + t) * D, D));
                }
    }

    private static void CheckAttention(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y)
    {
        Check(T >= 0 && HKV > 0 && H > 0 && H % HKV == 0, "attention", $"heads {H} is not a positive multiple of kv_heads {HKV}");
        Check(D > 0 && D % 2 == 0, "attention", $"head dim {D} must be even and positive");
        Check(qkv.Length == (long)T * (H + 2 * HKV) * D, "attention", $"'qkv' has {qkv.Length} elements, expected {(long)T * (H + 2 * HKV) * D}");
        Check(cos.Length == (long)T * D && sin.Length == (long)T * D, "attention", $"'cos'/'sin' have {cos.Length}/{sin.Length} elements, expected {(long)T * D}");
        Check(y.Length == (long)T * H * D, "attention", $"'y' has {y.Length} elements, expected {(long)T * H * D}");
    }
}
