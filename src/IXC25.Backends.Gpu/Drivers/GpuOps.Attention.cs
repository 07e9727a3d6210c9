using ILGPU;
using ILGPU.Runtime;
using IXC25.Backends.Gpu.Kernels;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>Attention on the device: the decoder's cached causal GQA attention and CLIP's multi-head attention (Kernels/AttentionKernels).</summary>
public sealed partial class GpuOps
{
    void IGpuKernels.AttentionCached(GpuAct qkv, GpuAct cos, GpuAct sin, KvLayer cache, in AttentionCachedDims d, AttentionCachedAttrs attrs, GpuAct y)
    {
        var layer = cache as GpuKvLayer ?? throw new IxcException($"attention_cached: the KV cache belongs to another backend ({cache.GetType().Name})");
        if (d.HKV <= 0 || d.H % d.HKV != 0) throw new IxcException($"attention_cached: heads {d.H} is not a multiple of kv_heads {d.HKV}");
        if (d.D <= 0 || d.D % 2 != 0 || d.D > AttentionKernels.MaxHeadDim) throw new IxcException($"attention_cached: head dim {d.D} must be even and at most {AttentionKernels.MaxHeadDim}");
        if (layer.HKV != d.HKV || layer.D != d.D) throw new IxcException($"attention_cached: the cache holds {layer.HKV} heads of {layer.D}, the call has {d.HKV} of {d.D}");
        if (d.T == 0) return;
        int past = layer.Length;
        layer.Reserve(d.T);
        int G = d.H / d.HKV;
        using var q = Alloc(DType.F32, d.H, d.T, d.D);
        Kernel("split_rope_append", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            int, int, int, int, int, int, int>(AttentionKernels.SplitRopeAppend))(
            new Index1D(checked(d.T * (d.H + 2 * d.HKV) * d.D)), qkv.F, cos.F, sin.F, q.F, layer.K, layer.V, d.T, d.HKV, G, d.D, layer.Capacity, past, layer.StorageCode);
        layer.Advance(d.T);
        var l = new AttentionLayout
        {
            A = 1, H = d.H, G = G, T = d.T, TK = past + d.T, D = d.D, Past = past, Causal = 1, ScaleQ = 0,
            QA = 0, QH = (long)d.T * d.D, QT = d.D,
            KA = 0, KH = (long)layer.Capacity * d.D, KT = d.D,
            YA = 0, YH = d.D, YT = (long)d.H * d.D,
            Scale = (float)(1.0 / Math.Sqrt(d.D)),
        };
        Attend(q.F, layer.K, layer.V, y.F, l);
        _accelerator.DefaultStream.Synchronize(); // before the temporary q is freed
    }

    void IGpuKernels.Mha(GpuAct q, GpuAct k, GpuAct v, in MhaDims d, MhaAttrs attrs, GpuAct y)
    {
        if (attrs.Heads <= 0 || d.C % attrs.Heads != 0) throw new IxcException($"mha: channels {d.C} are not a multiple of heads {attrs.Heads}");
        int hd = d.C / attrs.Heads;
        if (hd > AttentionKernels.MaxHeadDim) throw new IxcException($"mha: head dim {hd} is more than {AttentionKernels.MaxHeadDim}");
        if (d.N == 0 || d.T == 0) return;
        long perImage = (long)d.T * d.C;
        var l = new AttentionLayout
        {
            A = d.N, H = attrs.Heads, G = 1, T = d.T, TK = d.T, D = hd, Past = 0, Causal = 0, ScaleQ = 1,
            QA = perImage, QH = hd, QT = d.C,
            KA = perImage, KH = hd, KT = d.C,
            YA = perImage, YH = hd, YT = d.C,
            Scale = attrs.Scale,
        };
        // k and v share one layout: the kernel reads both at the key offsets
        Attend(q.F, k.F, v.F, y.F, l);
    }

    private void Attend(ArrayView<float> q, ArrayView<float> k, ArrayView<float> v, ArrayView<float> y, in AttentionLayout l) =>
        Kernel("attend", a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionLayout>(AttentionKernels.Attend))(
            AttentionKernels.Config(l, GroupSize), q, k, v, y, l);
}
