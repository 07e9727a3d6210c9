using System.Globalization;
using System.Text;
using System.Text.Json;

namespace IXC25.GpuCheck.Bench;

/// <summary>
/// The bench's table on stdout and, when a path is given, one JSON object per case in that file (the fields
/// torch_side.py writes too; side_by_side.py joins the two): side, backend, device, dims, case, kind, tokens, context,
/// median_s, runs, flops, bytes, tokens_per_s, tflops, gbps, bandwidth_fraction and bf16_peak_fraction (null when the
/// device's peaks are unknown), peak_source.
/// </summary>
internal sealed class BenchReport(string side, string backend, string device, string dims, DevicePeaks? peaks, string? jsonPath)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly StringBuilder _json = new();

    public void Header(string setup)
    {
        Console.WriteLine($"bench {side}: backend {backend}, dims {dims}; {setup}");
        Console.WriteLine(peaks is null
            ? $"peaks: none known for '{device}' (give --device NAME or --peak-bw TB/s): fractions not printed"
            : $"peaks: {peaks.BandwidthBytesPerS / 1e12:0.###} TB/s{(peaks.Bf16FlopsPerS is { } f ? $", {f / 1e12:0} bf16 TFLOP/s dense" : "")} ({peaks.Source})");
        Console.WriteLine($"{"case",-30} {"median ms",10} {"runs",4} {"tok/s",10} {"TFLOP/s",8} {"%bf16pk",7} {"MB moved",9} {"GB/s",8} {"%bw",6}");
    }

    public void Row(BenchCase c, double seconds, int runs, double flops, double bytes)
    {
        double tflops = flops / seconds / 1e12, gbps = bytes / seconds / 1e9;
        double? bw = peaks is null ? null : bytes / seconds / peaks.BandwidthBytesPerS;
        double? pk = peaks?.Bf16FlopsPerS is { } p ? flops / seconds / p : null;
        // TFLOP/s with three decimals, or three significant digits below 0.01 (the simulator's and small presets' rates)
        static string Flops(double t) => t >= 0.01 ? t.ToString("0.000", Inv) : t.ToString("0.00e0", Inv);
        string Pct(double? f) => f is { } v ? (100 * v).ToString("0.0", Inv) : "-";
        Console.WriteLine(string.Create(Inv, $"{c.Label,-30} {seconds * 1e3,10:0.000} {runs,4} {c.Tokens / seconds,10:0.0} {Flops(tflops),8} {Pct(pk),7} {bytes / 1e6,9:0.0} {gbps,8:0.0} {Pct(bw),6}"));
        using var ms = new MemoryStream();
        using (var j = new Utf8JsonWriter(ms))
        {
            j.WriteStartObject();
            j.WriteString("side", side);
            j.WriteString("backend", backend);
            j.WriteString("device", device);
            j.WriteString("dims", dims);
            j.WriteString("case", c.Name);
            j.WriteString("kind", c.Kind.ToString().ToLowerInvariant());
            j.WriteNumber("tokens", c.Tokens);
            j.WriteNumber("context", c.Past);
            j.WriteNumber("median_s", seconds);
            j.WriteNumber("runs", runs);
            j.WriteNumber("flops", flops);
            j.WriteNumber("bytes", bytes);
            j.WriteNumber("tokens_per_s", c.Tokens / seconds);
            j.WriteNumber("tflops", tflops);
            j.WriteNumber("gbps", gbps);
            if (bw is { } b) j.WriteNumber("bandwidth_fraction", b); else j.WriteNull("bandwidth_fraction");
            if (pk is { } k) j.WriteNumber("bf16_peak_fraction", k); else j.WriteNull("bf16_peak_fraction");
            if (peaks is null) j.WriteNull("peak_source"); else j.WriteString("peak_source", peaks.Source);
            j.WriteEndObject();
        }
        _json.Append(Encoding.UTF8.GetString(ms.ToArray())).Append('\n');
    }

    /// <summary>Writes the JSON lines (all at once, so that a bench cut short leaves no half file).</summary>
    public void Close()
    {
        if (jsonPath is null) return;
        string tmp = jsonPath + ".tmp";
        File.WriteAllText(tmp, _json.ToString());
        File.Move(tmp, jsonPath, overwrite: true);
    }
}
