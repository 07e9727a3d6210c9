using System.Diagnostics;
using System.Runtime.CompilerServices;
using IXC25.Runtime;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Resampling;
using IXC25.Vision.Transforms;
using SkiaSharp;

namespace IXC25.Bench;

/// <summary>
/// `preprocess [--image PATH] [--hd-num 24] [--threads N] [--runs 7]`: the whole image front end on a
/// 4000x3000 JPEG (decode, HD transform, ToTensor + Normalize, global view), the same work that
/// bench/preprocess_side_by_side.py times in PIL + torchvision. Also prints each stage on its own.
/// Without --image it uses golden/vision/media/jpeg_4000x3000.jpg (or writes a synthetic one).
/// </summary>
internal static class PreprocessBench
{
    [ModuleInitializer]
    internal static void Register() =>
        BenchHost.Register("preprocess", "image front end on a 4000x3000 JPEG: decode + HD transform + normalize + global view (--image, --hd-num 24, --threads -1, --runs 7)", Run);

    private static void Run(BenchArgs a)
    {
        string image = a.Get("image", "");
        if (image == "") image = DefaultImage();
        int hd = a.GetInt("hd-num", HdPartition.DefaultHdNum);
        int threads = a.GetInt("threads", -1);
        int runs = a.GetInt("runs", 7);
        var opts = new TransformOptions(threads);
        string suffix = threads == 1 ? "_1t" : "";

        var decoded = ImageDecoder.Decode(image);
        var plan = HdPartition.Plan(decoded.Width, decoded.Height, hd);
        Console.Error.WriteLine($"preprocess: {image} {decoded.Width}x{decoded.Height} hd_num {hd} -> {plan.PaddedWidth}x{plan.PaddedHeight}, threads {threads}, {Environment.ProcessorCount} cores");

        BenchHost.Measure("preprocess" + suffix, () =>
        {
            // Dispose hands the buffers back for the next run (as glibc does for PIL's and torch's buffers)
            using var img = ImageDecoder.Decode(image);
            using var r = ImageTransform.HdTransform(img, hd, opts);
        }, runs: runs, warmup: 2);

        // stages
        // stages; outputs handed back (Dispose) or written into a reused buffer, as in the whole run above
        BenchHost.Measure("decode" + suffix, () => ImageDecoder.Decode(image).Dispose(), runs: runs, warmup: 1);
        BenchHost.Measure("resize_pad" + suffix, () => ImageTransform.HdImage(decoded, hd, opts).Dispose(), runs: runs, warmup: 1);
        var hdImage = ImageTransform.HdImage(decoded, hd, opts);
        var pixels = new float[3 * hdImage.Width * hdImage.Height];
        BenchHost.Measure("normalize" + suffix, () => ClipNormalize.ToTensor(hdImage, threads, pixels), runs: runs, warmup: 1);
        var global = new float[3 * HdPartition.CropSize * HdPartition.CropSize];
        BenchHost.Measure("global_view" + suffix, () => TorchBicubic.ResizeInto(pixels, 3, hdImage.Height, hdImage.Width, global, HdPartition.CropSize, HdPartition.CropSize, threads), runs: runs, warmup: 1);
    }

    private static string DefaultImage()
    {
        string? root = RepoLayout.Root;
        if (root is not null)
        {
            string p = Path.Combine(root, "golden", "vision", "media", "jpeg_4000x3000.jpg");
            if (File.Exists(p)) return p;
        }
        // a deterministic synthetic photo-like image, encoded once
        string tmp = Path.Combine(Path.GetTempPath(), "ixc25-bench-4000x3000.jpg");
        if (File.Exists(tmp)) return tmp;
        var info = new SKImageInfo(4000, 3000, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bmp = new SKBitmap(info);
        unsafe
        {
            byte* p = (byte*)bmp.GetPixels();
            for (int y = 0; y < 3000; y++)
                for (int x = 0; x < 4000; x++)
                {
                    byte* q = p + ((long)y * 4000 + x) * 4;
                    q[0] = (byte)(x * 255 / 3999); q[1] = (byte)(y * 255 / 2999);
                    q[2] = (byte)(((x / 50 + y / 50) & 1) * 120 + (int)(60 * Math.Sin(x * 0.01) * Math.Cos(y * 0.013)) + 60); q[3] = 255;
                }
        }
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Jpeg, 85);
        File.WriteAllBytes(tmp, data.ToArray());
        return tmp;
    }
}
