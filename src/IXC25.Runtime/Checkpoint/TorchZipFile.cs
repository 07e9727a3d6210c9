using System.IO.Compression;
using System.Text;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Checkpoints;

/// <summary>
/// A PyTorch checkpoint written by <c>torch.save</c> (torch ≥ 1.6 zip format: <c>&lt;archive&gt;/data.pkl</c>,
/// <c>&lt;archive&gt;/data/&lt;key&gt;</c> storages, <c>&lt;archive&gt;/version</c>, optional
/// <c>&lt;archive&gt;/byteorder</c>), read through a memory mapping.
/// <para>Guarantees:</para>
/// <list type="bullet">
/// <item>No pickle code runs: data.pkl is read by <see cref="TorchPickle"/>, which refuses every global
/// outside the state-dict allow-list (see there) with an <see cref="IxcException"/> naming it.</item>
/// <item>Opening reads the zip directory and data.pkl only, never tensor data; opening a multi-GB shard
/// is as fast as opening a small one. Every view is checked against its storage at open.</item>
/// <item>A contiguous tensor in a STORED member (what torch writes) is a zero-copy view of the mapping,
/// at its storage offset, in the stored dtype (bf16 stays bf16). Tensors sharing a storage share memory.</item>
/// <item>A non-contiguous tensor (e.g. a transposed view saved as-is) is materialized, on first
/// <see cref="Get"/>, as a row-major copy in native memory; a DEFLATED member is inflated into native
/// memory on first use. Neither is ever copied into managed arrays. That memory lives until
/// <see cref="Dispose"/>.</item>
/// <item>The state dict is the top-level dict (or OrderedDict) of tensors; when the top level is a dict
/// that is not all tensors, one found under "state_dict", "model" or "module" (nested up to 4 levels)
/// is used and <see cref="StateDictPath"/> says where. Anything else is an error.</item>
/// <item>Refused with a clear <see cref="IxcException"/>: the legacy (pre-1.6) non-zip format, a big-endian
/// byteorder, encrypted or multi-disk zips, compression other than STORED/DEFLATED, a storage whose
/// member is missing or has the wrong size, a view outside its storage, any damage to the zip or pickle.</item>
/// </list>
/// Tensors handed out are valid until this object is disposed (afterwards reading them throws).
/// </summary>
public sealed unsafe class TorchZipFile : IDisposable
{
    /// <summary>data.pkl larger than this is refused (a 7B state dict's pickle is about 100 KB).</summary>
    public const long MaxPickleBytes = 1L << 30;

    /// <summary>
    /// A DEFLATED data.pkl may expand at most this much (torch writes it STORED; a state dict's pickle compresses
    /// about 2-30:1). The pickle VM allocates about 75 bytes per pickle byte, so deflate's full 1032:1 would let a
    /// 65 KB file allocate 5 GB (issue 15's allocation clause).
    /// </summary>
    public const long MaxPickleDeflateRatio = 64;

    /// <summary>
    /// Non-contiguous tensors are copied into native memory; all copies together may exceed the bytes of all the
    /// storages by at most this much. A view repeats storage elements only through a zero stride (torch's expand),
    /// which real state dicts use for small buffers; without a bound a 500-byte file asks for 2 GiB per tensor.
    /// </summary>
    public const long MaxCopyBytesOverStorage = 16L << 20;

    private static readonly string[] WrapperKeys = ["state_dict", "model", "module"];

    private readonly MappedFile _file;
    private readonly Dictionary<string, ZipEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (TorchTensorRef Ref, CheckpointTensorInfo Info)> _tensors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NamedTensor> _loaded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NativeBlock> _inflated = new(StringComparer.Ordinal);
    private readonly List<NativeBlock> _blocks = [];
    private readonly Lock _lock = new();

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="IxcException"/> for anything malformed or unsafe.</summary>
    public TorchZipFile(string path)
    {
        _file = new MappedFile(path);
        try { Parse(); }
        catch (Exception e) when (e is IxcException or OverflowException)
        {
            Dispose();
            if (e is OverflowException) throw new IxcException($"{Path}: implausible size in the checkpoint ({e.Message})", e);
            throw;
        }
    }

    public string Path => _file.Path;

    /// <summary>The archive's top folder (torch uses the file's base name, or "archive").</summary>
    public string ArchiveName { get; private set; } = "";

    /// <summary>Keys followed from the pickle's top-level dict to the state dict (empty when the top level is the state dict).</summary>
    public IReadOnlyList<string> StateDictPath { get; private set; } = [];

    /// <summary>Tensor names in the state dict's order.</summary>
    public IReadOnlyList<string> Names { get; private set; } = [];

    /// <summary>Name, dtype and shape of every tensor, in <see cref="Names"/> order (File is this file's path).</summary>
    public IReadOnlyList<CheckpointTensorInfo> Infos { get; private set; } = [];

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public CheckpointTensorInfo GetInfo(string name) =>
        _tensors.TryGetValue(name, out var t) ? t.Info : throw new IxcException($"{Path}: no tensor named '{name}'");

    /// <summary>True when <paramref name="name"/> is served straight from the mapping (contiguous, STORED).</summary>
    public bool IsZeroCopy(string name)
    {
        var (r, _) = _tensors.TryGetValue(name, out var t) ? t : throw new IxcException($"{Path}: no tensor named '{name}'");
        return IsContiguous(r) && _entries[StorageMember(r.Storage)].Method == ZipEntry.Stored;
    }

    /// <summary>The tensor; throws <see cref="IxcException"/> when there is no such name.</summary>
    public NamedTensor Get(string name) =>
        TryGet(name, out var t) ? t : throw new IxcException($"{Path}: no tensor named '{name}'");

    public NamedTensor this[string name] => Get(name);

    /// <summary>False when there is no such name; damage found while loading still throws.</summary>
    public bool TryGet(string name, out NamedTensor tensor)
    {
        if (!_tensors.TryGetValue(name, out var t)) { tensor = null!; return false; }
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_file.IsDisposed, this);
            if (!_loaded.TryGetValue(name, out tensor!))
            {
                tensor = Materialize(name, t.Ref, t.Info);
                _loaded[name] = tensor;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- open

    private void Parse()
    {
        string P = _file.Path;
        CheckMagic();
        foreach (var e in ZipDirectory.Read(_file)) _entries[e.Name] = e;

        var pkls = _entries.Keys.Where(n => n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - 9).ToList();
        if (pkls.Count == 0) throw new IxcException($"{P}: not a torch checkpoint: the zip has no <archive>/data.pkl");
        if (pkls.Count > 1) throw new IxcException($"{P}: not a torch checkpoint: the zip has {pkls.Count} data.pkl members ({string.Join(", ", pkls.Take(3).Select(ZipDirectory.Printable))})");
        ArchiveName = pkls[0][..^9];

        if (_entries.TryGetValue(ArchiveName + "/byteorder", out var bo))
        {
            string order = Encoding.ASCII.GetString(ReadSmall(bo, 64)).Trim();
            if (order == "big") throw new IxcException($"{P}: the checkpoint was saved on a big-endian machine (byteorder 'big'); only little-endian is supported");
            if (order != "little") throw new IxcException($"{P}: unknown byteorder '{ZipDirectory.Printable(order)}' (expected 'little')");
        }

        var pklEntry = _entries[pkls[0]];
        var value = TorchPickle.Load(ReadSmall(pklEntry, MaxPickleBytes), $"{P}: {ZipDirectory.Printable(pklEntry.Name)}");
        var (dict, path) = FindStateDict(value);
        StateDictPath = path;

        var names = new List<string>();
        var infos = new List<CheckpointTensorInfo>();
        foreach (var (k, v) in dict.Items)
        {
            string name = (string)k!;
            var r = (TorchTensorRef)v!;
            Validate(name, r);
            var info = new CheckpointTensorInfo(name, r.Storage.DType, r.Shape, P);
            _tensors[name] = (r, info);
            names.Add(name);
            infos.Add(info);
        }
        Names = names;
        Infos = infos;
        CheckCopies();
    }

    /// <summary>Refuses, at open, non-contiguous tensors whose copies would exceed the storages by more than <see cref="MaxCopyBytesOverStorage"/>.</summary>
    private void CheckCopies()
    {
        long copies = 0, storages = 0;
        int count = 0;
        foreach (var (r, _) in _tensors.Values)
        {
            if (IsContiguous(r)) continue;
            copies = checked(copies + Shape.Numel(r.Shape) * r.Storage.DType.Size());
            count++;
        }
        if (count == 0) return;
        foreach (var member in _tensors.Values.Select(t => StorageMember(t.Ref.Storage)).Distinct(StringComparer.Ordinal))
            storages = checked(storages + _entries[member].UncompressedSize);
        if (copies > storages + MaxCopyBytesOverStorage)
            throw new IxcException($"{_file.Path}: {count} non-contiguous tensor(s) would be copied into {copies} bytes of memory, more than the {storages} bytes of their storages " +
                $"plus {MaxCopyBytesOverStorage}: views that repeat elements (a zero stride, as from expand) that much are not supported");
    }

    private void CheckMagic()
    {
        string P = _file.Path;
        if (_file.Length < 4) throw new IxcException($"{P}: not a torch checkpoint ({_file.Length} bytes)");
        var head = _file.Slice(0, 4);
        if (head[0] == (byte)'P' && head[1] == (byte)'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) return;
        bool legacyPickle = head[0] == 0x80 && head[1] <= 5;
        bool legacyTar = _file.Length >= 262 && _file.Slice(257, 5).SequenceEqual("ustar"u8);
        if (legacyPickle || legacyTar)
            throw new IxcException($"{P}: legacy torch serialization not supported, re-save with torch>=1.6 (torch.save(torch.load(f), f))");
        throw new IxcException($"{P}: not a torch checkpoint (not a zip archive)");
    }

    private (PickleDict Dict, string[] Path) FindStateDict(object? value)
    {
        string P = _file.Path;
        var path = new List<string>();
        for (int depth = 0; ; depth++)
        {
            string where = path.Count == 0 ? "data.pkl" : "data.pkl['" + string.Join("']['", path) + "']";
            if (value is not PickleDict d)
                throw new IxcException($"{P}: {where} holds {TorchPickle.Describe(value)}, expected a dict of tensors (a state dict)");
            int bad = d.Items.FindIndex(kv => kv.Key is not string || kv.Value is not TorchTensorRef);
            if (bad < 0) return (d, path.ToArray());
            if (depth < 4)
            {
                string? wrapper = WrapperKeys.FirstOrDefault(w => d.TryGet(w, out var inner) && inner is PickleDict);
                if (wrapper is not null)
                {
                    d.TryGet(wrapper, out value);
                    path.Add(wrapper);
                    continue;
                }
            }
            var (badKey, badValue) = d.Items[bad];
            if (badKey is not string key)
                throw new IxcException($"{P}: {where} has a key {TorchPickle.Describe(badKey)}; a state dict's keys are strings");
            throw new IxcException($"{P}: {where}['{ZipDirectory.Printable(key)}'] is {TorchPickle.Describe(badValue)}, expected a tensor (and no 'state_dict'/'model'/'module' dict to descend into)");
        }
    }

    private string StorageMember(TorchStorageRef s) => ArchiveName + "/data/" + s.Key;

    private void Validate(string name, TorchTensorRef r)
    {
        string P = _file.Path;
        string n = ZipDirectory.Printable(name);
        var s = r.Storage;
        string member = StorageMember(s);
        if (!_entries.TryGetValue(member, out var e))
            throw new IxcException($"{P}: tensor '{n}' needs storage '{ZipDirectory.Printable(member)}', which is not in the archive");
        int es = s.DType.Size();
        long storageBytes = checked(s.Numel * es);
        if (e.UncompressedSize != storageBytes)
            throw new IxcException($"{P}: storage '{ZipDirectory.Printable(member)}' of tensor '{n}' has {e.UncompressedSize} bytes, expected {storageBytes} ({s.Numel} x {s.DType.SpecName()})");
        long numel = 1;
        foreach (var d in r.Shape) numel = checked(numel * d);
        if (numel == 0) return;
        long last = r.StorageOffset;
        for (int i = 0; i < r.Shape.Length; i++) last = checked(last + (r.Shape[i] - 1) * r.Stride[i]);
        if (last >= s.Numel)
            throw new IxcException($"{P}: tensor '{n}' {Shape.Format(r.Shape)} at offset {r.StorageOffset} with strides {Shape.Format(r.Stride)} reaches element {last} of a storage of {s.Numel}");
        if (checked(numel * es) > int.MaxValue)
            throw new IxcException($"{P}: tensor '{n}' has {numel * es} bytes; a single tensor larger than 2 GiB is not supported");
    }

    /// <summary>Bytes of a small member (data.pkl, byteorder) as a managed array.</summary>
    private byte[] ReadSmall(ZipEntry e, long limit)
    {
        string P = _file.Path;
        string m = ZipDirectory.Printable(e.Name);
        if (e.UncompressedSize > limit) throw new IxcException($"{P}: '{m}' is {e.UncompressedSize} bytes (at most {limit} expected)");
        if (e.Method == ZipEntry.Deflated && e.UncompressedSize > e.CompressedSize * MaxPickleDeflateRatio + 4096)
            throw new IxcException($"{P}: '{m}' claims {e.UncompressedSize} bytes from {e.CompressedSize} compressed; a DEFLATED pickle may expand at most {MaxPickleDeflateRatio}:1");
        if (e.Method == ZipEntry.Stored) return _file.Slice(e.DataOffset, (int)e.CompressedSize).ToArray();
        var buffer = new byte[e.UncompressedSize];
        fixed (byte* dst = buffer) Inflate(e, dst);
        return buffer;
    }

    /// <summary>Inflates a DEFLATED member into <paramref name="dst"/> (exactly UncompressedSize bytes).</summary>
    private void Inflate(ZipEntry e, byte* dst)
    {
        string where = $"{_file.Path}: '{ZipDirectory.Printable(e.Name)}'";
        try
        {
            using var src = new UnmanagedMemoryStream(_file.Base + e.DataOffset, e.CompressedSize);
            using var inflate = new DeflateStream(src, CompressionMode.Decompress);
            long done = 0;
            while (done < e.UncompressedSize)
            {
                int want = (int)Math.Min(1 << 20, e.UncompressedSize - done);
                int got = inflate.Read(new Span<byte>(dst + done, want));
                if (got == 0) throw new IxcException($"{where}: deflated data ends after {done} of {e.UncompressedSize} bytes");
                done += got;
            }
            Span<byte> probe = stackalloc byte[1];
            if (inflate.Read(probe) != 0) throw new IxcException($"{where}: deflated data is longer than the {e.UncompressedSize} bytes the zip directory says");
        }
        catch (InvalidDataException ex) { throw new IxcException($"{where}: corrupt deflated data ({ex.Message})", ex); }
    }

    // ---------------------------------------------------------------- tensors

    private static bool IsContiguous(TorchTensorRef r)
    {
        long expected = 1;
        for (int i = r.Shape.Length - 1; i >= 0; i--)
        {
            if (r.Shape[i] == 0) return true;
            if (r.Shape[i] != 1 && r.Stride[i] != expected) return false;
            expected *= r.Shape[i];
        }
        return true;
    }

    private NamedTensor Materialize(string name, TorchTensorRef r, CheckpointTensorInfo info)
    {
        int es = r.Storage.DType.Size();
        long numel = Shape.Numel(r.Shape);
        long bytes = numel * es;
        if (numel == 0) return new NamedTensor(name, info.DType, r.Shape, _file.Buffer(0, 0));

        var entry = _entries[StorageMember(r.Storage)];
        byte* storage;
        object owner;
        if (entry.Method == ZipEntry.Stored)
        {
            storage = _file.Base + entry.DataOffset;
            owner = _file;
        }
        else
        {
            if (!_inflated.TryGetValue(entry.Name, out var block))
            {
                block = new NativeBlock(entry.UncompressedSize, $"{Path}: '{entry.Name}'");
                try { Inflate(entry, block.Pointer); }
                catch { block.Dispose(); throw; }
                _inflated[entry.Name] = block;
                _blocks.Add(block);
            }
            storage = block.Pointer;
            owner = block;
        }

        if (IsContiguous(r))
        {
            var view = new PointerBuffer(storage + r.StorageOffset * es, bytes, owner);
            return new NamedTensor(name, info.DType, r.Shape, view);
        }

        // Non-contiguous: a row-major copy into native memory, walking the strided view in order.
        var copy = new NativeBlock(bytes, $"{Path}: tensor '{name}'");
        _blocks.Add(copy);
        int rank = r.Shape.Length;
        bool unitInner = r.Stride[rank - 1] == 1;
        long run = unitInner ? r.Shape[rank - 1] : 1;        // elements copied per step
        var index = new long[rank];
        long src = r.StorageOffset;
        int firstOuter = unitInner ? rank - 2 : rank - 1;  // innermost dimension the walk steps through
        for (long done = 0; done < numel; done += run)
        {
            Buffer.MemoryCopy(storage + src * es, copy.Pointer + done * es, bytes - done * es, run * es);
            for (int d = firstOuter; d >= 0; d--)
            {
                index[d]++;
                src += r.Stride[d];
                if (index[d] < r.Shape[d]) break;
                src -= r.Stride[d] * r.Shape[d];
                index[d] = 0;
            }
        }
        return new NamedTensor(name, info.DType, r.Shape, copy.Buffer(0, bytes));
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var b in _blocks) b.Dispose();
            _blocks.Clear();
            _inflated.Clear();
            _loaded.Clear();
            _file.Dispose();
        }
    }
}
