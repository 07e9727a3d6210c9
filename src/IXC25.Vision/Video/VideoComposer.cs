using IXC25.Runtime;
using IXC25.Vision.Imaging;
using IXC25.Vision.Resampling;
using SkiaSharp;

namespace IXC25.Vision.Video;

/// <summary>
/// Upstream's <c>frame2img</c> (ixc_utils.py): every frame resized (PIL bilinear) so that its long side
/// is 1120, stacked on a white canvas with a 40-pixel label band <c>&lt;IMAGE k&gt;</c> above (vertical
/// stack) or beside (horizontal row) each frame and 2-pixel black separator lines. The layout is decided
/// by the last frame: landscape frames are stacked vertically, others side by side.
/// Geometry, frame pixels and lines are exactly PIL's; the label text is drawn with SkiaSharp and a
/// locally installed font (upstream downloads SimHei.ttf; pixel parity of the text is not a goal,
/// see docs/DEVIATIONS.md).
/// </summary>
public static class VideoComposer
{
    public const int LongSide = 2 * 560;
    public const int LabelBand = 40;
    public const float FontSize = 40;

    /// <summary>Fonts tried in order: WenQuanYi Micro Hei (CJK, installed by scripts/setup.sh), then DejaVu Sans.</summary>
    public static readonly string[] FontCandidates =
    [
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ];

    /// <summary>Reads the video, samples its frames as upstream and composes them.</summary>
    public static RgbImage FromFile(string path, string? fontPath = null) => Compose(VideoFrames.Load(path), fontPath);

    /// <summary>The frame2img composite of <paramref name="frames"/>.</summary>
    public static RgbImage Compose(IReadOnlyList<RgbImage> frames, string? fontPath = null)
    {
        if (frames.Count == 0) throw new IxcException("frame2img needs at least one frame");
        var resized = new List<RgbImage>(frames.Count);
        foreach (var f in frames)
        {
            var (w, h) = FrameSize(f.Width, f.Height);
            resized.Add(PilBilinear.Resize(f, w, h));
        }
        var last = frames[^1];
        bool vertical = last.Width > last.Height;
        using var labels = new LabelPainter(fontPath);
        RgbImage canvas;
        if (vertical)
        {
            int cw = resized.Max(r => r.Width);
            int ch = checked(resized.Sum(r => r.Height + 10 + LabelBand));
            canvas = RgbImage.Filled(cw, ch, 255, 255, 255);
            int y = 0;
            for (int k = 0; k < resized.Count; k++)
            {
                var im = resized[k];
                ImageOps.Paste(canvas, im, 0, LabelBand + y);
                labels.Draw(canvas, $"<IMAGE {k}>", 0, y);
                if (k + 1 < resized.Count)
                {
                    int ly = LabelBand + y + im.Height + 5;
                    ImageOps.FillRect(canvas, 0, ly, cw, ly + 2, 0, 0, 0); // PIL line width 2: rows ly, ly + 1
                }
                y += im.Height + 10 + LabelBand;
            }
        }
        else
        {
            int cw = checked(resized.Sum(r => r.Width + 10));
            int ch = resized.Max(r => r.Height) + LabelBand;
            canvas = RgbImage.Filled(cw, ch, 255, 255, 255);
            int x = 0;
            for (int k = 0; k < resized.Count; k++)
            {
                var im = resized[k];
                ImageOps.Paste(canvas, im, x, LabelBand);
                labels.Draw(canvas, $"<IMAGE {k}>", x, 0);
                if (k + 1 < resized.Count)
                {
                    int lx = x + im.Width + 5;
                    ImageOps.FillRect(canvas, lx, 0, lx + 2, ch, 0, 0, 0); // columns lx, lx + 1
                }
                x += im.Width + 10;
            }
        }
        return canvas;
    }

    /// <summary>frame2img's per-frame size: the long side becomes 1120, the other <c>int(1120 * short / long)</c>
    /// (Python: <c>int(1120 / (w / h))</c> or <c>int(1120 * (w / h))</c> with the ratio as a double).</summary>
    public static (int Width, int Height) FrameSize(int width, int height)
    {
        double aspect = (double)width / height;
        var size = width > height ? (LongSide, (int)(LongSide / aspect)) : ((int)(LongSide * aspect), LongSide);
        if (size.Item1 < 1 || size.Item2 < 1)
            throw new IxcException($"a {width}x{height} video frame is too elongated: frame2img would resize it to {size.Item1}x{size.Item2}");
        return size;
    }

    /// <summary>Resolves the label font: the given path, or the first installed candidate.</summary>
    public static string ResolveFont(string? fontPath)
    {
        if (fontPath is not null)
            return File.Exists(fontPath) ? fontPath : throw new IxcException($"{fontPath}: label font not found");
        foreach (var c in FontCandidates) if (File.Exists(c)) return c;
        throw new IxcException($"no label font found (tried {string.Join(", ", FontCandidates)}); install fonts-wqy-microhei (scripts/setup.sh does)");
    }

    /// <summary>Draws black anti-aliased text with its top-left at the label origin (PIL's default 'la' anchor:
    /// the ascender line at y), alpha-blended onto the RGB canvas.</summary>
    private sealed class LabelPainter : IDisposable
    {
        private readonly SKTypeface _typeface;
        private readonly SKFont _font;
        private readonly SKPaint _paint;

        public LabelPainter(string? fontPath)
        {
            string path = ResolveFont(fontPath);
            _typeface = SKTypeface.FromFile(path, 0) ?? throw new IxcException($"{path}: not a usable font file");
            _font = new SKFont(_typeface, FontSize) { Subpixel = false, Edging = SKFontEdging.Antialias };
            _paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        }

        public void Draw(RgbImage canvas, string text, int x, int y)
        {
            float ascent = -_font.Metrics.Ascent, descent = _font.Metrics.Descent;
            float width = _font.MeasureText(text, _paint);
            int tw = (int)Math.Ceiling(width) + 4, th = (int)Math.Ceiling(ascent + descent) + 2;
            var info = new SKImageInfo(tw, th, SKColorType.Alpha8, SKAlphaType.Premul);
            using var bitmap = new SKBitmap(info);
            bitmap.Erase(SKColors.Transparent);
            using (var c = new SKCanvas(bitmap))
                c.DrawText(text, 0, MathF.Round(ascent), SKTextAlign.Left, _font, _paint);
            var coverage = bitmap.GetPixelSpan();
            int stride = bitmap.RowBytes;
            for (int ty = 0; ty < th; ty++)
            {
                int cy = y + ty;
                if (cy < 0 || cy >= canvas.Height) continue;
                for (int tx = 0; tx < tw; tx++)
                {
                    int cx = x + tx;
                    if (cx < 0 || cx >= canvas.Width) continue;
                    int a = coverage[ty * stride + tx];
                    if (a == 0) continue;
                    int i = (cy * canvas.Width + cx) * 3;
                    for (int ch = 0; ch < 3; ch++) canvas.Pixels[i + ch] = (byte)((canvas.Pixels[i + ch] * (255 - a) + 127) / 255);
                }
            }
        }

        public void Dispose()
        {
            _paint.Dispose();
            _font.Dispose();
            _typeface.Dispose();
        }
    }
}
