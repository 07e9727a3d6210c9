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
            using var r = ImageTransform.HdTransform(ImageDecoder.Decode(image), hd, opts); // Dispose: buffers reused
        }, runs: runs, warmup: 2);

        // stages
        BenchHost.Measure("decode" + suffix, () => GC.KeepAlive(ImageDecoder.Decode(image)), runs: runs, warmup: 1);
        BenchHost.Measure("resize_pad" + suffix, () => GC.KeepAlive(ImageTransform.HdImage(decoded, hd, opts)), runs: runs, warmup: 1);
        var hdImage = ImageTransform.HdImage(decoded, hd, opts);
        BenchHost.Measure("normalize" + suffix, () => GC.KeepAlive(ClipNormalize.ToTensor(hdImage, threads)), runs: runs, warmup: 1);
        var pixels = ClipNormalize.ToTensor(hdImage, threads);
        BenchHost.Measure("global_view" + suffix, () => GC.KeepAlive(ImageTransform.GlobalView(pixels, hdImage.Height, hdImage.Width, threads)), runs: runs, warmup: 1);
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
