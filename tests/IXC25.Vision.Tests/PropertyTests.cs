using FsCheck;
using FsCheck.Fluent;
using IXC25.Runtime.Spec;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Resampling;
using IXC25.Vision.Transforms;

namespace IXC25.Vision.Tests;

/// <summary>Properties of the front end over generated sizes and hd_num (FsCheck).</summary>
public class PropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(2000);
    private static readonly Config Few = Config.QuickThrowOnFailure.WithMaxTest(25);

    private static Gen<int> Side(int max) => Gen.Frequency(
        (4, Gen.Choose(1, max)),
        (2, Gen.Choose(1, 12)),
        (2, Gen.Elements(559, 560, 561, 1119, 1120, 1121, 1679, 1680, 1681)));

    private static Gen<int> HdNum() => Gen.Frequency((3, Gen.Choose(1, 60)), (2, Gen.Elements(1, 6, 24, 25, 55)));

    private static Arbitrary<(int W, int H, int Hd)> Geometry(int max) =>
        Side(max).SelectMany(w => Side(max).SelectMany(h => HdNum().Select(hd => (w, h, hd)))).ToArbitrary();

    private static bool Plannable(int w, int h, int hd)
    {
        try { HdPartition.Plan(w, h, hd); return true; }
        catch (Runtime.IxcException) { return false; }
    }

    [Fact]
    public void PlanSidesAreMultiplesOf560AndTheGridFollowsTheScaleRule()
    {
        Prop.ForAll(Geometry(20000), g =>
        {
            var (w, h, hd) = g;
            if (!Plannable(w, h, hd)) return (double)Math.Max(w, h) / Math.Min(w, h) > 560; // only degenerate strips fail
            var p = HdPartition.Plan(w, h, hd);
            bool sides = p.PaddedWidth % 560 == 0 && p.PaddedHeight % 560 == 0
                && p.GridCols == p.PaddedWidth / 560 && p.GridRows == p.PaddedHeight / 560;
            // landscape view: scale = columns of the long side
            int longSide = Math.Max(w, h);
            double ratio = (double)longSide / Math.Min(w, h);
            int scale = p.Transposed ? p.GridRows : p.GridCols;
            bool fits = scale * Math.Ceiling(scale / ratio) <= hd && p.GridRows * p.GridCols <= hd;
            bool maximal = scale == (int)Math.Ceiling((double)longSide / 560) || (scale + 1) * Math.Ceiling((scale + 1) / ratio) > hd;
            bool orientation = p.Transposed == (w < h) && (p.ResizedWidth >= p.ResizedHeight) == !p.Transposed;
            bool resizedInside = p.ResizedWidth <= p.PaddedWidth && p.ResizedHeight <= p.PaddedHeight
                && (p.Transposed ? p.ResizedHeight == p.PaddedHeight : p.ResizedWidth == p.PaddedWidth);
            return sides && fits && maximal && orientation && resizedInside;
        }).Check(Many);
    }

    [Fact]
    public void TokenFormulaMatchesTheProducedSequence()
    {
        var grid = Gen.Choose(1, 12).SelectMany(r => Gen.Choose(1, 12).Select(c => (r, c))).ToArbitrary();
        Prop.ForAll(grid, g =>
        {
            var seq = ImageTokenLayout.Enumerate(HdPartition.PatchGrid, g.r, g.c).ToList();
            int crops = g.r * g.c;
            return seq.Count == HdPartition.TokenCount(g.r, g.c)
                && seq.Count(t => t.Kind == ImageTokenKind.GlobalSeparator) == 1
                && seq.Count(t => t.Kind == ImageTokenKind.SubSeparator) == 20 + 20 * g.r
                && seq.Count(t => t.Kind == ImageTokenKind.GlobalCell) == 400
                && Enumerable.Range(0, crops).All(k => seq.Count(t => t.Kind == ImageTokenKind.CropCell && t.Crop == k) == 400)
                && seq[420].Kind == ImageTokenKind.GlobalSeparator;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void TransformOfTransposeIsTransposeOfTransform()
    {
        // exact for non-square images: both paths resize the same landscape image. (A square image is
        // never transposed, and PIL's horizontal-then-vertical rounding is not symmetric, so there the
        // two differ by at most 1.)
        Prop.ForAll(Geometry(700), g =>
        {
            var (w, h, hd) = g;
            if (w == h || !Plannable(w, h, hd)) return true;
            var img = TestImages.Random(w, h, w * 7919 + h);
            var a = ImageTransform.HdImage(ImageOps.Transpose(img), hd);
            var b = ImageOps.Transpose(ImageTransform.HdImage(img, hd));
            return a.Width == b.Width && a.Height == b.Height && a.Pixels.AsSpan().SequenceEqual(b.Pixels);
        }).Check(Few);
    }

    [Fact]
    public void SquareImagesTransposeWithinOneLevel()
    {
        Prop.ForAll(Gen.Choose(1, 700).SelectMany(s => HdNum().Select(hd => (s, hd))).ToArbitrary(), g =>
        {
            var img = TestImages.Random(g.s, g.s, g.s);
            var a = ImageTransform.HdImage(ImageOps.Transpose(img), g.hd);
            var b = ImageOps.Transpose(ImageTransform.HdImage(img, g.hd));
            for (int i = 0; i < a.Pixels.Length; i++) if (Math.Abs(a.Pixels[i] - b.Pixels[i]) > 1) return false;
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10));
    }

    [Fact]
    public void ResizeOfAConstantImageIsConstant()
    {
        var arb = Gen.Choose(1, 400).SelectMany(w => Gen.Choose(1, 400).SelectMany(h => Gen.Choose(1, 900).SelectMany(ow => Gen.Choose(1, 900)
            .SelectMany(oh => Gen.Choose(0, 255).Select(v => (w, h, ow, oh, v)))))).ToArbitrary();
        Prop.ForAll(arb, g =>
        {
            var img = TestImages.Constant(g.w, g.h, (byte)g.v, (byte)(255 - g.v), (byte)(g.v / 3));
            var r = PilBilinear.Resize(img, g.ow, g.oh);
            for (int i = 0; i < r.Pixels.Length; i += 3)
                if (r.Pixels[i] != g.v || r.Pixels[i + 1] != 255 - g.v || r.Pixels[i + 2] != g.v / 3) return false;
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }

    [Fact]
    public void EveryPaddingPixelIsWhite()
    {
        Prop.ForAll(Geometry(900), g =>
        {
            var (w, h, hd) = g;
            if (!Plannable(w, h, hd)) return true;
            var r = ImageTransform.HdTransform(TestImages.Random(w, h, hd), hd);
            var p = r.Plan;
            long plane = (long)r.Width * r.Height;
            for (int y = 0; y < r.Height; y++)
                for (int x = 0; x < r.Width; x++)
                {
                    if (x < p.ResizedWidth && y < p.ResizedHeight) continue;
                    int i = (y * r.Width + x) * 3;
                    if (r.HdImage.Pixels[i] != 255 || r.HdImage.Pixels[i + 1] != 255 || r.HdImage.Pixels[i + 2] != 255) return false;
                    for (int c = 0; c < 3; c++)
                        if (r.PixelValues[c * plane + (long)y * r.Width + x] != ClipNormalize.White(c)) return false;
                }
            return true;
        }).Check(Few);
    }

    [Fact]
    public void FastBilinearEqualsTheReference()
    {
        var arb = Gen.Choose(1, 300).SelectMany(w => Gen.Choose(1, 300).SelectMany(h => Gen.Choose(1, 400).SelectMany(ow => Gen.Choose(1, 400)
            .Select(oh => (w, h, ow, oh))))).ToArbitrary();
        Prop.ForAll(arb, g =>
        {
            var img = TestImages.Random(g.w, g.h, g.ow * 31 + g.oh);
            return PilBilinear.Resize(img, g.ow, g.oh).Pixels.AsSpan().SequenceEqual(PilBilinear.ResizeReference(img, g.ow, g.oh).Pixels);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    [Fact]
    public void FastBicubicEqualsTheReference()
    {
        var arb = Gen.Choose(1, 200).SelectMany(h => Gen.Choose(1, 200).SelectMany(w => Gen.Choose(1, 120).SelectMany(oh => Gen.Choose(1, 120)
            .Select(ow => (h, w, oh, ow))))).ToArbitrary();
        Prop.ForAll(arb, g =>
        {
            var rng = new Random(g.h * 1000 + g.w);
            var x = new float[2 * g.h * g.w];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 2);
            var a = TorchBicubic.Resize(x, 2, g.h, g.w, g.oh, g.ow);
            var b = TorchBicubic.ResizeReference(x, 2, g.h, g.w, g.oh, g.ow);
            return a.AsSpan().SequenceEqual(b);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }
}
