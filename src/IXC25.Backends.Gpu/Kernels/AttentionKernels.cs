using ILGPU;
using ILGPU.Runtime;

namespace IXC25.Backends.Gpu.Kernels;

/// <summary>
/// Where the queries, keys, values and outputs of one attention call lie (element strides), for the decoder's
/// cached causal GQA attention and the vision tower's unmasked multi-head attention alike. Query (a, h, t) is at
/// a*QA + h*QH + t*QT; key or value j of KV head g at a*KA + g*KH + j*KT; output at a*YA + h*YH + t*YT.
/// </summary>
public struct AttentionLayout
{
    public int A, H, G, T, TK, D, Past, Causal, ScaleQ;
    public long QA, QH, QT, KA, KH, KT, YA, YH, YT;
    public float Scale;
}

/// <summary>
/// Attention on the device with an online softmax (one pass over the keys, running maximum and sum, as flash
/// attention computes it): a group of threads takes consecutive queries of one head (a thread per query) and walks
/// the keys in tiles of <see cref="KeyTile"/> staged in shared memory. Query t sees keys [0, Past + t] when causal, all TK keys otherwise;
/// scores are (q . k) * Scale, or (q * Scale) . k when ScaleQ (CLIP). The result differs from the two-pass softmax
/// of the CPU by rounding only (the "attention" tolerance class); it is fixed for a device and group size.
/// </summary>
public static class AttentionKernels
{
    /// <summary>Largest head dimension the kernels hold per thread (InternLM2 128, CLIP ViT-L 64).</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Keys staged per tile (one barrier pair per tile, whatever the group size).</summary>
    public const int KeyTile = 32;

    /// <summary>Groups over (a, h, query block) with g threads; shared memory for a key and a value tile of <see cref="KeyTile"/> rows.</summary>
    public static KernelConfig Config(in AttentionLayout l, int g) =>
        new(new Index1D(l.A * l.H * ((l.T + g - 1) / g)), new Index1D(g), SharedMemoryConfig.RequestDynamic<float>(2 * KeyTile * l.D));

    public static void Attend(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> y, AttentionLayout l)
    {
        int g = Group.DimX;
        int tid = Group.IdxX;
        int qBlocks = (l.T + g - 1) / g;
        int blk = Grid.IdxX;
        int qb = blk % qBlocks;
        int h = (blk / qBlocks) % l.H;
        int a = blk / (qBlocks * l.H);
        int kvHead = h / l.G;
        int t = qb * g + tid;
        bool active = t < l.T;
        var shared = SharedMemory.GetDynamic<float>();
        int vBase = KeyTile * l.D;
        var acc = LocalMemory.Allocate<float>(MaxHeadDim);
        var qr = LocalMemory.Allocate<float>(MaxHeadDim);
        long qo = a * l.QA + h * l.QH + (long)(active ? t : 0) * l.QT;
        for (int d = 0; d < l.D; d++)
        {
            acc[d] = 0f;
            float qv = active ? q[qo + d] : 0f;
            qr[d] = l.ScaleQ != 0 ? qv * l.Scale : qv;
        }
        float m = float.NegativeInfinity, sum = 0f;
        int visible = l.Causal != 0 ? l.Past + t + 1 : l.TK;
        // keys needed by the last query of the block
        int tLast = qb * g + g - 1 < l.T ? qb * g + g - 1 : l.T - 1;
        int keys = l.Causal != 0 ? l.Past + tLast + 1 : l.TK;
        long kBase = a * l.KA + kvHead * l.KH;
        for (int j0 = 0; j0 < keys; j0 += KeyTile)
        {
            int n = keys - j0 < KeyTile ? keys - j0 : KeyTile;
            for (int e = tid; e < n * l.D; e += g)
            {
                int jj = e / l.D, d = e % l.D;
                shared[e] = k[kBase + (j0 + jj) * l.KT + d];
                shared[vBase + e] = v[kBase + (j0 + jj) * l.KT + d];
            }
            Group.Barrier();
            if (active)
                for (int jj = 0; jj < n; jj++)
                {
                    if (j0 + jj >= visible) break;
                    float s = 0f;
                    for (int d = 0; d < l.D; d++) s += qr[d] * shared[jj * l.D + d];
                    if (l.ScaleQ == 0) s *= l.Scale;
                    if (s > m)
                    {
                        float c = GpuMath.Exp(m - s);
                        sum *= c;
                        for (int d = 0; d < l.D; d++) acc[d] *= c;
                        m = s;
                    }
                    float p = GpuMath.Exp(s - m);
                    sum += p;
                    for (int d = 0; d < l.D; d++) acc[d] += p * shared[vBase + jj * l.D + d];
                }
            Group.Barrier();
        }
        if (!active) return;
        long yo = a * l.YA + h * l.YH + (long)t * l.YT;
        for (int d = 0; d < l.D; d++) y[yo + d] = acc[d] / sum;
    }

    /// <summary>
    /// The decoder's qkv split, RoPE and cache write in one pass, a thread per element of qkv [T, HKV, G + 2, D]
    /// (upstream's interleaved wqkv layout): query slices are rotated into q [H, T, D]; the key slice is rotated and the
    /// value slice copied into the cache rows Past + t ([HKV, cap, D]), both rounded to the cache's storage
    /// (<paramref name="storage"/>: 0 f32, 1 bf16, 2 f16). Rotation: x * cos + rotate_half(x) * sin in float32.
    /// </summary>
    public static void SplitRopeAppend(Index1D i, ArrayView<float> qkv, ArrayView<float> cos, ArrayView<float> sin,
        ArrayView<float> q, ArrayView<float> kc, ArrayView<float> vc, int T, int HKV, int G, int D, int cap, int past, int storage)
    {
        int W = HKV * (G + 2) * D;
        int t = (int)(i / W);
        int col = (int)(i % W);
        int grp = col / ((G + 2) * D);
        int slot = (col / D) % (G + 2);
        int d = col % D;
        int half = D / 2;
        float xv = qkv[i];
        if (slot == G + 1)
        {
            vc[((long)grp * cap + past + t) * D + d] = DeviceNumbers.Stored(xv, storage);
            return;
        }
        long rowStart = (long)t * W + grp * (G + 2) * D + slot * D;
        float rot = d < half ? -qkv[rowStart + d + half] : qkv[rowStart + d - half];
        float r = xv * cos[t * D + d] + rot * sin[t * D + d];
        if (slot == G) kc[((long)grp * cap + past + t) * D + d] = DeviceNumbers.Stored(r, storage);
        else q[((long)(grp * G + slot) * T + t) * D + d] = r;
    }
}
