using IXC25.Runtime;
using IXC25.Vision.Imaging;
using IXC25.Vision.Transforms;
using IXC25.Vision.Video;

namespace IXC25.Vision.Tests;

/// <summary>
/// Video front end against golden/vision/data/video.json (Python: ffprobe/ffmpeg frames, upstream's
/// sampling, PIL frame2img, Video_transform). The label text is excluded from pixel comparisons.
/// </summary>
public class VideoTests
{
    public static TheoryData<string> Videos() => ["video_landscape.mp4", "video_portrait.mp4", "video_long.mp4", "video_rot90.mp4"];

    private static string VideoPath(string name) => VisionGoldens.MediaPath("vision/media/" + name);

    [Theory]
    [MemberData(nameof(Videos))]
    public void FramesAreSampledAsUpstream(string name)
    {
        var g = VisionGoldens.Video.GetProperty(name);
        var info = VideoFrames.Probe(VideoPath(name));
        Assert.Equal(g.GetProperty("fps").GetDouble(), info.Fps, 12);
        Assert.Equal((g.GetProperty("width").GetInt32(), g.GetProperty("height").GetInt32()), (info.Width, info.Height));
        var want = g.GetProperty("sampled_indices").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(want, VideoFrames.SampleIndices(g.GetProperty("frame_count").GetInt64(), info.Fps));
        var frames = VideoFrames.Load(VideoPath(name));
        Assert.Equal(g.GetProperty("sampled_frame_sha256").EnumerateArray().Select(e => e.GetString()), frames.Select(f => VisionGoldens.Sha256(f.Pixels)));
    }

    [Theory]
    [MemberData(nameof(Videos))]
    public void CompositeGeometryFramesAndLinesMatchPil(string name)
    {
        var g = VisionGoldens.Video.GetProperty(name);
        var comp = VideoComposer.FromFile(VideoPath(name));
        Assert.Equal((g.GetProperty("composite_width").GetInt32(), g.GetProperty("composite_height").GetInt32()), (comp.Width, comp.Height));
        var boxes = g.GetProperty("label_boxes").EnumerateArray().Select(b => b.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToList();
        var masked = new RgbImage(comp.Width, comp.Height, (byte[])comp.Pixels.Clone());
        bool anyText = false;
        foreach (var b in boxes)
        {
            for (int y = b[1]; y < b[3] && !anyText; y++)
                for (int x = b[0]; x < b[2]; x++)
                    if (comp[x, y].R < 128) { anyText = true; break; }
            ImageOps.FillRect(masked, b[0], b[1], b[2], b[3], 255, 255, 255);
        }
        Assert.True(anyText, "no label text was drawn");
        Assert.Equal(g.GetProperty("composite_masked_sha256").GetString(), VisionGoldens.Sha256(masked.Pixels));
    }

    [Theory]
    [InlineData("video_landscape.mp4")]
    [InlineData("video_portrait.mp4")]
    public void VideoTransformOfThePilCompositeIsBitExact(string name)
    {
        var g = VisionGoldens.Video.GetProperty(name);
        var comp = ImageDecoder.Decode(VisionGoldens.DataPath(g.GetProperty("composite_png").GetString()!));
        Assert.Equal(g.GetProperty("composite_sha256").GetString(), VisionGoldens.Sha256(comp.Pixels));
        var r = ImageTransform.VideoTransform(comp);
        Assert.Equal((g.GetProperty("transform_width").GetInt32(), g.GetProperty("transform_height").GetInt32()), (r.Width, r.Height));
        Assert.Equal(g.GetProperty("hd_image_sha256").GetString(), VisionGoldens.Sha256(r.HdImage.Pixels));
        Assert.Equal(g.GetProperty("pixel_values_sha256").GetString(), VisionGoldens.Sha256(r.PixelValues));
        Assert.Equal(g.GetProperty("global_view_sha256").GetString(), VisionGoldens.Sha256(r.GlobalView));
    }

    [Fact]
    public void RotationMetadataIsApplied()
    {
        // 160x96 coded frames with a -90 degree display matrix are delivered as 96x160 (as decord and ffmpeg do)
        var info = VideoFrames.Probe(VideoPath("video_rot90.mp4"));
        Assert.Equal((96, 160, -90), (info.Width, info.Height, info.Rotation));
        Assert.All(VideoFrames.Load(VideoPath("video_rot90.mp4")), f => Assert.Equal((96, 160), (f.Width, f.Height)));
    }

    [Fact]
    public void LongVideoTransformGeometry()
    {
        var g = VisionGoldens.Video.GetProperty("video_long.mp4");
        var r = ImageTransform.VideoTransform(VideoComposer.FromFile(VideoPath("video_long.mp4")));
        Assert.Equal((g.GetProperty("transform_width").GetInt32(), g.GetProperty("transform_height").GetInt32()), (r.Width, r.Height));
        Assert.Equal(r.Height / 560, r.Plan.GridRows);
        Assert.Equal(1, r.Plan.GridCols);
    }

    [Theory]
    // upstream's rule: stride round(fps) (half to even), then at most 32 by int(i * m / 33)
    [InlineData(10, 25.0, new[] { 0 })]
    [InlineData(125, 25.0, new[] { 0, 25, 50, 75, 100 })]
    [InlineData(90, 29.97002997002997, new[] { 0, 30, 60 })]
    [InlineData(5, 2.5, new[] { 0, 2, 4 })]
    [InlineData(7, 3.5, new[] { 0, 4 })]
    public void SampleIndicesFollowUpstream(long n, double fps, int[] want) => Assert.Equal(want, VideoFrames.SampleIndices(n, fps));

    [Fact]
    public void MoreThan32PositionsKeep32ByTheN33Rule()
    {
        var idx = VideoFrames.SampleIndices(3300, 30);  // 110 one-per-second positions
        Assert.Equal(32, idx.Length);
        double step = 110.0 / 33;
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (int)(i * step) * 30), idx);
    }

    [Fact]
    public void FrameSizeAndVideoPlanFollowUpstream()
    {
        Assert.Equal((1120, 840), VideoComposer.FrameSize(320, 240));
        Assert.Equal((672, 1120), VideoComposer.FrameSize(120, 200));
        Assert.Equal((1120, 1120), VideoComposer.FrameSize(50, 50));
        // 32 frames of 16:9 stacked: 1120 x 32 * (630 + 50) -> 560 x 10880 -> pad 11200, 8821 tokens (IXC25-SEMANTICS.md 4)
        var p = Partition.HdPartition.PlanVideo(1120, 32 * (630 + 50));
        Assert.Equal((560, 11200, 20, 1), (p.PaddedWidth, p.PaddedHeight, p.GridRows, p.GridCols));
        Assert.Equal(8821, p.ImageTokens);
    }

    [Fact]
    public void MissingOrBrokenVideosGiveOneLineErrors()
    {
        Assert.Contains("no such video file", Assert.Throws<IxcException>(() => VideoFrames.Load("/nonexistent/v.mp4")).Message);
        var e = Assert.Throws<IxcException>(() => VideoFrames.Load(VisionGoldens.MediaPath("vision/media/broken_garbage.png")));
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_tool_that_overruns_its_time_limit_is_ended_with_one_line()
    {
        var e = Assert.Throws<IxcException>(() => VideoFrames.Load(VideoPath("video_long.mp4"), limits: new DecodeOptions(ToolTimeout: TimeSpan.FromMilliseconds(1))));
        Assert.Contains("did not finish within 0.001 s and was ended", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

/// <summary>Runs alone (it changes the process's current directory to hand ffmpeg bare relative names).</summary>
[CollectionDefinition("current directory", DisableParallelization = true)]
public sealed class CurrentDirectoryCollection;

[Collection("current directory")]
public sealed class VideoFileNameTests
{
    private static string VideoPath(string name) => VisionGoldens.MediaPath("vision/media/" + name);

    [Fact]
    public void File_names_are_never_read_as_options_or_protocols()
    {
        // names ffmpeg would otherwise take for a protocol, an option or stdin: the same frames as the plain name
        string dir = Path.Combine(Path.GetTempPath(), $"ixc25-videonames-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var expected = VideoFrames.Load(VideoPath("video_landscape.mp4"));
            foreach (var name in new[] { "http:x.mp4", "-y.mp4", "concat:a|b.mp4" })
            {
                string path = Path.Combine(dir, name);
                File.Copy(VideoPath("video_landscape.mp4"), path);
                string cwd = Environment.CurrentDirectory;
                Environment.CurrentDirectory = dir;
                try
                {
                    var frames = VideoFrames.Load(name); // relative, as a user types it
                    Assert.Equal(expected.Count, frames.Count);
                    Assert.Equal(expected[^1].Pixels, frames[^1].Pixels);
                }
                finally { Environment.CurrentDirectory = cwd; }
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
