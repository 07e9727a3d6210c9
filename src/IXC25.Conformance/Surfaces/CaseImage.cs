namespace IXC25.Conformance.Surfaces;

/// <summary>
/// The synthetic images of model cases: a deterministic RGB picture (two gradients, a checker of a size the
/// seed picks, and per-pixel noise) written as a lossless PNG (Images.PngWriter), so that every crop and the global view hold
/// edges and every frequency, and the same (size, seed) always gives the same file.
/// </summary>
public static class CaseImage
{
    public static void WritePng(string path, int width, int height, int seed)
    {
        int cell = 2 + (int)(Mix((uint)seed, 0) % 40);
        Images.PngWriter.Write(path, width, height, Images.PngPixelFormat.Rgb8, (y, row) =>
        {
            for (int x = 0; x < width; x++)
            {
                uint noise = Mix((uint)seed, (uint)(y * width + x) + 1);
                bool check = (x / cell + y / cell) % 2 == 0;
                row[3 * x] = (byte)(x * 255 / Math.Max(1, width - 1) ^ (check ? 0x40 : 0));
                row[3 * x + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                row[3 * x + 2] = (byte)((check ? 200 : 40) + (noise & 31));
            }
        });
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
