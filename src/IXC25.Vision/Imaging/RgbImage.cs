using IXC25.Runtime;

namespace IXC25.Vision.Imaging;

/// <summary>
/// An 8-bit RGB image, rows top to bottom, pixels left to right, channels R, G, B interleaved:
/// <c>Pixels[(y * Width + x) * 3 + c]</c>, i.e. a [H, W, 3] uint8 tensor. This is what PIL's
/// <c>Image.convert('RGB')</c> holds and what <c>np.asarray(img)</c> returns.
/// <remarks><see cref="Dispose"/> is optional: it hands the pixel buffer back for reuse by later decodes
/// and transforms (touching fresh memory is expensive); the image must not be used afterwards.</remarks>
/// </summary>
public sealed class RgbImage : IDisposable
{
    public const int Channels = 3;

    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0) throw new IxcException($"image size {width}x{height} is empty");
        if (pixels.LongLength != (long)width * height * Channels)
            throw new ArgumentException($"{pixels.LongLength} bytes for a {width}x{height} RGB image (expected {(long)width * height * Channels})", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>[H, W, 3] uint8, row-major.</summary>
    public byte[] Pixels { get; }

    public long PixelCount => (long)Width * Height;

    /// <summary>A new image of the given size, every pixel set to (r, g, b).</summary>
    public static RgbImage Filled(int width, int height, byte r, byte g, byte b)
    {
        if (width <= 0 || height <= 0) throw new IxcException($"image size {width}x{height} is empty");
        var px = GC.AllocateUninitializedArray<byte>(checked(width * height * Channels));
        if (r == g && g == b) px.AsSpan().Fill(r);
        else
            for (int i = 0; i < px.Length; i += 3) { px[i] = r; px[i + 1] = g; px[i + 2] = b; }
        return new RgbImage(width, height, px);
    }

    /// <summary>(r, g, b) of pixel (x, y).</summary>
    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            int i = (y * Width + x) * Channels;
            return (Pixels[i], Pixels[i + 1], Pixels[i + 2]);
        }
    }

    public override string ToString() => $"RgbImage {Width}x{Height}";

    public void Dispose() => BufferCache<byte>.Return(Pixels);
}
