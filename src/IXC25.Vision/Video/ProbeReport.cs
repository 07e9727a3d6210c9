using System.Globalization;
using System.Text.Json;
using IXC25.Runtime;

namespace IXC25.Vision.Video;

/// <summary>
/// ffprobe's JSON report on the first video stream (<c>-show_entries stream=avg_frame_rate,r_frame_rate,width,height,nb_frames:stream_side_data=rotation -of json</c>)
/// read into a <see cref="VideoInfo"/>. The report is outside data (it repeats what the container says), so every
/// shape of it is either a <see cref="VideoInfo"/> or an <see cref="IxcException"/> naming the video (fuzz target <c>video-probe</c>).
/// </summary>
public static class ProbeReport
{
    /// <summary>The <c>-show_entries</c> argument whose report <see cref="Parse"/> reads.</summary>
    public const string Entries = "stream=avg_frame_rate,r_frame_rate,width,height,nb_frames:stream_side_data=rotation";

    /// <summary>Reads the report <paramref name="json"/> ffprobe wrote about <paramref name="path"/>.</summary>
    public static VideoInfo Parse(string json, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("streams", out var streams)
                || streams.ValueKind != JsonValueKind.Array)
                throw new IxcException($"{path}: cannot understand ffprobe's report (no list of streams)");
            if (streams.GetArrayLength() == 0) throw new IxcException($"{path}: no video stream");
            var s = streams[0];
            if (s.ValueKind != JsonValueKind.Object) throw new IxcException($"{path}: cannot understand ffprobe's report (the stream is not an object)");
            double fps = ParseRate(s, "avg_frame_rate", path);
            if (!(fps > 0)) fps = ParseRate(s, "r_frame_rate", path);
            if (!(fps > 0) || double.IsInfinity(fps)) throw new IxcException($"{path}: the video stream reports no usable frame rate");
            int w = Int(s, "width", path), h = Int(s, "height", path);
            if (w <= 0 || h <= 0) throw new IxcException($"{path}: the video stream has an empty frame size {w}x{h}");
            // only a hint for the first decoding pass (frames are counted while decoding): one past what a frame index holds is dropped
            long? n = s.TryGetProperty("nb_frames", out var nf) && nf.ValueKind == JsonValueKind.String
                && long.TryParse(nf.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v > 0 && v <= int.MaxValue ? v : null;
            int rotation = 0;
            if (s.TryGetProperty("side_data_list", out var sideData) && sideData.ValueKind == JsonValueKind.Array)
                foreach (var sd in sideData.EnumerateArray())
                    if (sd.ValueKind == JsonValueKind.Object && sd.TryGetProperty("rotation", out var rot)
                        && rot.ValueKind == JsonValueKind.Number && rot.TryGetInt32(out int r)) { rotation = r; break; }
            if (rotation % 180 != 0) (w, h) = (h, w);
            return new VideoInfo(fps, w, h, n, rotation);
        }
        catch (JsonException e) { throw new IxcException($"{path}: cannot understand ffprobe's report ({e.Message})", e); }
    }

    private static int Int(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var e)) throw new IxcException($"{path}: ffprobe's report has no {name} for the video stream");
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int v))
            throw new IxcException($"{path}: ffprobe's report gives {name} {Clip(e.GetRawText())}, not a 32-bit integer");
        return v;
    }

    /// <summary>A rate "num/den" or "num" (ffprobe writes "0/0" for unknown); 0 when absent or unknown.</summary>
    private static double ParseRate(JsonElement s, string name, string path)
    {
        if (!s.TryGetProperty(name, out var e)) return 0;
        if (e.ValueKind != JsonValueKind.String) throw new IxcException($"{path}: ffprobe's report gives {name} {Clip(e.GetRawText())}, not a string \"num/den\"");
        string r = e.GetString()!;
        if (r == "0/0") return 0;
        var parts = r.Split('/');
        if (parts.Length > 2 || !TryNumber(parts[0], out double num) || !TryNumber(parts.Length > 1 ? parts[1] : "1", out double den))
            throw new IxcException($"{path}: ffprobe's report gives {name} {Clip(r)}, not \"num/den\"");
        return den == 0 ? 0 : num / den;
    }

    private static bool TryNumber(string s, out double v) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v);

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
