using IXC25.Vision.Imaging;

namespace IXC25.Vision.Tests;

internal static class TestImages
{
    /// <summary>A deterministic image: smooth gradients plus hashed noise (so every kernel path sees varied values).</summary>
    public static RgbImage Random(int width, int height, int seed)
    {
        var px = new byte[width * height * 3];
        uint s = (uint)seed * 2654435761u + 12345u;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                s ^= s << 13; s ^= s >> 17; s ^= s << 5;
                px[i] = (byte)(x * 255 / Math.Max(1, width - 1));
                px[i + 1] = (byte)s;
                px[i + 2] = (byte)((y * 7 + (s >> 24)) & 255);
            }
        return new RgbImage(width, height, px);
    }

    public static RgbImage Constant(int width, int height, byte r, byte g, byte b) => RgbImage.Filled(width, height, r, g, b);
}
