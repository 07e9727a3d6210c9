using System.Globalization;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Loading;

/// <summary>
/// What `ixc25 info` reports: config summary, parameter counts per module from the spec's catalog
/// (so a folder with only config.json and an index is enough), storage dtype and format, and the
/// RAM needed to run.
/// </summary>
public sealed class ModelReport
{
    public required Ixc25Config Config { get; init; }
    public required Ixc25Dims Dims { get; init; }
    /// <summary>(module path, parameter count) for the base model, in tree order.</summary>
    public required IReadOnlyList<(string Module, long Params)> Modules { get; init; }
    public required long BaseParams { get; init; }
    /// <summary>Optional groups present in the checkpoint and their parameter counts (null when ranks are unknown).</summary>
    public required IReadOnlyList<(string Group, long? Params)> Groups { get; init; }
    public required string FormatDescription { get; init; }
    public required string StorageDType { get; init; }
    public required int BytesPerParam { get; init; }
    public required bool WeightsPresent { get; init; }
    public required string Validation { get; init; }
    public required MemoryEstimate Memory { get; init; }
    /// <summary>How the weights are held: the quantized linears and their bytes, the rest as stored.</summary>
    public required WeightMemory WeightMemory { get; init; }

    /// <summary>Builds the report; binds and validates the weights when the shards are present. <paramref name="weights"/>
    /// (--weights) reports the memory with the linears quantized at load (a quantized checkpoint takes only its own format).</summary>
    public static ModelReport Build(ModelDirectory dir, int contextTokens, DType kvDType, QuantFormat? weights = null)
    {
        dir.CheckWeights(weights);   // before anything is opened
        var catalog = Ixc25Weights.Catalog(dir.Dims);
        // a quantized checkpoint's index names '<key>.qs' + '<key>.scales' for a weight '<key>'
        var storedQuantized = new HashSet<string>(StringComparer.Ordinal);
        var names = (dir.Index?.Names ?? (dir.HasWeights ? dir.Checkpoint.Names : [])).Where(n => QuantLayout.KeyOfScales(n) is null)
            .Select(n => QuantLayout.KeyOfQs(n) is { } k && dir.Quantization is not null && storedQuantized.Add(k) ? k : n).ToList();
        var nameSet = new HashSet<string>(names, StringComparer.Ordinal);

        var modules = new List<(string, long)>();
        long total = 0;
        foreach (var g in catalog.Where(p => p.Group is null).GroupBy(p => ModuleOf(p.Path)))
        {
            long n = g.Sum(p => p.Numel!.Value);
            modules.Add((g.Key, n));
            total += n;
        }

        string validation = "not checked (shards absent)";
        Ixc25Weights? bound = null;
        string storage = dir.Config.TorchDtype switch { "bfloat16" => "bf16", "float16" => "f16", "float32" => "f32", var s => s };
        if (dir.HasWeights)
        {
            var b = bound = dir.BindWeights();
            validation = $"ok: {catalog.Count(p => p.Group is null || b.Groups.Contains(p.Group))} tensors match the spec";
            var dtypes = dir.Checkpoint.Infos.Select(i => i.DType).Distinct().OrderBy(d => d).ToList();
            storage = string.Join("+", dtypes.Select(d => d.SpecName()));
            if (dir.Quantization is { } q) storage += $" ({q} blocks: {QuantLayout.QsDType(q).SpecName()} values, {QuantLayout.ScaleDType.SpecName()} scales)";
        }
        int bytesPer = storage switch { "bf16" or "f16" => 2, "f32" => 4, _ => 2 };

        var groups = new List<(string, long?)>();
        foreach (var g in catalog.Where(p => p.Group is not null).GroupBy(p => p.Group!))
        {
            bool present = bound?.Groups.Contains(g.Key) ?? g.Any(p => nameSet.Contains(p.Key));
            if (!present) continue;
            long? n = bound is null ? null : g.Sum(p => Numel(p, bound.Dims));
            groups.Add((g.Key, n));
        }

        string format = dir.Format == CheckpointFormat.Safetensors ? "safetensors" : "torch .bin (zip/pickle)";
        format += dir.Index is null ? ", single file" : $", {dir.Index.ShardFiles.Count} shard{(dir.Index.ShardFiles.Count == 1 ? "" : "s")}";
        // every tensor with its stored dtype (from the shards, else the config's torch_dtype)
        var tensors = new List<(string, long[], DType)>();
        if (bound is not null)
        {
            foreach (var n in dir.Source.Names)
                if (dir.Source.TryGetInfo(n, out var dt, out var sh)) tensors.Add((n, sh, dt));
        }
        else
        {
            var dt = bytesPer == 4 ? DType.F32 : storage == "f16" ? DType.F16 : DType.BF16;
            foreach (var p in catalog.Where(p => p.Group is null)) tensors.Add((p.Key, [.. p.Shape.Select(d => d.Value)], dt));
        }
        var wm = WeightMemory.For(dir, tensors, storedQuantized, weights);
        return new ModelReport
        {
            Config = dir.Config,
            Dims = dir.Dims,
            Modules = modules,
            BaseParams = total,
            Groups = groups,
            FormatDescription = format,
            StorageDType = storage,
            BytesPerParam = bytesPer,
            WeightsPresent = dir.HasWeights,
            Validation = validation,
            WeightMemory = wm,
            Memory = MemoryEstimate.For(dir.Dims, wm.Total, contextTokens, kvDType) with
            {
                WeightsNote = wm.Format is null ? "memory-mapped, stored dtype" : wm.FromCheckpoint ? $"{wm.Format} blocks and the rest, memory-mapped" : $"{wm.Format} blocks made at load and the rest as stored",
            },
        };
    }

    private static long Numel(ParamInfo p, Ixc25Dims d)
    {
        long n = 1;
        foreach (var s in p.Shape) n = checked(n * (s.IsFree ? d.Get(s.Free!) ?? 0 : s.Value));
        return n;
    }

    /// <summary>"llm.layers[3].wqkv.weight" -> "llm.layers"; "vision.class_embedding" -> "vision.class_embedding".</summary>
    private static string ModuleOf(string path)
    {
        var parts = path.Split('.');
        if (parts.Length < 2) return path;
        string second = parts[1];
        int br = second.IndexOf('[');
        return parts[0] + "." + (br >= 0 ? second[..br] : second);
    }

    public string ToText()
    {
        var ci = CultureInfo.InvariantCulture;
        var c = Config;
        var d = Dims;
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("model");
        sb.AppendLine(ci, $"  llm          InternLM2: {d.L} layers, hidden {d.C}, ffn {d.F}, heads {d.H} (kv {d.HKV}, head dim {d.D}), vocab {d.V}");
        sb.AppendLine(ci, $"  rope         theta {c.RopeTheta.ToString(ci)}, scaling {c.RopeScalingType ?? "none"}{(c.RopeScalingFactor is { } f ? " x" + f.ToString(ci) : "")}, max_position_embeddings {c.MaxPositionEmbeddings}, max_length {c.MaxLength}");
        sb.AppendLine(ci, $"  vision       CLIP ViT: {d.LV} layers, hidden {d.CV}, mlp {d.FV}, heads {d.HV}, image {d.S} px, patch {d.PZ} ({d.NP} patches)");
        sb.AppendLine(ci, $"  partial lora rank {d.R} on wqkv, wo, w1, w2, w3 (image tokens only)");
        sb.AppendLine("parameters");
        foreach (var (m, n) in Modules) sb.AppendLine(ci, $"  {m,-26} {n,16:N0}");
        sb.AppendLine(ci, $"  {"total (without task LoRAs)",-26} {BaseParams,16:N0}  ({BaseParams.ToString("0.000e0", ci)})");
        foreach (var (g, n) in Groups)
            sb.AppendLine(ci, $"  {"task LoRA " + g,-26} {(n is null ? "present (ranks need the shards)" : n.Value.ToString("N0", ci)),16}");
        sb.AppendLine("checkpoint");
        sb.AppendLine(ci, $"  format       {FormatDescription}");
        sb.AppendLine(ci, $"  storage      {StorageDType}{(WeightsPresent ? "" : " (from config torch_dtype)")}");
        sb.AppendLine(ci, $"  validation   {Validation}");
        sb.AppendLine("weights");
        sb.Append(WeightMemory.ToText("  "));
        sb.AppendLine("memory to run (estimate)");
        sb.Append(Memory.ToText("  "));
        return sb.ToString();
    }
}
