using System.Text;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Video;

namespace IXC25.Fuzz.Targets;

/// <summary>
/// video-probe: the bytes as ffprobe's JSON report on a video (decoded as UTF-8 with replacement characters, as
/// the process's output is read), through everything that runs on it before ffmpeg is started: ProbeReport.Parse,
/// the frame buffer size against the pixel limit (VideoFrames.FrameBytes), the first pass's sampled frames from
/// the container's frame count (VideoFrames.SampleIndices), frame2img's frame size and the video partition plan.
/// </summary>
public sealed class VideoProbeTarget : IFuzzTarget
{
    public string Name => "video-probe";
    public string Description => "ffprobe's JSON report: ProbeReport.Parse, VideoFrames.FrameBytes and SampleIndices, VideoComposer.FrameSize";

    /// <summary>1 MiB + 64 per input byte: the report's JSON; the frame buffer is only sized (FrameBytes), never allocated.</summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 64);

    public void Execute(ReadOnlySpan<byte> data)
    {
        var info = ProbeReport.Parse(Encoding.UTF8.GetString(data), "fuzz.mp4");
        _ = VideoFrames.FrameBytes(info, "fuzz.mp4", DecodeOptions.Default);
        _ = VideoFrames.SampleIndices(info.FrameCountHint ?? 0, info.Fps);
        var (w, h) = VideoComposer.FrameSize(info.Width, info.Height);
        _ = HdPartition.PlanVideo(w, h);
    }
}
