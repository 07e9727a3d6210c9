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
