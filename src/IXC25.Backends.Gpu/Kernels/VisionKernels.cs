using ILGPU;

namespace IXC25.Backends.Gpu.Kernels;

/// <summary>The vision tower's layout ops on the device: patch embedding, dropping the class token, the 2x2 merge with separators.</summary>
public static class VisionKernels
{
    /// <summary>
    /// CLIPVisionEmbeddings, a thread per output of y [N, P, CV] (P = G*G + 1): token 0 = class + pos[0]; token
    /// 1 + gy*G + gx = the 3 x PZ x PZ patch convolution (float32 sum over channel, row, column in order) + pos.
    /// </summary>
    public static void ClipEmbed(Index1D i, ArrayView<float> pixels,
        ArrayView<float> pw32, ArrayView<ushort> pw16, int pwKind,
        ArrayView<float> cw32, ArrayView<ushort> cw16, int cwKind,
        ArrayView<float> pos32, ArrayView<ushort> pos16, int posKind,
        ArrayView<float> y, int S, int PZ, int CV)
    {
        int G = S / PZ, P = G * G + 1;
        long idx = i;
        int c = (int)(idx % CV);
        int p = (int)((idx / CV) % P);
        long n = idx / ((long)CV * P);
        float pos = DeviceNumbers.Weight(pos32, pos16, posKind, (long)p * CV + c);
        if (p == 0)
        {
            y[idx] = DeviceNumbers.Weight(cw32, cw16, cwKind, c) + pos;
            return;
        }
        int gy = (p - 1) / G, gx = (p - 1) % G;
        float s = 0f;
        for (int ch = 0; ch < 3; ch++)
            for (int ky = 0; ky < PZ; ky++)
            {
                long src = ((n * 3 + ch) * S + gy * PZ + ky) * S + gx * PZ;
                long w = ((long)(c * 3 + ch) * PZ + ky) * PZ;
                for (int kx = 0; kx < PZ; kx++) s += pixels[src + kx] * DeviceNumbers.Weight(pw32, pw16, pwKind, w + kx);
            }
        y[idx] = s + pos;
    }

    /// <summary>y [N, T - 1, C] = x [N, T, C] without token 0 of each sequence.</summary>
    public static void DropFirst(Index1D i, ArrayView<float> x, ArrayView<float> y, int T, int C)
    {
        long idx = i;
        long per = (long)(T - 1) * C;
        long n = idx / per, r = idx % per;
        y[idx] = x[n * T * C + C + r];
    }

    /// <summary>
    /// The merged image tokens, a thread per element of y [TI, 4 CV]: token r's plan (6 ints: kind 0 = cell, 1 = sub_gn,
    /// 2 = glb_gn; the view; the cell's four patches) picks the source: feature rows of features [N, G*G, CV] or a
    /// separator (widened).
    /// </summary>
    public static void MergeGn(Index1D i, ArrayView<float> features, ArrayView<int> plan,
        ArrayView<float> sub32, ArrayView<ushort> sub16, int subKind,
        ArrayView<float> glb32, ArrayView<ushort> glb16, int glbKind,
        ArrayView<float> y, int P, int CV)
    {
        long idx = i;
        int C4 = 4 * CV;
        long r = idx / C4;
        int c4 = (int)(idx % C4);
        int kind = plan[r * 6];
        if (kind == 1) { y[idx] = DeviceNumbers.Weight(sub32, sub16, subKind, c4); return; }
        if (kind == 2) { y[idx] = DeviceNumbers.Weight(glb32, glb16, glbKind, c4); return; }
        int view = plan[r * 6 + 1];
        int k = c4 / CV, c = c4 % CV;
        int patch = plan[r * 6 + 2 + k];
        y[idx] = features[((long)view * P + patch) * CV + c];
    }
}
