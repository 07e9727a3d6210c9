using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;

namespace IXC25.Fuzz.Targets;

/// <summary>image: the bytes as an image file (PNG, JPEG, WebP, BMP, GIF), decoded by ImageDecoder with a
/// pixel limit, planned by HdPartition at several hd_num and run through the HD transform at hd_num 1 (one thread).</summary>
public sealed class ImageTarget : IFuzzTarget
{
    /// <summary>The decode limit: a small one keeps each input fast; the limit check itself is under test.</summary>
    public const long MaxPixels = 4_000_000;

    public string Name => "image";
    public string Description => "an image file: ImageDecoder.Decode (limit 4 Mpx), HdPartition.Plan, ImageTransform.HdTransform (hd_num 1)";

    /// <summary>4 MiB + 16 per input byte + 8 bytes per pixel of <see cref="MaxPixels"/> (32 MB): the output is bounded
    /// by the decode limit, not by the input (a 13 KB PNG is 4 Mpx): the RGBA decode buffer (4 B/px, pooled), the RGB
    /// image (3 B/px) and the HD transform's crops (a 4000x1000 PNG: 29 MB on a cold pool); Skia's own native memory
    /// during the decode (the encoded copy, row buffers) is freed inside Decode and not sampled.</summary>
    public AllocationBudget Budget { get; } = new(Floor: 4 << 20, PerInputByte: 16, LimitBytes: 8 * MaxPixels, LimitReason: "8 B per pixel of the 4 Mpx decode limit");

    public void Execute(ReadOnlySpan<byte> data)
    {
        var image = ImageDecoder.Decode(data, "fuzz-image", new DecodeOptions(MaxPixels));
        foreach (int hd in (int[])[1, 4, 9, 25, 55])
            _ = HdPartition.Plan(image.Width, image.Height, hd);
        _ = HdPartition.PlanVideo(image.Width, image.Height);
        using var result = ImageTransform.HdTransform(image, 1, new TransformOptions(1));
        _ = result.PixelValues.Length + result.GlobalView.Length;
    }
}
