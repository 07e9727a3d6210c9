using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces.Images;
using IXC25.Runtime;

namespace IXC25.Conformance.Surfaces;

/// <summary>A partition case: a synthetic image (size, PNG pixel format, pattern and its seed) and hd_num.</summary>
public sealed record PartitionCase(int Width, int Height, PngPixelFormat Format, ImagePattern Pattern, int Seed, int HdNum);

/// <summary>
/// partition: synthetic PNG images (written by <see cref="PngWriter"/>, so the samples are exactly the case's)
/// through upstream's HD transform (IXC25-SEMANTICS.md section 3). Sizes sit around multiples of 336 and
/// 560 (k*336 and k*560, plus or minus 1), at extreme aspect ratios (1:20, 20:1, beyond), at 1 pixel wide or
/// high (long enough that the resized short side rounds to 0 and upstream refuses), square; hd_num at its
/// limits (1, small, 24, 25, 55); RGB, gray, gray + alpha, RGBA, 16-bit RGB and 16-bit gray (which the
/// reference refuses, docs/DEVIATIONS.md); patterns with edges and gradients. Images stay under 1.5 Mpx.
/// Shrinks the size (both sides halved, keeping the aspect ratio, then each side halved, then stepped down),
/// hd_num toward 1, the format toward RGB8, the pattern toward Flat, the seed toward 0.
/// </summary>
public sealed class PartitionSurface : Surface<PartitionCase>
{
    /// <summary>Largest image the generator makes, in pixels.</summary>
    public const long MaxPixels = 1_500_000;

    /// <summary>The image file's name in the work folder.</summary>
    public const string ImageFile = "image.png";

    public override string Name => "partition";
    public override int DefaultCases => 100;

    public override Gen<PartitionCase> Generator =>
        from dims in Gen.Sized(s => Dimensions(24 + s * 17))
        from format in Gen.Frequency(
            (5, Gen.Constant(PngPixelFormat.Rgb8)), (2, Gen.Constant(PngPixelFormat.Gray8)), (1, Gen.Constant(PngPixelFormat.GrayAlpha8)),
            (2, Gen.Constant(PngPixelFormat.Rgba8)), (2, Gen.Constant(PngPixelFormat.Rgb16)), (1, Gen.Constant(PngPixelFormat.Gray16)))
        from pattern in Gen.Frequency((1, Gen.Constant(ImagePattern.Flat)),
            (12, Gen.Elements(Enum.GetValues<ImagePattern>().Where(p => p != ImagePattern.Flat).ToArray())))
        from seed in Gen.Choose(0, 9999)
        from hd in Gen.Frequency((3, Gen.Constant(1)), (3, Gen.Choose(2, 8)), (2, Gen.Elements(24, 25)), (1, Gen.Constant(55)), (2, Gen.Choose(1, 60)))
        select new PartitionCase(dims.W, dims.H, format, pattern, seed, hd);

    /// <summary>Image sizes with a long side up to about <paramref name="maxSide"/>.</summary>
    private static Gen<(int W, int H)> Dimensions(int maxSide)
    {
        var nearMultiple =
            from b in Gen.Elements(336, 560)
            from k in Gen.Choose(1, Math.Clamp(maxSide / b, 1, 3))
            from d in Gen.Elements(-1, 0, 1)
            select k * b + d;
        var any = Gen.Choose(1, maxSide);
        var small = Gen.Choose(1, Math.Min(maxSide, 96));
        var pairs = Gen.Frequency(
            (3, from w in small from h in small select (w, h)),
            (3, from a in nearMultiple from b in Gen.Frequency((2, nearMultiple), (1, any)) select (a, b)),
            (2, from a in nearMultiple select (a, a)),
            (2, from l in Gen.Choose(20, Math.Max(20, maxSide)) from r in Gen.Elements(10, 20, 21, 50) select (l, Math.Max(1, l / r))),
            (2, from n in Gen.Choose(1, Math.Min(2400, 2 * maxSide)) select (n, 1)),
            (1, from n in Gen.Choose(1, maxSide) select (n, n)),
            (3, from w in any from h in any select (w, h)));
        return from p in pairs
               from swap in Gen.Elements(false, true)
               select Cap(swap ? (p.Item2, p.Item1) : p);
    }

    private static (int W, int H) Cap((int W, int H) d)
    {
        long px = (long)d.W * d.H;
        if (px <= MaxPixels) return d;
        double f = Math.Sqrt((double)MaxPixels / px);
        return (Math.Max(1, (int)(d.W * f)), Math.Max(1, (int)(d.H * f)));
    }

    public override IEnumerable<PartitionCase> Shrink(PartitionCase c)
    {
        int w = c.Width, h = c.Height;
        if (w > 1 && h > 1) yield return c with { Width = Math.Max(1, w / 2), Height = Math.Max(1, h / 2) };
        if (w > 1) yield return c with { Width = w / 2 };
        if (h > 1) yield return c with { Height = h / 2 };
        if (c.HdNum > 1) yield return c with { HdNum = 1 };
        if (c.HdNum > 2) yield return c with { HdNum = c.HdNum / 2 };
        if (c.Format != PngPixelFormat.Rgb8) yield return c with { Format = PngPixelFormat.Rgb8 };
        if (Simpler(c.Format) is { } simpler) yield return c with { Format = simpler };
        for (var p = ImagePattern.Flat; p < c.Pattern; p++) yield return c with { Pattern = p };
        if (c.Seed != 0) yield return c with { Seed = 0 };
        if (w > 1 && h > 1) yield return c with { Width = w - 1, Height = h - 1 };
        if (w > 1) yield return c with { Width = w - 1 };
        if (h > 1) yield return c with { Height = h - 1 };
        if (c.HdNum > 1) yield return c with { HdNum = c.HdNum - 1 };
    }

    /// <summary>The same image without alpha or with 8-bit samples, when there is one.</summary>
    private static PngPixelFormat? Simpler(PngPixelFormat f) => f switch
    {
        PngPixelFormat.GrayAlpha8 or PngPixelFormat.Gray16 => PngPixelFormat.Gray8,
        PngPixelFormat.Rgba8 or PngPixelFormat.Rgb16 => PngPixelFormat.Rgb8,
        _ => null,
    };

    /// <summary>Pixels, plus one per step of hd_num, format, pattern and seed that shrinking can still take.</summary>
    public override long Size(PartitionCase c) =>
        (long)c.Width * c.Height + (c.HdNum - 1) + FormatRank(c.Format) + (int)c.Pattern + (c.Seed != 0 ? 1 : 0);

    private static int FormatRank(PngPixelFormat f) => f switch
    {
        PngPixelFormat.Rgb8 => 0,
        PngPixelFormat.Gray8 => 1,
        PngPixelFormat.Rgba8 or PngPixelFormat.Rgb16 => 2,
        _ => 3,
    };

    public override string Describe(PartitionCase c) =>
        $"{c.Width}x{c.Height} {FormatName(c.Format)} {PatternName(c.Pattern)} (seed {c.Seed}), hd_num {c.HdNum}";

    public static string FormatName(PngPixelFormat f) => f switch
    {
        PngPixelFormat.Rgb8 => "rgb8",
        PngPixelFormat.Gray8 => "gray8",
        PngPixelFormat.GrayAlpha8 => "gray-alpha8",
        PngPixelFormat.Rgba8 => "rgba8",
        PngPixelFormat.Rgb16 => "rgb16",
        PngPixelFormat.Gray16 => "gray16",
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    public static string PatternName(ImagePattern p) => p switch
    {
        ImagePattern.Flat => "flat",
        ImagePattern.HorizontalGradient => "hgradient",
        ImagePattern.VerticalGradient => "vgradient",
        ImagePattern.Checker => "checker",
        ImagePattern.Stripes => "stripes",
        ImagePattern.Diagonal => "diagonal",
        ImagePattern.Rings => "rings",
        ImagePattern.Noise => "noise",
        _ => throw new ArgumentOutOfRangeException(nameof(p)),
    };

    public override JsonNode ToJson(PartitionCase c) => new JsonObject
    {
        ["width"] = c.Width, ["height"] = c.Height, ["format"] = FormatName(c.Format),
        ["pattern"] = PatternName(c.Pattern), ["seed"] = c.Seed, ["hd_num"] = c.HdNum,
    };

    public override PartitionCase FromJson(JsonNode json)
    {
        string format = (string)json["format"]!, pattern = (string)json["pattern"]!;
        var f = Enum.GetValues<PngPixelFormat>().Where(x => FormatName(x) == format).Cast<PngPixelFormat?>().FirstOrDefault()
            ?? throw new IxcException($"partition case: unknown format '{format}'");
        var p = Enum.GetValues<ImagePattern>().Where(x => PatternName(x) == pattern).Cast<ImagePattern?>().FirstOrDefault()
            ?? throw new IxcException($"partition case: unknown pattern '{pattern}'");
        int w = (int)json["width"]!, h = (int)json["height"]!;
        if (w < 1 || h < 1) throw new IxcException($"partition case: image size {w}x{h} is empty");
        return new PartitionCase(w, h, f, p, (int)json["seed"]!, (int)json["hd_num"]!);
    }

    public override PortRequest Prepare(PartitionCase c, string work)
    {
        new SyntheticImage(c.Width, c.Height, c.Format, c.Pattern, c.Seed).WritePng(Path.Combine(work, ImageFile));
        return new PortRequest(Name, work, new JsonObject { ["image"] = ImageFile, ["hd_num"] = c.HdNum });
    }
}
