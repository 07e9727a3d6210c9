using System.Diagnostics;
using IXC25.Runtime;
using IXC25.Runtime.Processes;
using IXC25.Vision.Imaging;

namespace IXC25.Vision.Video;

/// <summary>What ffprobe reports about the first video stream.</summary>
/// <param name="Fps">Average frame rate (<c>avg_frame_rate</c>, falling back to <c>r_frame_rate</c>), as decord's <c>get_avg_fps</c>.</param>
/// <param name="Width">Width of the frames as delivered: the coded width, or the coded height when the
/// container's rotation metadata turns the frames by 90 or 270 degrees (decord applies the rotation, as
/// ffmpeg's default autorotation does).</param>
/// <param name="Height">Height of the frames as delivered.</param>
/// <param name="Rotation">The container's rotation in degrees (display matrix), 0 when none.</param>
/// <param name="FrameCountHint">The container's <c>nb_frames</c>, or null when it has none (only a hint; frames are counted while decoding).</param>
public sealed record VideoInfo(double Fps, int Width, int Height, long? FrameCountHint, int Rotation = 0);

/// <summary>
/// Video frames through the system <c>ffmpeg</c>/<c>ffprobe</c> (installed by scripts/setup.sh), with
/// upstream's sampling (<c>load_video</c> in ixc_utils.py, which uses decord): one frame per second
/// (stride <c>round(fps)</c> over the decoded frames), and when more than 32 remain, the 32 at
/// <c>int(i * n / 33)</c>. Frames are RGB24 exactly as ffmpeg's rawvideo output; no frame-rate
/// conversion (<c>-fps_mode passthrough</c>); rotation metadata applied (ffmpeg's default, and decord's).
/// </summary>
public static class VideoFrames
{
    public const int MaxFrames = 32;

    /// <summary>File extensions upstream treats as video (modeling_internlm_xcomposer2.py).</summary>
    public static readonly IReadOnlySet<string> Extensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".mp4", ".avi", ".mkv", ".mov", ".wmv" };

    public static VideoInfo Probe(string path, DecodeOptions? limits = null)
    {
        CheckReadable(path);
        string json = Run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", ProbeReport.Entries, "-of", "json", Input(path)],
            path, (limits ?? DecodeOptions.Default).Timeout, out _);
        return ProbeReport.Parse(json, path);
    }

    /// <summary>
    /// Upstream's choice of frames among <paramref name="frameCount"/> decoded frames at <paramref name="fps"/>:
    /// positions 0, s, 2s, ... (s = round(fps), Python's round half to even) and, when more than
    /// <paramref name="maxFrames"/>, the ones at <c>int(i * m / (maxFrames + 1))</c> for i &lt; maxFrames.
    /// </summary>
    public static int[] SampleIndices(long frameCount, double fps, int maxFrames = MaxFrames)
    {
        if (maxFrames < 1) throw new IxcException($"at most {maxFrames} frames: at least 1 must be sampled");
        int stride = (int)Math.Round(fps, MidpointRounding.ToEven);
        if (stride < 1) throw new IxcException($"a frame rate of {fps} gives a sampling stride of {stride} frames (upstream needs at least 1 frame per second)");
        // the one-per-second positions j * stride, j < count, computed rather than listed (a container may claim any count)
        long count = frameCount <= 0 ? 0 : (frameCount - 1) / stride + 1;
        long[] picked;
        if (count <= maxFrames)
        {
            picked = new long[count];
            for (int j = 0; j < count; j++) picked[j] = (long)j * stride;
        }
        else
        {
            double step = (double)count / (maxFrames + 1);
            picked = new long[maxFrames];
            for (int i = 0; i < maxFrames; i++) picked[i] = (long)(i * step) * stride;
        }
        if (picked.Length > 0 && picked[^1] > int.MaxValue)
            throw new IxcException($"a video of {frameCount} frames: frame {picked[^1]} would be sampled, past the {int.MaxValue} frames this engine indexes");
        return [.. picked.Select(p => (int)p)];
    }

    /// <summary>The bytes of one RGB24 frame of <paramref name="info"/>, checked against the pixel limit before anything is allocated.</summary>
    public static int FrameBytes(VideoInfo info, string path, DecodeOptions limits)
    {
        long pixels = (long)info.Width * info.Height;
        if (pixels > limits.MaxPixels)
            throw new IxcException($"{path}: video frames of {info.Width}x{info.Height} exceed the pixel limit of {limits.MaxPixels}");
        if (pixels * 3 > Array.MaxLength)
            throw new IxcException($"{path}: video frames of {info.Width}x{info.Height} need {pixels * 3} bytes each, more than one buffer holds");
        return (int)(pixels * 3);
    }

    /// <summary>Decodes the video and returns upstream's sampled frames (at most <paramref name="maxFrames"/>).</summary>
    public static List<RgbImage> Load(string path, int maxFrames = MaxFrames, DecodeOptions? limits = null)
    {
        limits ??= DecodeOptions.Default;
        var info = Probe(path, limits);
        int frameBytes = FrameBytes(info, path, limits);
        // One pass when the container's frame count is right (the usual case); otherwise a second pass
        // with the count measured by the first.
        long guess = info.FrameCountHint ?? 0;
        var wanted = SampleIndices(guess, info.Fps, maxFrames);
        var (frames, decoded) = Decode(path, info, frameBytes, wanted, limits.Timeout);
        var exact = SampleIndices(decoded, info.Fps, maxFrames);
        if (!exact.AsSpan().SequenceEqual(wanted))
        {
            (frames, long again) = Decode(path, info, frameBytes, exact, limits.Timeout);
            if (again != decoded) throw new IxcException($"{path}: ffmpeg decoded {decoded} frames, then {again}: the video cannot be read reproducibly");
        }
        if (frames.Count == 0) throw new IxcException($"{path}: the video has no frames");
        return frames;
    }

    /// <summary>Every decoded frame's index and pixels are streamed; the ones in <paramref name="keep"/> are returned. Also returns the number of frames decoded.</summary>
    private static (List<RgbImage> Frames, long Decoded) Decode(string path, VideoInfo info, int frameBytes, int[] keep, TimeSpan timeout)
    {
        var keepSet = new HashSet<int>(keep);
        var frames = new List<RgbImage>();
        var psi = Start("ffmpeg", ["-v", "error", "-nostdin", "-i", Input(path), "-map", "0:v:0", "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
        using var p = StartProcess(psi, path);
        using var tracked = Interrupts.Track(p);
        using var watchdog = new Watchdog(p, timeout);
        var stderrTask = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.BaseStream;
        var buffer = new byte[frameBytes];
        long index = 0;
        while (true)
        {
            int got = stdout.ReadAtLeast(buffer, frameBytes, throwOnEndOfStream: false);
            if (got == 0) break;
            if (got < frameBytes) watchdog.ThrowIfFired(path, "ffmpeg");
            if (got < frameBytes) throw new IxcException($"{path}: ffmpeg stopped in the middle of frame {index} ({got} of {frameBytes} bytes)");
            if (keepSet.Contains((int)Math.Min(index, int.MaxValue))) frames.Add(new RgbImage(info.Width, info.Height, (byte[])buffer.Clone()));
            index++;
        }
        p.WaitForExit();
        string err = stderrTask.GetAwaiter().GetResult();
        watchdog.ThrowIfFired(path, "ffmpeg");
        if (p.ExitCode != 0) throw new IxcException($"{path}: ffmpeg failed ({FirstLine(err)})");
        return (frames, index);
    }

    /// <summary>The input argument of ffmpeg/ffprobe: the file protocol and the full path, so that no file name is
    /// read as an option ("-x.mp4"), a protocol ("http:x.mp4", "concat:a|b") or stdin ("-").</summary>
    private static string Input(string path) => "file:" + Path.GetFullPath(path);

    /// <summary>Ends a child (and every process it started) that runs longer than its time limit.</summary>
    private sealed class Watchdog : IDisposable
    {
        private readonly Timer _timer;
        private readonly TimeSpan _limit;
        private volatile bool _fired;

        public Watchdog(Process p, TimeSpan limit)
        {
            _limit = limit;
            _timer = new Timer(_ =>
            {
                try { if (p.HasExited) return; } catch (InvalidOperationException) { return; }
                _fired = true;
                try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
            }, null, limit, System.Threading.Timeout.InfiniteTimeSpan);
        }

        public void ThrowIfFired(string path, string exe)
        {
            if (_fired) throw new IxcException(FormattableString.Invariant($"{path}: {exe} did not finish within {_limit.TotalSeconds:0.###} s and was ended with every process it started"));
        }

        public void Dispose() => _timer.Dispose();
    }

    private static ProcessStartInfo Start(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private static Process StartProcess(ProcessStartInfo psi, string path)
    {
        try { return Process.Start(psi) ?? throw new IxcException($"{path}: cannot start {psi.FileName}"); }
        catch (System.ComponentModel.Win32Exception e)
        { throw new IxcException($"{path}: cannot run '{psi.FileName}' ({e.Message}); install ffmpeg (scripts/setup.sh does)", e); }
    }

    private static string Run(string exe, string[] args, string path, TimeSpan timeout, out string stderr)
    {
        using var p = StartProcess(Start(exe, args), path);
        using var tracked = Interrupts.Track(p);
        using var watchdog = new Watchdog(p, timeout);
        var errTask = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        stderr = errTask.GetAwaiter().GetResult();
        watchdog.ThrowIfFired(path, exe);
        if (p.ExitCode != 0) throw new IxcException($"{path}: {exe} cannot read the video ({FirstLine(stderr)})");
        return output;
    }

    private static void CheckReadable(string path)
    {
        if (!File.Exists(path)) throw new IxcException($"{path}: no such video file");
        try { using var _ = File.OpenRead(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new IxcException($"{path}: cannot read the video file ({e.Message})", e); }
    }

    private static string FirstLine(string s)
    {
        var line = s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        return string.IsNullOrEmpty(line) ? "no message" : line;
    }
}
