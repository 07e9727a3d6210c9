using SkiaSharp;

namespace IXC25.Conformance.Surfaces;

/// <summary>
/// The synthetic images of model cases: a deterministic RGB picture (two gradients, a checker of a size the
/// seed picks, and per-pixel noise) written as a lossless PNG, so that every crop and the global view hold
/// edges and every frequency, and the same (size, seed) always gives the same file.
/// </summary>
public static class CaseImage
{
    public static void WritePng(string path, int width, int height, int seed)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[(long)width * height * 4];
        int cell = 2 + (int)(Mix((uint)seed, 0) % 40);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                long o = ((long)y * width + x) * 4;
                uint noise = Mix((uint)seed, (uint)(y * width + x) + 1);
                bool check = (x / cell + y / cell) % 2 == 0;
                pixels[o] = (byte)(x * 255 / Math.Max(1, width - 1) ^ (check ? 0x40 : 0));
                pixels[o + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                pixels[o + 2] = (byte)((check ? 200 : 40) + (noise & 31));
                pixels[o + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// <summary>A 32-bit hash of (seed, index) (splitmix-style).</summary>
    private static uint Mix(uint seed, uint index)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL + index * 0xBF58476D1CE4E5B9UL + 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (uint)(z ^ (z >> 31));
    }
}
