using System.Text.Json;
using IXC25.Runtime;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;

namespace IXC25.Vision.Tests;

/// <summary>
/// Image_transform + vis_processor + global view against PIL/torchvision for every golden image at
/// hd_num 1, 6, 24, 25, 55: hd_image and pixel_values bit-identical (sha256 of the exact bytes),
/// global_view bit-identical too (stronger than the 1e-5 contract; sampled values are checked
/// against 1e-5 first so that a failure says how far off it is).
/// </summary>
public class HdTransformGoldenTests
{
    public static TheoryData<string, int> Cases()
    {
        var d = new TheoryData<string, int>();
        foreach (var c in VisionGoldens.HdCases.EnumerateArray())
            d.Add(c.GetProperty("image").GetString()!, c.GetProperty("hd_num").GetInt32());
        return d;
    }

    private static JsonElement Find(string image, int hdNum) =>
        VisionGoldens.HdCases.EnumerateArray().Single(c => c.GetProperty("image").GetString() == image && c.GetProperty("hd_num").GetInt32() == hdNum);

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesUpstream(string image, int hdNum)
    {
        var g = Find(image, hdNum);
        var img = VisionGoldens.Image(image);
        if (!g.GetProperty("ok").GetBoolean())
        {
            // upstream crashes (PIL: "height and width must be > 0"); we refuse with a clear message
            Assert.Contains("too thin", Assert.Throws<IxcException>(() => ImageTransform.HdTransform(img, hdNum)).Message);
            return;
        }
        var r = ImageTransform.HdTransform(img, hdNum);
        Assert.Equal((g.GetProperty("width").GetInt32(), g.GetProperty("height").GetInt32()), (r.Width, r.Height));
        Assert.Equal((g.GetProperty("grid_rows").GetInt32(), g.GetProperty("grid_cols").GetInt32()), (r.Plan.GridRows, r.Plan.GridCols));
        Assert.Equal(g.GetProperty("image_tokens").GetInt32(), r.Plan.ImageTokens);

        foreach (var s in g.GetProperty("hd_image_samples").EnumerateArray())
        {
            int y = s[0].GetInt32(), x = s[1].GetInt32(), c = s[2].GetInt32();
            Assert.True(s[3].GetInt32() == r.HdImage.Pixels[(y * r.Width + x) * 3 + c], $"hd_image[{y}, {x}, {c}] = {r.HdImage.Pixels[(y * r.Width + x) * 3 + c]}, PIL {s[3].GetInt32()}");
        }
        Assert.Equal(g.GetProperty("hd_image_sha256").GetString(), VisionGoldens.Sha256(r.HdImage.Pixels));

        long plane = (long)r.Width * r.Height;
        foreach (var s in g.GetProperty("pixel_values_samples").EnumerateArray())
        {
            int c = s[0].GetInt32(), y = s[1].GetInt32(), x = s[2].GetInt32();
            float want = VisionGoldens.FromBits(s[3]), got = r.PixelValues[c * plane + (long)y * r.Width + x];
            Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(got), $"pixel_values[{c}, {y}, {x}] = {got:R}, torch {want:R}");
        }
        Assert.Equal(g.GetProperty("pixel_values_sha256").GetString(), VisionGoldens.Sha256(r.PixelValues));

        foreach (var s in g.GetProperty("global_view_samples").EnumerateArray())
        {
            int c = s[0].GetInt32(), y = s[1].GetInt32(), x = s[2].GetInt32();
            float want = VisionGoldens.FromBits(s[3]), got = r.GlobalView[(c * 560 + y) * 560 + x];
            Assert.True(Math.Abs(want - got) <= 1e-5f, $"global_view[{c}, {y}, {x}] = {got:R}, torch {want:R}");
        }
        double sum = 0;
        foreach (var v in r.GlobalView) sum += v;
        Assert.True(Math.Abs(sum - g.GetProperty("global_view_sum").GetDouble()) <= 1e-5 * r.GlobalView.Length, $"global_view sum {sum}, torch {g.GetProperty("global_view_sum").GetDouble()}");
        Assert.Equal(g.GetProperty("global_view_sha256").GetString(), VisionGoldens.Sha256(r.GlobalView));
    }

    [Fact]
    public void FullGlobalViewWithinTolerance()
    {
        using var f = VisionGoldens.Tensors("global_view_full.safetensors");
        Assert.NotEmpty(f.Tensors);
        foreach (var t in f.Tensors)
        {
            var parts = t.Name.Split('@');
            var r = ImageTransform.HdTransform(VisionGoldens.Image(parts[0]), int.Parse(parts[1]));
            var want = t.ToFloat32();
            Assert.Equal(want.Length, r.GlobalView.Length);
            float max = 0;
            for (int i = 0; i < want.Length; i++) max = Math.Max(max, Math.Abs(want[i] - r.GlobalView[i]));
            Assert.True(max <= 1e-5f, $"{t.Name}: max |diff| {max}");
        }
    }
}
