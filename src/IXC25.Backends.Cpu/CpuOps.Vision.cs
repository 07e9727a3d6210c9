using IXC25.Backends.Cpu.Gemm;
using IXC25.Backends.Reference;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Vision-tower ops. ClipEmbed: im2col + the GEMM driver; the rest is data movement (scalar reference).
public sealed partial class CpuOps
{
    /// <summary>pixels [N, 3, S, S], patch_weight [CV, 3, PZ, PZ], class [CV], position [G*G + 1, CV] as stored, y [N, G*G + 1, CV].</summary>
    /// <remarks>
    /// The patch convolution is a GEMM of the im2col rows [G*G, 3 PZ PZ] with the weight viewed as [CV, 3 PZ PZ]
    /// (read as stored), rounded to float32, then the float32 add of the position embedding (torch's rounding points).
    /// </remarks>
    public unsafe void ClipEmbed(ReadOnlySpan<float> pixels, int N, int S, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, Span<float> y)
    {
        Check(patchWeight.Shape.Length == 4 && patchWeight.Shape[1] == 3 && patchWeight.Shape[2] == patchWeight.Shape[3], "clip_embed",
            $"'patch_weight' has shape {Shape.Format(patchWeight.Shape)}, expected [CV, 3, PZ, PZ]");
        Check(patchWeight.DType is DType.F32 or DType.BF16 or DType.F16, "clip_embed", $"'patch_weight' has dtype {patchWeight.DType.SpecName()}, expected f32, bf16 or f16");
        int CV = checked((int)patchWeight.Shape[0]), PZ = checked((int)patchWeight.Shape[2]);
        Check(PZ > 0 && S > 0 && S % PZ == 0, "clip_embed", $"image side {S} is not a multiple of the patch {PZ}");
        int G = S / PZ, P = G * G + 1, K = 3 * PZ * PZ;
        Check(pixels.Length == (long)N * 3 * S * S, "clip_embed", $"'pixels' has {pixels.Length} elements, expected {(long)N * 3 * S * S}");
        Check(classEmbedding.Numel == CV, "clip_embed", $"'class_embedding' has {classEmbedding.Numel} elements, expected {CV}");
        Check(positionEmbedding.Numel == (long)P * CV, "clip_embed", $"'position_embedding' has {positionEmbedding.Numel} elements, expected {(long)P * CV}");
        Check(y.Length == (long)N * P * CV, "clip_embed", $"'y' has {y.Length} elements, expected {(long)N * P * CV}");
        if (N == 0) return;
        var cls = classEmbedding.ToFloat32();
        var pos = positionEmbedding.ToFloat32();
        using var cols = Scratch.Rent((long)G * G * K);
        fixed (float* px = pixels, yp = y)
        fixed (byte* wp = patchWeight.Data.Bytes)
        {
            var w = new WeightView(wp, patchWeight.DType, CV, K, K);
            for (int n = 0; n < N; n++)
            {
                float* img = px + (nint)n * 3 * S * S, col = cols.Pointer;
                for (int gy = 0; gy < G; gy++)
                    for (int gx = 0; gx < G; gx++)
                    {
                        float* row = col + (nint)(gy * G + gx) * K;
                        for (int ch = 0; ch < 3; ch++)
                            for (int ky = 0; ky < PZ; ky++)
                                new ReadOnlySpan<float>(img + (nint)ch * S * S + (nint)(gy * PZ + ky) * S + gx * PZ, PZ)
                                    .CopyTo(new Span<float>(row + (ch * PZ + ky) * PZ, PZ));
                    }
                float* o = yp + (nint)n * P * CV;
                GemmDriver.Linear(col, K, G * G, w, null, o + CV, CV, Threads);
                for (int c = 0; c < CV; c++) o[c] = cls[c] + pos[c];
                for (long i = CV; i < (long)P * CV; i++) o[i] = o[i] + pos[i];
            }
        }
    }

    /// <summary>features [N, G*G, CV], sub_gn/glb_gn [4 CV], y [TI, 4 CV].</summary>
    public void MergeGn(ReadOnlySpan<float> features, int N, int G, int CV, ReadOnlySpan<float> subGn, ReadOnlySpan<float> glbGn, int rows, int cols, Span<float> y) =>
        RefOps.MergeGn(features, N, G, CV, subGn, glbGn, rows, cols, y);

    /// <summary>x [N, T, C], y [N, T - 1, C].</summary>
    public void DropFirst(ReadOnlySpan<float> x, int N, int T, int C, Span<float> y) => RefOps.DropFirst(x, N, T, C, y);
}
