using IXC25.Runtime;
using IXC25.Vision.Imaging;

namespace IXC25.Vision.Tests;

/// <summary>Decoding parity with PIL 9.4's <c>Image.open(p).convert('RGB')</c> for every committed file.</summary>
public class DecodeGoldenTests
{
    public static TheoryData<string> Files()
    {
        var d = new TheoryData<string>();
        foreach (var p in VisionGoldens.Decode.EnumerateObject()) d.Add(p.Name);
        return d;
    }

    /// <summary>Files PIL decodes but we refuse on purpose (docs/DEVIATIONS.md).</summary>
    private static readonly Dictionary<string, string> Refused = new()
    {
        ["vision/media/png16_gray.png"] = "16-bit grayscale PNG",
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesPilConvertRgb(string key)
    {
        var g = VisionGoldens.Decode.GetProperty(key);
        string path = VisionGoldens.MediaPath(key);
        if (Refused.TryGetValue(key, out var why))
        {
            Assert.True(g.GetProperty("ok").GetBoolean());
            Assert.Contains(why, Assert.Throws<IxcException>(() => ImageDecoder.Decode(path)).Message);
            return;
        }
        if (!g.GetProperty("ok").GetBoolean())
        {
            // PIL raises (truncated, corrupt, bomb, not an image): we raise an IxcException naming the file
            var e = Assert.Throws<IxcException>(() => ImageDecoder.Decode(path));
            Assert.Contains(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            return;
        }
        var img = ImageDecoder.Decode(path);
        Assert.Equal(g.GetProperty("width").GetInt32(), img.Width);
        Assert.Equal(g.GetProperty("height").GetInt32(), img.Height);
        Assert.Equal(g.GetProperty("rgb_sha256").GetString(), VisionGoldens.Sha256(img.Pixels));
        // the in-memory entry point gives the same pixels
        var again = ImageDecoder.Decode(File.ReadAllBytes(path), key);
        Assert.Equal(img.Pixels, again.Pixels);
    }

    [Fact]
    public void ErrorMessagesNameTheProblem()
    {
        string M(string name) => Assert.Throws<IxcException>(() => ImageDecoder.Decode(VisionGoldens.MediaPath("vision/media/" + name))).Message;
        Assert.Contains("exceeds the limit", M("broken_bomb.png"));
        Assert.Contains("truncated", M("broken_truncated.jpg"));
        Assert.Contains("truncated", M("broken_truncated.png"));
        Assert.Contains("empty", M("broken_empty.jpg"));
        Assert.Contains("unsupported image format", M("broken_garbage.png"));
        Assert.Contains("cannot read", Assert.Throws<IxcException>(() => ImageDecoder.Decode("/nonexistent/dir/x.png")).Message);
    }

    [Fact]
    public void PixelLimitIsConfigurableAndCheckedBeforeDecoding()
    {
        string path = VisionGoldens.MediaPath("media/cars1.jpg"); // 512 x 341 = 174592 pixels
        Assert.Contains("exceeds the limit of 174591", Assert.Throws<IxcException>(() => ImageDecoder.Decode(path, new DecodeOptions(174591))).Message);
        Assert.Equal(512, ImageDecoder.Decode(path, new DecodeOptions(174592)).Width);
    }

    [Fact]
    public void ExifOrientationIsNotApplied()
    {
        // jpeg_exif_rot6.jpg is stored 640x360 with Orientation = 6 (rotate 90): PIL's Image.open keeps 640x360
        var img = ImageDecoder.Decode(VisionGoldens.MediaPath("vision/media/jpeg_exif_rot6.jpg"));
        Assert.Equal((640, 360), (img.Width, img.Height));
    }
}
