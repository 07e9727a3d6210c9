using System.Text.Json;
using IXC25.Runtime;

namespace IXC25.GpuCheck.Bench;

/// <summary>
/// One preset of bench/gpu/dims.json: the decoder's and the ViT's dimensions and the workloads (letters as spec/model.json:
/// C hidden, H query heads, HKV key/value heads, D = C / H, F FFN width, V vocabulary; CV, HV, FV the ViT's).
/// </summary>
internal sealed record Workloads(string Preset, int C, int H, int HKV, int F, int V, int CV, int HV, int FV,
    int[] Prefill, int[] Decode, int VitTokens, int HeadRows)
{
    public int D => C / H;
    public int QKV => (H + 2 * HKV) * D;

    /// <summary>The preset named <paramref name="preset"/> of the dims file (bench/gpu/dims.json, copied beside the executable).</summary>
    public static Workloads Load(string preset, string? path = null)
    {
        path ??= DefaultPath;
        if (!File.Exists(path)) throw new IxcException($"{path}: the workload file is missing (bench/gpu/dims.json is published beside the executable)");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (!doc.RootElement.GetProperty("dims").TryGetProperty(preset, out var d))
            throw new IxcException($"--dims {preset}: not a preset of {path} ({string.Join(", ", doc.RootElement.GetProperty("dims").EnumerateObject().Select(p => p.Name))})");
        int I(string k) => d.GetProperty(k).GetInt32();
        int[] A(string k) => d.GetProperty(k).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var w = new Workloads(preset, I("C"), I("H"), I("HKV"), I("F"), I("V"), I("CV"), I("HV"), I("FV"), A("prefill"), A("decode"), I("vit_tokens"), I("head_rows"));
        if (w.C % w.H != 0 || w.H % w.HKV != 0 || w.CV % w.HV != 0)
            throw new IxcException($"{path}: preset {preset}: C must divide into H heads, H into HKV groups and CV into HV heads");
        return w;
    }

    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "dims.json");
}

/// <summary>A device's peaks from the device table of bench/gpu/dims.json (or given on the command line).</summary>
/// <param name="Source">Where the numbers come from, as the report prints it.</param>
internal sealed record DevicePeaks(string Source, double BandwidthBytesPerS, double? Bf16FlopsPerS)
{
    /// <summary>The first row of the table whose "match" the device name contains, or null.</summary>
    public static DevicePeaks? Lookup(string deviceName, string? path = null)
    {
        path ??= Workloads.DefaultPath;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        foreach (var row in doc.RootElement.GetProperty("devices").GetProperty("table").EnumerateArray())
            if (deviceName.Contains(row.GetProperty("match").GetString()!, StringComparison.OrdinalIgnoreCase))
                return new DevicePeaks($"{row.GetProperty("name").GetString()} from bench/gpu/dims.json",
                    row.GetProperty("bandwidth_tbps").GetDouble() * 1e12, row.GetProperty("bf16_tflops").GetDouble() * 1e12);
        return null;
    }
}
