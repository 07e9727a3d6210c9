using IXC25.Runtime;
using IXC25.Vision.Imaging;
using IXC25.Vision.Video;

namespace IXC25.Vision.Tests;

/// <summary>
/// ffprobe's report is outside data (it repeats what the container claims): ProbeReport and what runs on it
/// before ffmpeg starts give a VideoInfo or an IxcException, quickly, whatever the report says (issue 15;
/// the fuzz target video-probe drives the same path with arbitrary bytes).
/// </summary>
public class ProbeReportTests
{
    private static string Report(string stream) => $$"""{"programs": [], "streams": [{{stream}}]}""";

    [Theory]
    [InlineData("video_landscape.mp4")]
    [InlineData("video_rot90.mp4")]
    public void TheSeedCorpusHoldsWhatProbeReads(string name)
    {
        // the seeds of tests/fuzz/corpus/video-probe are ffprobe's reports with Probe's own arguments
        var seed = File.ReadAllText(RepoLayout.Path("tests", "fuzz", "corpus", "video-probe", name + ".json"));
        Assert.Equal(VideoFrames.Probe(VisionGoldens.MediaPath("vision/media/" + name)), ProbeReport.Parse(seed, name));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""{"streams": {}}""")]
    [InlineData("""{"programs": []}""")]
    [InlineData("""{"streams": [3]}""")]
    [InlineData("""{"streams": [{"width": 4, "height": 4}]}""")]
    [InlineData("""{"streams": [{"width": 4, "height": 4, "avg_frame_rate": 25}]}""")]
    [InlineData("""{"streams": [{"width": 4, "height": 4, "avg_frame_rate": "25/1/2"}]}""")]
    [InlineData("""{"streams": [{"width": 4, "height": 4, "avg_frame_rate": "1e999/1"}]}""")]
    [InlineData("""{"streams": [{"width": 4, "height": 4, "avg_frame_rate": "NaN"}]}""")]
    [InlineData("""{"streams": [{"width": "4", "height": 4, "avg_frame_rate": "25/1"}]}""")]
    [InlineData("""{"streams": [{"width": 4.5, "height": 4, "avg_frame_rate": "25/1"}]}""")]
    [InlineData("""{"streams": [{"width": 4294967296, "height": 4, "avg_frame_rate": "25/1"}]}""")]
    [InlineData("""{"streams": [{"width": 0, "height": 4, "avg_frame_rate": "25/1"}]}""")]
    [InlineData("""{"streams": [{"height": 4, "avg_frame_rate": "25/1"}]}""")]
    [InlineData("""{"streams": [""")]
    public void ABadReportIsRefusedNamingTheVideo(string json)
    {
        var e = Assert.Throws<IxcException>(() => ProbeReport.Parse(json, "v.mp4"));
        Assert.StartsWith("v.mp4: ", e.Message);
    }

    [Fact]
    public void OddButHarmlessFieldsAreIgnored()
    {
        var info = ProbeReport.Parse(Report("""{"width": 4, "height": 6, "avg_frame_rate": "0/0", "r_frame_rate": "30000/1001", "nb_frames": 7, """
            + "\"side_data_list\": [5, {\"rotation\": \"x\"}, {\"rotation\": 90}]}"), "v.mp4");
        Assert.Equal(new VideoInfo(30000 / 1001.0, 6, 4, null, 90), info);
    }

    [Fact]
    public void AFrameCountPastAFrameIndexIsNoHint()
    {
        // a container may claim any nb_frames: it only picks the first pass's frames, and one past int is dropped
        var info = ProbeReport.Parse(Report("""{"width": 4, "height": 4, "avg_frame_rate": "1/1", "nb_frames": "3000000000"}"""), "v.mp4");
        Assert.Null(info.FrameCountHint);
        Assert.Equal(2_147_483_647L, ProbeReport.Parse(Report("""{"width": 4, "height": 4, "avg_frame_rate": "1/1", "nb_frames": "2147483647"}"""), "v.mp4").FrameCountHint);
    }

    [Fact]
    public void SamplingAHugeCountIsComputedNotListed()
    {
        // 5e9 frames at 1e9 fps: positions 0..4e9, past what a frame index holds (was an OverflowException)
        var e = Assert.Throws<IxcException>(() => VideoFrames.SampleIndices(5_000_000_000, 1e9));
        Assert.Contains("5000000000 frames", e.Message);
        Assert.Throws<IxcException>(() => VideoFrames.SampleIndices(long.MaxValue, 30));
        // the largest count whose sampled frames are all indexable, in no time (the old loop listed 2^31 / 30 positions)
        var idx = VideoFrames.SampleIndices(int.MaxValue, 30);
        Assert.Equal(32, idx.Length);
        double step = ((int.MaxValue - 1L) / 30 + 1) / 33.0;
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (int)(i * step) * 30), idx);
        Assert.Throws<IxcException>(() => VideoFrames.SampleIndices(10, 1, maxFrames: 0));
    }

    [Fact]
    public void TheFrameBufferIsCheckedBeforeAllocation()
    {
        var big = new VideoInfo(25, 65536, 65536, null);
        Assert.Contains("pixel limit", Assert.Throws<IxcException>(() => VideoFrames.FrameBytes(big, "v.mp4", DecodeOptions.Default)).Message);
        // a raised pixel limit: the frame must still fit one buffer (was a checked-int OverflowException)
        Assert.Contains("more than one buffer", Assert.Throws<IxcException>(() => VideoFrames.FrameBytes(big, "v.mp4", new DecodeOptions(long.MaxValue))).Message);
        Assert.Equal(320 * 240 * 3, VideoFrames.FrameBytes(new VideoInfo(25, 320, 240, 125), "v.mp4", DecodeOptions.Default));
    }
}
