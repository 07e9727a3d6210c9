using IXC25.Backends.Cpu.Reference;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Vision-tower ops. Lowering today: scalar reference.
public sealed partial class CpuOps
{
    /// <summary>pixels [N, 3, S, S], patch_weight [CV, 3, PZ, PZ], class [CV], position [G*G + 1, CV] as stored, y [N, G*G + 1, CV].</summary>
    public void ClipEmbed(ReadOnlySpan<float> pixels, int N, int S, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, Span<float> y)
    {
        int CV = checked((int)patchWeight.Shape[0]), PZ = checked((int)patchWeight.Shape[2]);
        RefOps.ClipEmbed(pixels, N, S, Widen(patchWeight), CV, PZ, Widen(classEmbedding), Widen(positionEmbedding), y);
    }

    /// <summary>features [N, G*G, CV], sub_gn/glb_gn [4 CV], y [TI, 4 CV].</summary>
    public void MergeGn(ReadOnlySpan<float> features, int N, int G, int CV, ReadOnlySpan<float> subGn, ReadOnlySpan<float> glbGn, int rows, int cols, Span<float> y) =>
        RefOps.MergeGn(features, N, G, CV, subGn, glbGn, rows, cols, y);

    /// <summary>x [N, T, C], y [N, T - 1, C].</summary>
    public void DropFirst(ReadOnlySpan<float> x, int N, int T, int C, Span<float> y) => RefOps.DropFirst(x, N, T, C, y);
}
