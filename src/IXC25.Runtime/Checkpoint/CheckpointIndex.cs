using System.Text.Json;

namespace IXC25.Runtime.Checkpoints;

/// <summary>
/// The index json that Hugging Face writes beside a sharded checkpoint
/// (<c>model.safetensors.index.json</c> or <c>pytorch_model.bin.index.json</c>):
/// <c>{"metadata": {"total_size": bytes, ...}, "weight_map": {tensor name: shard file}}</c>.
/// Loading it opens no shard, so it works when the shards are absent (e.g. only config.json and the
/// index were downloaded): the names and shard files are enough to count parameters against a spec.
/// <para>Guarantees: the JSON is an object with a non-empty <c>weight_map</c> of string values; no tensor
/// name appears twice; every shard file is a relative path inside the checkpoint directory (no rooted
/// path, no ".."); <c>metadata.total_size</c>, when present, is a non-negative integer. Anything else
/// is an <see cref="IxcException"/> naming the index file and the offending entry.</para>
/// </summary>
public sealed class CheckpointIndex
{
    public const string SafetensorsIndexName = "model.safetensors.index.json";
    public const string TorchIndexName = "pytorch_model.bin.index.json";

    private readonly Dictionary<string, string> _weightMap;
    private readonly Dictionary<string, List<string>> _byShard;

    private CheckpointIndex(string path, CheckpointFormat format, List<string> names, Dictionary<string, string> weightMap,
                            Dictionary<string, List<string>> byShard, List<string> shards, long? totalSize, Dictionary<string, string> metadata)
    {
        Path = path;
        Directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Format = format;
        Names = names;
        _weightMap = weightMap;
        _byShard = byShard;
        ShardFiles = shards;
        TotalSize = totalSize;
        Metadata = metadata;
    }

    /// <summary>The index file.</summary>
    public string Path { get; }

    /// <summary>The folder holding the index (shard files are relative to it).</summary>
    public string Directory { get; }

    /// <summary><see cref="CheckpointFormat.Safetensors"/> or <see cref="CheckpointFormat.TorchBin"/>.</summary>
    public CheckpointFormat Format { get; }

    /// <summary>Tensor names in the order of the weight_map (Hugging Face writes them sorted).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Tensor name → shard file (relative to <see cref="Directory"/>).</summary>
    public IReadOnlyDictionary<string, string> WeightMap => _weightMap;

    /// <summary>Distinct shard files in order of first appearance in the weight_map.</summary>
    public IReadOnlyList<string> ShardFiles { get; }

    /// <summary><c>metadata.total_size</c> (bytes of tensor data as the writer counted them), or null when absent. Not checked against the shards.</summary>
    public long? TotalSize { get; }

    /// <summary>Every <c>metadata</c> entry: strings as they are, other values as their JSON text.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Names the index assigns to <paramref name="shardFile"/>, in weight_map order (empty for an unknown file).</summary>
    public IReadOnlyList<string> NamesInShard(string shardFile) => _byShard.TryGetValue(shardFile, out var l) ? l : [];

    /// <summary>
    /// Loads the index of the checkpoint in <paramref name="directory"/>: with <see cref="CheckpointFormat.Auto"/>
    /// the safetensors index if present, else the torch one.
    /// </summary>
    public static CheckpointIndex Load(string directory, CheckpointFormat format = CheckpointFormat.Auto)
    {
        if (!System.IO.Directory.Exists(directory)) throw new IxcException($"{directory}: no such directory");
        string st = System.IO.Path.Combine(directory, SafetensorsIndexName), pt = System.IO.Path.Combine(directory, TorchIndexName);
        return format switch
        {
            CheckpointFormat.Safetensors => LoadFile(st, format),
            CheckpointFormat.TorchBin => LoadFile(pt, format),
            _ when File.Exists(st) => LoadFile(st, CheckpointFormat.Safetensors),
            _ when File.Exists(pt) => LoadFile(pt, CheckpointFormat.TorchBin),
            _ => throw new IxcException($"{directory}: no checkpoint index ({SafetensorsIndexName} or {TorchIndexName})"),
        };
    }

    /// <summary>Loads an index file. With <see cref="CheckpointFormat.Auto"/> the format comes from the file name
    /// (<c>*.safetensors.index.json</c> / <c>*.bin.index.json</c>) or, failing that, from the shard file extensions.</summary>
    public static CheckpointIndex LoadFile(string path, CheckpointFormat format = CheckpointFormat.Auto)
    {
        if (!File.Exists(path)) throw new IxcException($"{path}: checkpoint index not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IxcException($"{path}: cannot read: {e.Message}", e); }
        if (IO.Utf8Text.FirstInvalidByte(bytes) is int bad)
            throw new IxcException($"{path}: checkpoint index is not valid UTF-8 (byte {bad}, 0x{bytes[bad]:X2})");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e) { throw new IxcException($"{path}: checkpoint index is not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new IxcException($"{path}: checkpoint index is not a JSON object");
            if (!root.TryGetProperty("weight_map", out var wm) || wm.ValueKind != JsonValueKind.Object)
                throw new IxcException($"{path}: checkpoint index has no \"weight_map\" object");

            var names = new List<string>();
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            var byShard = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var shards = new List<string>();
            foreach (var e in wm.EnumerateObject())
            {
                if (e.Value.ValueKind != JsonValueKind.String)
                    throw new IxcException($"{path}: weight_map['{e.Name}'] is {e.Value.ValueKind}, expected a shard file name");
                string shard = e.Value.GetString()!;
                CheckShardName(path, e.Name, shard);
                if (!map.TryAdd(e.Name, shard)) throw new IxcException($"{path}: tensor '{e.Name}' is listed twice in weight_map");
                names.Add(e.Name);
                if (!byShard.TryGetValue(shard, out var list))
                {
                    byShard[shard] = list = [];
                    shards.Add(shard);
                }
                list.Add(e.Name);
            }
            if (names.Count == 0) throw new IxcException($"{path}: checkpoint index has an empty weight_map");

            long? total = null;
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var md) && md.ValueKind != JsonValueKind.Null)
            {
                if (md.ValueKind != JsonValueKind.Object) throw new IxcException($"{path}: checkpoint index \"metadata\" is not an object");
                foreach (var m in md.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                if (md.TryGetProperty("total_size", out var ts) && ts.ValueKind != JsonValueKind.Null)
                    total = ReadTotal(path, ts);
            }

            if (format == CheckpointFormat.Auto) format = FormatOf(path, shards);
            return new CheckpointIndex(path, format, names, map, byShard, shards, total, metadata);
        }
    }

    private static long ReadTotal(string path, JsonElement ts)
    {
        if (ts.ValueKind == JsonValueKind.Number)
        {
            if (ts.TryGetInt64(out long v) && v >= 0) return v;
            // some writers store it as a float ("1.5e10"); accept an integral, in-range value
            if (ts.TryGetDouble(out double d) && d >= 0 && d < 9.0e18 && Math.Floor(d) == d) return (long)d;
        }
        throw new IxcException($"{path}: metadata.total_size is {ts.GetRawText()}, expected a non-negative integer");
    }

    private static void CheckShardName(string path, string tensor, string shard)
    {
        bool bad = shard.Length == 0 || System.IO.Path.IsPathRooted(shard) || shard.Contains('\\') || shard.Contains('\0')
                   || shard.Split('/').Any(part => part is "" or "." or "..");
        if (bad) throw new IxcException($"{path}: weight_map['{tensor}'] names shard '{shard}', which is not a relative file path inside the checkpoint directory");
    }

    private static CheckpointFormat FormatOf(string path, List<string> shards)
    {
        string name = System.IO.Path.GetFileName(path);
        if (name.EndsWith(".safetensors.index.json", StringComparison.Ordinal)) return CheckpointFormat.Safetensors;
        if (name.EndsWith(".bin.index.json", StringComparison.Ordinal)) return CheckpointFormat.TorchBin;
        if (shards.All(s => s.EndsWith(".safetensors", StringComparison.Ordinal))) return CheckpointFormat.Safetensors;
        if (shards.All(s => s.EndsWith(".bin", StringComparison.Ordinal))) return CheckpointFormat.TorchBin;
        throw new IxcException($"{path}: cannot tell whether this index lists safetensors or torch .bin shards; name it *.safetensors.index.json or *.bin.index.json");
    }
}
