using IXC25.Runtime.Spec;

namespace IXC25.Backends.Reference;

public static partial class RefOps
{
    /// <summary>
    /// CLIPVisionEmbeddings. pixels [N, 3, S, S], patch_weight [CV, 3, PZ, PZ], class_embedding [CV],
    /// position_embedding [G*G + 1, CV] with G = S / PZ, y [N, G*G + 1, CV]:
    /// y[n, 0] = class + pos[0]; y[n, 1 + gy*G + gx] = conv(pixels[n]) at patch (gy, gx) + pos[1 + gy*G + gx].
    /// The convolution is a double-precision dot product rounded to float32, then the float32 add (torch's rounding points).
    /// </summary>
    public static void ClipEmbed(ReadOnlySpan<float> pixels, int N, int S, ReadOnlySpan<float> patchWeight, int CV, int PZ,
        ReadOnlySpan<float> classEmbedding, ReadOnlySpan<float> positionEmbedding, Span<float> y)
    {
        Require(PZ > 0 && S % PZ == 0, "clip_embed", $"image side {S} is not a multiple of the patch {PZ}");
        int G = S / PZ, P = G * G + 1;
        Length(pixels.Length, (long)N * 3 * S * S, "clip_embed", "pixels");
        Length(patchWeight.Length, (long)CV * 3 * PZ * PZ, "clip_embed", "patch_weight");
        Length(classEmbedding.Length, CV, "clip_embed", "class_embedding");
        Length(positionEmbedding.Length, (long)P * CV, "clip_embed", "position_embedding");
        Length(y.Length, (long)N * P * CV, "clip_embed", "y");
        for (int n = 0; n < N; n++)
        {
            var img = pixels.Slice(n * 3 * S * S, 3 * S * S);
            var o = y.Slice(n * P * CV, P * CV);
            for (int c = 0; c < CV; c++) o[c] = classEmbedding[c] + positionEmbedding[c];
            for (int gy = 0; gy < G; gy++)
                for (int gx = 0; gx < G; gx++)
                {
                    int p = 1 + gy * G + gx;
                    for (int c = 0; c < CV; c++)
                    {
                        double s = 0;
                        for (int ch = 0; ch < 3; ch++)
                            for (int ky = 0; ky < PZ; ky++)
                            {
                                var src = img.Slice(ch * S * S + (gy * PZ + ky) * S + gx * PZ, PZ);
                                var w = patchWeight.Slice(((c * 3 + ch) * PZ + ky) * PZ, PZ);
                                for (int kx = 0; kx < PZ; kx++) s += (double)src[kx] * w[kx];
                            }
                        o[p * CV + c] = (float)s + positionEmbedding[p * CV + c];
                    }
                }
        }
    }

    /// <summary>Drops the first token of every sequence. x [N, T, C], y [N, T - 1, C].</summary>
    public static void DropFirst(ReadOnlySpan<float> x, int N, int T, int C, Span<float> y)
    {
        Require(T >= 1, "drop_first", "sequences are empty");
        Length(x.Length, (long)N * T * C, "drop_first", "x");
        Length(y.Length, (long)N * (T - 1) * C, "drop_first", "y");
        for (int n = 0; n < N; n++) x.Slice((n * T + 1) * C, (T - 1) * C).CopyTo(y.Slice(n * (T - 1) * C));
    }

    /// <summary>
    /// CLIPVisionTower.forward's layout (build_mlp.py). features [N, G*G, CV] with N = 1 + rows*cols
    /// (global view first, then crops row-major; CLS already dropped), sub_gn [4 CV], glb_gn [4 CV],
    /// y [TI, 4 CV] with TI = <see cref="ImageTokenLayout.Count"/>(G, rows, cols). The tokens follow
    /// <see cref="ImageTokenLayout.Enumerate"/>: the global view's G/2 rows of cells, each followed by sub_gn; glb_gn;
    /// then the crops tiled into (rows G/2) x (cols G/2) cells, each row followed by sub_gn. A cell concatenates its
    /// 2x2 patches (2i, 2j), (2i, 2j+1), (2i+1, 2j), (2i+1, 2j+1).
    /// </summary>
    public static void MergeGn(ReadOnlySpan<float> features, int N, int G, int CV, ReadOnlySpan<float> subGn, ReadOnlySpan<float> glbGn,
        int rows, int cols, Span<float> y)
    {
        Require(G % 2 == 0, "merge_gn", $"patch grid {G} must be even");
        Require(rows >= 1 && cols >= 1 && N == 1 + rows * cols, "merge_gn", $"{N} images is not 1 + rows*cols for a {rows}x{cols} grid");
        int P = G * G, C4 = 4 * CV;
        Length(features.Length, (long)N * P * CV, "merge_gn", "features");
        Length(subGn.Length, C4, "merge_gn", "sub_gn");
        Length(glbGn.Length, C4, "merge_gn", "glb_gn");
        Length(y.Length, (long)ImageTokenLayout.Count(G, rows, cols) * C4, "merge_gn", "y");
        int pos = 0;
        foreach (var token in ImageTokenLayout.Enumerate(G, rows, cols))
        {
            var dst = y.Slice(pos++ * C4, C4);
            switch (token.Kind)
            {
                case ImageTokenKind.SubSeparator: subGn.CopyTo(dst); break;
                case ImageTokenKind.GlobalSeparator: glbGn.CopyTo(dst); break;
                default:
                    var f = features.Slice(token.View * P * CV, P * CV);
                    for (int k = 0; k < 4; k++) f.Slice(token.Patch(G, k) * CV, CV).CopyTo(dst.Slice(k * CV, CV));
                    break;
            }
        }
    }
}
