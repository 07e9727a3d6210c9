using ILGPU;
using ILGPU.Runtime;
using IXC25.Backends.Gpu.Kernels;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>The vision tower's layout ops on the device (Kernels/VisionKernels).</summary>
public sealed partial class GpuOps
{
    void IGpuKernels.ClipEmbed(GpuAct pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, in ClipEmbedDims d, ClipEmbedAttrs attrs, GpuAct y)
    {
        if (d.PZ <= 0 || d.S % d.PZ != 0) throw new IxcException($"clip_embed: image side {d.S} is not a multiple of the patch {d.PZ}");
        int G = d.S / d.PZ;
        long n = (long)d.N * (G * G + 1) * d.CV;
        if (n == 0) return;
        var pw = Weights.Get(patchWeight);
        var cw = Weights.Get(classEmbedding);
        var pos = Weights.Get(positionEmbedding);
        Kernel("clip_embed", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>,
            ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int,
            ArrayView<float>, int, int, int>(VisionKernels.ClipEmbed))(
            new Index1D(checked((int)n)), pixels.F, pw.W32, pw.W16, pw.KindCode, cw.W32, cw.W16, cw.KindCode, pos.W32, pos.W16, pos.KindCode, y.F, d.S, d.PZ, d.CV);
    }

    void IGpuKernels.DropFirst(GpuAct x, in DropFirstDims d, DropFirstAttrs attrs, GpuAct y)
    {
        if (d.T < 1) throw new IxcException("drop_first: sequences are empty");
        long n = (long)d.N * (d.T - 1) * d.C;
        if (n == 0) return;
        Kernel("drop_first", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(VisionKernels.DropFirst))(
            new Index1D(checked((int)n)), x.F, y.F, d.T, d.C);
    }

    void IGpuKernels.MergeGn(GpuAct features, NamedTensor subGn, NamedTensor glbGn, in MergeGnDims d, MergeGnAttrs attrs, GpuAct y)
    {
        if (d.G % 2 != 0) throw new IxcException($"merge_gn: patch grid {d.G} must be even");
        if (d.RW < 1 || d.CL < 1 || d.N != 1 + d.RW * d.CL) throw new IxcException($"merge_gn: {d.N} images is not 1 + rows*cols for a {d.RW}x{d.CL} grid");
        // the token plan (ImageTokenLayout, as the reference walks it), six ints a token: kind, view, four patches
        var plan = new List<int>();
        foreach (var token in ImageTokenLayout.Enumerate(d.G, d.RW, d.CL))
            switch (token.Kind)
            {
                case ImageTokenKind.SubSeparator: plan.AddRange([1, 0, 0, 0, 0, 0]); break;
                case ImageTokenKind.GlobalSeparator: plan.AddRange([2, 0, 0, 0, 0, 0]); break;
                default: plan.AddRange([0, token.View, token.Patch(d.G, 0), token.Patch(d.G, 1), token.Patch(d.G, 2), token.Patch(d.G, 3)]); break;
            }
        int tokens = plan.Count / 6;
        long n = (long)tokens * 4 * d.CV;
        if (n == 0) return;
        using var planBuf = _accelerator.Allocate1D(plan.ToArray());
        var sub = Weights.Get(subGn);
        var glb = Weights.Get(glbGn);
        Kernel("merge_gn", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>,
            ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, int>(VisionKernels.MergeGn))(
            new Index1D(checked((int)n)), features.F, planBuf.View, sub.W32, sub.W16, sub.KindCode, glb.W32, glb.W16, glb.KindCode, y.F, d.G * d.G, d.CV);
        _accelerator.DefaultStream.Synchronize(); // the plan buffer is freed on return
    }
}
