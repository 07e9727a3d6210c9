using System.Runtime.CompilerServices;
using IXC25.Vision.Imaging;

namespace IXC25.Vision.Transforms;

/// <summary>
/// torchvision 0.14's <c>ToTensor()</c> then <c>Normalize(CLIP mean, CLIP std)</c> on an RGB image:
/// [H, W, 3] uint8 to [3, H, W] float32 with, per channel c,
/// <c>x = (float)u8 / 255f; y = (x - mean[c]) / std[c]</c>, every operation in float32 (torch's
/// <c>img.float().div(255)</c> is a true division, then <c>sub_(mean).div_(std)</c> with mean and std
/// rounded to float32). Because the input has only 256 values per channel, the result is a table
/// lookup of exactly those values.
/// </summary>
public static class ClipNormalize
{
    /// <summary>The CLIP statistics as upstream writes them (double literals, rounded to float32 like torch.as_tensor does).</summary>
    public static readonly float[] Mean = [(float)0.48145466, (float)0.4578275, (float)0.40821073];
    public static readonly float[] Std = [(float)0.26862954, (float)0.26130258, (float)0.27577711];

    /// <summary>[3, 256]: the normalised value of every byte per channel.</summary>
    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var t = new float[3 * 256];
        for (int c = 0; c < 3; c++)
            for (int b = 0; b < 256; b++)
                t[c * 256 + b] = Value(c, (byte)b);
        return t;
    }

    /// <summary>The reference formula for one value.</summary>
    public static float Value(int channel, byte b)
    {
        float x = b / 255f;
        x -= Mean[channel];
        return x / Std[channel];
    }

    /// <summary>[H, W, 3] uint8 to [3, H, W] float32 (into <paramref name="into"/> when given, whose length must be 3 H W); rows split across threads.</summary>
    public static float[] ToTensor(RgbImage img, int maxThreads = -1, float[]? into = null)
    {
        int w = img.Width, h = img.Height;
        long plane = (long)w * h;
        if (into is not null && into.LongLength != 3 * plane) throw new ArgumentException($"{into.Length} values for [3, {h}, {w}]", nameof(into));
        var dst = into ?? GC.AllocateUninitializedArray<float>(checked((int)(3 * plane)));
        var src = img.Pixels;
        int chunk = Math.Max(1, 16384 / w);
        Parallel.For(0, (h + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, ci =>
        {
            int y0 = ci * chunk, y1 = Math.Min(h, y0 + chunk);
            Rows(src, dst, w, plane, y0, y1);
        });
        return dst;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Rows(byte[] src, float[] dst, int w, long plane, int y0, int y1)
    {
        fixed (float* t = Table)
        fixed (byte* s0 = src)
        fixed (float* d0 = dst)
        {
            for (int y = y0; y < y1; y++)
            {
                byte* s = s0 + (long)y * w * 3;
                float* r = d0 + (long)y * w, g = r + plane, b = g + plane;
                for (int x = 0; x < w; x++, s += 3)
                {
                    r[x] = t[s[0]];
                    g[x] = t[256 + s[1]];
                    b[x] = t[512 + s[2]];
                }
            }
        }
    }

    /// <summary>The normalised value of a white (255, 255, 255) pixel per channel: what padding becomes.</summary>
    public static float White(int channel) => Table[channel * 256 + 255];
}
