using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Checkpoints;

/// <summary>The two forms Hugging Face checkpoints ship in.</summary>
public enum CheckpointFormat
{
    /// <summary>Detect: safetensors when present, else torch .bin (Hugging Face's preference).</summary>
    Auto,
    /// <summary><c>model.safetensors</c> or <c>model.safetensors.index.json</c> + shards.</summary>
    Safetensors,
    /// <summary><c>pytorch_model.bin</c> or <c>pytorch_model.bin.index.json</c> + shards (torch.save zip format).</summary>
    TorchBin,
}

/// <summary>What a checkpoint says about one tensor, without its data.</summary>
/// <param name="File">The file holding the tensor: for a checkpoint, the shard's name relative to its
/// directory (as in the index); for a standalone reader, that reader's path.</param>
public sealed record CheckpointTensorInfo(string Name, DType DType, long[] Shape, string File)
{
    public long Numel => Tensors.Shape.Numel(Shape);
    public long ByteLength => Numel * DType.Size();
    public override string ToString() => $"{Name}: {DType.SpecName()}{Tensors.Shape.Format(Shape)} in {File}";
}

/// <summary>
/// An open Hugging Face checkpoint (single file or sharded; safetensors or torch .bin).
/// <para>Guarantees: tensor data is memory-mapped and handed out as stored (bf16 stays bf16), never
/// copied into managed arrays; opening reads only headers, the index and (for .bin) the pickles, never
/// tensor data, and shards are opened lazily on first use. When a shard is opened it is checked against
/// the index: every tensor the index assigns to it must be there, and it may hold no other tensor.
/// Errors are <see cref="IxcException"/>s naming the file and the tensor. Tensors are valid until
/// the checkpoint is disposed. Safe to use from several threads.</para>
/// </summary>
public interface ICheckpoint : IDisposable
{
    /// <summary><see cref="CheckpointFormat.Safetensors"/> or <see cref="CheckpointFormat.TorchBin"/> (never Auto).</summary>
    CheckpointFormat Format { get; }

    /// <summary>The folder holding the checkpoint.</summary>
    string Directory { get; }

    /// <summary>The index when the checkpoint is sharded; null for a single file.</summary>
    CheckpointIndex? Index { get; }

    /// <summary>The data files (shards, or the single file), relative to <see cref="Directory"/>.</summary>
    IReadOnlyList<string> Files { get; }

    /// <summary>Every tensor name: the index's weight_map order when sharded (no shard is opened), else the file's order.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The index's <c>metadata.total_size</c>; null for a single file or when the index has none.</summary>
    long? TotalSize { get; }

    /// <summary>Name, dtype, shape and file of every tensor, in <see cref="Names"/> order (opens every shard).</summary>
    IReadOnlyList<CheckpointTensorInfo> Infos { get; }

    bool Contains(string name);

    /// <summary>Info of one tensor (opens its shard); throws when there is no such name.</summary>
    CheckpointTensorInfo GetInfo(string name);

    /// <summary>The tensor (opens its shard); throws <see cref="IxcException"/> when there is no such name.</summary>
    NamedTensor Get(string name);

    /// <summary>False when there is no such name; a damaged or inconsistent shard still throws.</summary>
    bool TryGet(string name, out NamedTensor tensor);
}

/// <summary>Opens checkpoints: see <see cref="Open"/>.</summary>
public static class Checkpoint
{
    public const string SafetensorsFileName = "model.safetensors";
    public const string TorchFileName = "pytorch_model.bin";

    /// <summary>
    /// Opens the checkpoint at <paramref name="path"/>. A directory is searched in Hugging Face's order:
    /// <c>model.safetensors</c>, <c>model.safetensors.index.json</c>, <c>pytorch_model.bin</c>,
    /// <c>pytorch_model.bin.index.json</c> (so safetensors wins when both forms are present);
    /// <paramref name="format"/> restricts the search to one form. A file is opened by its name:
    /// <c>*.index.json</c> as an index, <c>*.safetensors</c> as safetensors, anything else as torch .bin.
    /// For a sharded checkpoint every shard file must exist (checked here, without opening them).
    /// </summary>
    public static ICheckpoint Open(string path, CheckpointFormat format = CheckpointFormat.Auto)
    {
        if (File.Exists(path)) return OpenFile(path, format);
        if (!System.IO.Directory.Exists(path)) throw new IxcException($"{path}: no such checkpoint file or directory");

        string Find(string name) => System.IO.Path.Combine(path, name);
        var candidates = new List<(CheckpointFormat Format, string File, bool Index)>
        {
            (CheckpointFormat.Safetensors, Find(SafetensorsFileName), false),
            (CheckpointFormat.Safetensors, Find(CheckpointIndex.SafetensorsIndexName), true),
            (CheckpointFormat.TorchBin, Find(TorchFileName), false),
            (CheckpointFormat.TorchBin, Find(CheckpointIndex.TorchIndexName), true),
        };
        foreach (var c in candidates)
        {
            if (format != CheckpointFormat.Auto && c.Format != format) continue;
            if (!File.Exists(c.File)) continue;
            return c.Index ? new HfCheckpoint(CheckpointIndex.LoadFile(c.File, c.Format)) : new HfCheckpoint(c.File, c.Format);
        }
        string wanted = string.Join(", ", candidates.Where(c => format == CheckpointFormat.Auto || c.Format == format).Select(c => System.IO.Path.GetFileName(c.File)));
        throw new IxcException($"{path}: no checkpoint found (looked for {wanted})");
    }

    private static ICheckpoint OpenFile(string file, CheckpointFormat format)
    {
        string name = System.IO.Path.GetFileName(file);
        if (name.EndsWith(".index.json", StringComparison.Ordinal)) return new HfCheckpoint(CheckpointIndex.LoadFile(file, format));
        var actual = name.EndsWith(".safetensors", StringComparison.Ordinal) ? CheckpointFormat.Safetensors : CheckpointFormat.TorchBin;
        if (format != CheckpointFormat.Auto && format != actual)
            throw new IxcException($"{file}: is a {actual} checkpoint by its name, but {format} was requested");
        return new HfCheckpoint(file, actual);
    }
}

/// <summary>One data file of a checkpoint, opened.</summary>
internal interface IShardReader : IDisposable
{
    IReadOnlyList<CheckpointTensorInfo> Infos { get; }
    bool TryGet(string name, out NamedTensor tensor);
}

internal sealed class SafetensorsShard(SafetensorsFile file) : IShardReader
{
    public IReadOnlyList<CheckpointTensorInfo> Infos { get; } =
        file.Tensors.Select(t => new CheckpointTensorInfo(t.Name, t.DType, t.Shape, file.Path)).ToList();
    public bool TryGet(string name, out NamedTensor tensor) => file.TryGet(name, out tensor);
    public void Dispose() => file.Dispose();
}

internal sealed class TorchShard(TorchZipFile file) : IShardReader
{
    public IReadOnlyList<CheckpointTensorInfo> Infos => file.Infos;
    public bool TryGet(string name, out NamedTensor tensor) => file.TryGet(name, out tensor);
    public void Dispose() => file.Dispose();
}

/// <summary>The <see cref="ICheckpoint"/> of both forms; a single file is handled as one shard without an index.</summary>
internal sealed class HfCheckpoint : ICheckpoint
{
    private readonly Dictionary<string, string> _fileOf;              // tensor → file (relative)
    private readonly Dictionary<string, IShardReader> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CheckpointTensorInfo> _infos = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private IReadOnlyList<CheckpointTensorInfo>? _allInfos;
    private bool _disposed;

    /// <summary>Sharded: checks that every shard exists; opens none.</summary>
    public HfCheckpoint(CheckpointIndex index)
    {
        Index = index;
        Format = index.Format;
        Directory = index.Directory;
        Files = index.ShardFiles;
        Names = index.Names;
        _fileOf = new Dictionary<string, string>(index.WeightMap, StringComparer.Ordinal);
        foreach (var shard in index.ShardFiles)
        {
            string full = System.IO.Path.Combine(Directory, shard);
            if (File.Exists(full)) continue;
            var needs = index.NamesInShard(shard);
            string others = needs.Count > 1 ? $" and {needs.Count - 1} other tensors" : "";
            throw new IxcException($"{full}: shard file is missing (tensor '{needs[0]}'{others} need it, per {index.Path})");
        }
    }

    /// <summary>Single file: opened now (it is the whole index).</summary>
    public HfCheckpoint(string file, CheckpointFormat format)
    {
        Format = format;
        string full = System.IO.Path.GetFullPath(file);
        Directory = System.IO.Path.GetDirectoryName(full)!;
        string rel = System.IO.Path.GetFileName(full);
        Files = [rel];
        var reader = OpenReader(full, format);
        _open[rel] = reader;
        Names = reader.Infos.Select(i => i.Name).ToList();
        _fileOf = Names.ToDictionary(n => n, _ => rel, StringComparer.Ordinal);
        foreach (var i in reader.Infos) _infos[i.Name] = i with { File = rel };
    }

    public CheckpointFormat Format { get; }
    public string Directory { get; }
    public CheckpointIndex? Index { get; }
    public IReadOnlyList<string> Files { get; }
    public IReadOnlyList<string> Names { get; }
    public long? TotalSize => Index?.TotalSize;

    public IReadOnlyList<CheckpointTensorInfo> Infos
    {
        get
        {
            if (_allInfos is not null) return _allInfos;
            foreach (var f in Files) Shard(f);
            lock (_lock) return _allInfos = Names.Select(n => _infos[n]).ToList();
        }
    }

    public bool Contains(string name) => _fileOf.ContainsKey(name);

    public CheckpointTensorInfo GetInfo(string name)
    {
        if (!_fileOf.TryGetValue(name, out var file)) throw NoSuch(name);
        Shard(file);
        lock (_lock) return _infos[name];
    }

    public NamedTensor Get(string name) => TryGet(name, out var t) ? t : throw NoSuch(name);

    public bool TryGet(string name, out NamedTensor tensor)
    {
        if (!_fileOf.TryGetValue(name, out var file)) { tensor = null!; return false; }
        if (!Shard(file).TryGet(name, out tensor))
            throw new IxcException($"{System.IO.Path.Combine(Directory, file)}: tensor '{name}' is missing"); // unreachable: checked at open
        return true;
    }

    private IxcException NoSuch(string name) => new($"{Directory}: the checkpoint has no tensor named '{name}'");

    /// <summary>The reader of <paramref name="file"/>, opened and checked against the index on first use.</summary>
    private IShardReader Shard(string file)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open.TryGetValue(file, out var reader)) return reader;
            string full = System.IO.Path.Combine(Directory, file);
            reader = OpenReader(full, Format);
            try { CheckAgainstIndex(full, file, reader); }
            catch { reader.Dispose(); throw; }
            foreach (var i in reader.Infos) _infos[i.Name] = i with { File = file };
            _open[file] = reader;
            return reader;
        }
    }

    private void CheckAgainstIndex(string full, string file, IShardReader reader)
    {
        var index = Index!;
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var info in reader.Infos)
        {
            present.Add(info.Name);
            if (!index.WeightMap.TryGetValue(info.Name, out var assigned))
                throw new IxcException($"{full}: holds tensor '{info.Name}', which {index.Path} does not list");
            if (assigned != file)
                throw new IxcException($"{full}: holds tensor '{info.Name}', which {index.Path} assigns to '{assigned}' (a tensor in two shards?)");
        }
        foreach (var name in index.NamesInShard(file))
            if (!present.Contains(name))
                throw new IxcException($"{full}: tensor '{name}' is missing from this shard (listed in {index.Path})");
    }

    private static IShardReader OpenReader(string full, CheckpointFormat format) => format == CheckpointFormat.Safetensors
        ? new SafetensorsShard(new SafetensorsFile(full))
        : new TorchShard(new TorchZipFile(full));

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var r in _open.Values) r.Dispose();
            _open.Clear();
        }
    }
}
