namespace IXC25.Conformance.Surfaces.Images;

/// <summary>Patterns of the synthetic case images, simplest first (shrinking moves toward Flat).</summary>
public enum ImagePattern
{
    /// <summary>One colour (hides every resampling bug: shrinking only reaches it when the bug does not need edges).</summary>
    Flat,
    /// <summary>Left-to-right blend of two colours.</summary>
    HorizontalGradient,
    /// <summary>Top-to-bottom blend of two colours.</summary>
    VerticalGradient,
    /// <summary>Squares of two colours (hard edges in both directions).</summary>
    Checker,
    /// <summary>Vertical bars of two colours.</summary>
    Stripes,
    /// <summary>Diagonal bands (edges at an angle to both axes).</summary>
    Diagonal,
    /// <summary>Concentric rings around a point (curved edges, every edge direction).</summary>
    Rings,
    /// <summary>Independent pseudo-random samples (every frequency).</summary>
    Noise,
}

/// <summary>
/// A deterministic synthetic image: the same (size, format, pattern, seed) always gives the same samples.
/// Samples are 16-bit; 8-bit formats keep the high byte, 16-bit formats keep a pseudo-random low byte too (so
/// a decoder that rounds 16 bits to 8 instead of taking the high byte, as PIL does, is caught). The alpha
/// channel varies independently and holds 0 (fully transparent pixels keep their colour: PIL's
/// convert('RGB') drops alpha without compositing).
/// </summary>
public sealed class SyntheticImage(int width, int height, PngPixelFormat format, ImagePattern pattern, int seed)
{
    private readonly ushort[] _a = Colour(seed, 0);
    private readonly ushort[] _b = Contrast(Colour(seed, 1), Colour(seed, 0));
    private readonly int _cell = 1 + (int)(Mix((uint)seed, 2) % 24);
    private readonly int _slope = 1 + (int)(Mix((uint)seed, 3) % 4);

    public int Width => width;
    public int Height => height;

    /// <summary>Writes the image as a PNG of its format.</summary>
    public void WritePng(string path) => PngWriter.Write(path, width, height, format, FillRow);

    /// <summary>Row <paramref name="y"/>'s samples in the PNG layout of the format.</summary>
    public void FillRow(int y, Span<byte> row)
    {
        int channels = PngWriter.Channels(format);
        bool wide = PngWriter.BitDepth(format) == 16;
        bool alpha = format is PngPixelFormat.GrayAlpha8 or PngPixelFormat.Rgba8;
        int colours = alpha ? channels - 1 : channels;
        int bytes = wide ? 2 : 1;
        int o = 0;
        for (int x = 0; x < width; x++)
        {
            for (int c = 0; c < colours; c++)
            {
                ushort v = Sample(x, y, c);
                row[o++] = (byte)(v >> 8);
                if (bytes == 2) row[o++] = (byte)v;
            }
            if (alpha) row[o++] = Alpha(x, y);
        }
    }

    /// <summary>The 16-bit sample of colour channel <paramref name="c"/> (0..2) at (x, y).</summary>
    public ushort Sample(int x, int y, int c)
    {
        int hi = pattern switch
        {
            ImagePattern.Flat => _a[c],
            ImagePattern.HorizontalGradient => Blend(_a[c], _b[c], x, width),
            ImagePattern.VerticalGradient => Blend(_a[c], _b[c], y, height),
            ImagePattern.Checker => ((x / _cell + y / _cell) & 1) == 0 ? _a[c] : _b[c],
            ImagePattern.Stripes => ((x / _cell) & 1) == 0 ? _a[c] : _b[c],
            ImagePattern.Diagonal => (((x + _slope * y) / _cell) & 1) == 0 ? _a[c] : _b[c],
            ImagePattern.Rings => Rings(x, y) ? _a[c] : _b[c],
            _ => (int)(Mix(Mix((uint)seed, (uint)x * 3 + (uint)c), (uint)y) & 0xFFFF),
        };
        // the low byte (seen only in 16-bit formats): pseudo-random, so rounding and truncation differ
        uint low = Mix(Mix((uint)seed ^ 0x5bd1e995u, (uint)x), (uint)(y * 3 + c)) & 0xFF;
        return (ushort)((hi & 0xFF00) | (int)low);
    }

    private bool Rings(int x, int y)
    {
        long dx = 2L * x - width / 2, dy = 2L * y - height / 3;
        long r2 = dx * dx + dy * dy;
        return ((long)Math.Sqrt(r2) / (2 * _cell) & 1) == 0;
    }

    private byte Alpha(int x, int y) => (Mix((uint)seed ^ 0xA1FAu, (uint)(x / 3 + 7919 * (y / 2))) % 4) switch
    {
        0 => 0,
        1 => 255,
        2 => 128,
        _ => (byte)(x * 5 + y * 11),
    };

    private static int Blend(int a, int b, int i, int n) => n <= 1 ? a : a + (int)((long)(b - a) * i / (n - 1));

    private static ushort[] Colour(int seed, uint k) =>
        [(ushort)(Mix((uint)seed, k * 3 + 10) & 0xFFFF), (ushort)(Mix((uint)seed, k * 3 + 11) & 0xFFFF), (ushort)(Mix((uint)seed, k * 3 + 12) & 0xFFFF)];

    /// <summary>Makes b differ from a by at least 64 in the high byte of every channel (a two-colour pattern is never flat).</summary>
    private static ushort[] Contrast(ushort[] b, ushort[] a)
    {
        for (int c = 0; c < 3; c++)
            if (Math.Abs((b[c] >> 8) - (a[c] >> 8)) < 64) b[c] = (ushort)((a[c] + 0x8000) & 0xFFFF);
        return b;
    }

    /// <summary>A small integer hash (murmur3 finaliser of a combined value).</summary>
    public static uint Mix(uint a, uint b)
    {
        uint h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u + (a << 6) + (a >> 2));
        h ^= h >> 16; h *= 0x85EBCA6Bu; h ^= h >> 13; h *= 0xC2B2AE35u; h ^= h >> 16;
        return h;
    }
}
