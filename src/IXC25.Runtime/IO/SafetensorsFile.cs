using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.IO;

/// <summary>
/// Reads a .safetensors file (8-byte little-endian header length, JSON header, raw little-endian data)
/// by memory-mapping it. Every header field is validated; a malformed file is an <see cref="IxcException"/>
/// naming the file and the problem. Tensors point into the mapping (no copy).
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Headers larger than this are refused (the format's reference reader uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MappedFile _file;
    private readonly Dictionary<string, NamedTensor> _byName = new(StringComparer.Ordinal);

    public SafetensorsFile(string path)
    {
        _file = new MappedFile(path);
        try { Parse(); }
        catch { _file.Dispose(); throw; }
    }

    public string Path => _file.Path;
    public IReadOnlyList<NamedTensor> Tensors { get; private set; } = [];
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    public bool Contains(string name) => _byName.ContainsKey(name);

    public NamedTensor this[string name] =>
        _byName.TryGetValue(name, out var t) ? t : throw new IxcException($"{Path}: no tensor named '{name}'");

    public bool TryGet(string name, out NamedTensor tensor) => _byName.TryGetValue(name, out tensor!);

    private unsafe void Parse()
    {
        string P = _file.Path;
        if (_file.Length < 8) throw new IxcException($"{P}: not a safetensors file (only {_file.Length} bytes)");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(_file.Slice(0, 8));
        if (headerLen > MaxHeaderBytes) throw new IxcException($"{P}: not a safetensors file (header length {headerLen} is implausible)");
        if ((long)headerLen > _file.Length - 8) throw new IxcException($"{P}: truncated safetensors file (header of {headerLen} bytes, file has {_file.Length})");
        long dataStart = 8 + (long)headerLen;
        long dataLength = _file.Length - dataStart;

        var header = _file.Slice(8, (int)headerLen);
        if (Utf8Text.FirstInvalidByte(header) is int bad)
            throw new IxcException($"{P}: safetensors header is not valid UTF-8 (byte {8 + bad} of the file, 0x{header[bad]:X2})");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e) { throw new IxcException($"{P}: safetensors header is not valid JSON ({e.Message})", e); }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new IxcException($"{P}: safetensors header is not a JSON object");
            var list = new List<(NamedTensor t, long begin, long end)>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    var md = new Dictionary<string, string>(StringComparer.Ordinal);
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new IxcException($"{P}: __metadata__ must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new IxcException($"{P}: __metadata__['{m.Name}'] must be a string");
                        md[m.Name] = m.Value.GetString()!;
                    }
                    Metadata = md;
                    continue;
                }
                var (dtype, shape, begin, end) = ParseEntry(P, prop);
                if (_byName.ContainsKey(prop.Name)) throw new IxcException($"{P}: tensor '{prop.Name}' appears twice in the header");
                if (!Shape.TryByteLength(shape, dtype.Size(), out long expected))
                    throw new IxcException($"{P}: tensor '{prop.Name}' has shape {Shape.Format(shape)} of {dtype.SafetensorsName()}, too large: its byte size does not fit in 64 bits");
                if (end - begin != expected)
                    throw new IxcException($"{P}: tensor '{prop.Name}' has {end - begin} bytes of data for {dtype.SafetensorsName()} {Shape.Format(shape)} (expected {expected})");
                if (end > dataLength)
                    throw new IxcException($"{P}: tensor '{prop.Name}' data [{begin}, {end}) is past the end of the file (truncated? data section has {dataLength} bytes)");
                var t = new NamedTensor(prop.Name, dtype, shape, _file.Buffer(dataStart + begin, end - begin));
                _byName[prop.Name] = t;
                list.Add((t, begin, end));
            }
            var sorted = list.OrderBy(x => x.begin).ThenBy(x => x.end).ToList();
            for (int i = 1; i < sorted.Count; i++)
                if (sorted[i].begin < sorted[i - 1].end)
                    throw new IxcException($"{P}: tensors '{sorted[i - 1].t.Name}' and '{sorted[i].t.Name}' overlap in the data section");
            Tensors = list.Select(x => x.t).ToList();
        }
    }

    private static (DType, long[], long, long) ParseEntry(string path, JsonProperty prop)
    {
        string n = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw new IxcException($"{path}: header entry '{n}' is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new IxcException($"{path}: tensor '{n}' has no dtype");
        if (!DTypeInfo.TryParseSafetensors(dt.GetString()!, out var dtype))
            throw new IxcException($"{path}: tensor '{n}' has unsupported dtype '{dt.GetString()}'");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new IxcException($"{path}: tensor '{n}' has no shape");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new IxcException($"{path}: tensor '{n}' has an invalid shape entry {d.GetRawText()}");
            shape[i++] = dim;
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new IxcException($"{path}: tensor '{n}' has no data_offsets pair");
        long b = ReadOffset(path, n, off[0]), e = ReadOffset(path, n, off[1]);
        if (e < b) throw new IxcException($"{path}: tensor '{n}' has data_offsets [{b}, {e}] with end before begin");
        return (dtype, shape, b, e);
    }

    private static long ReadOffset(string path, string n, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long x) || x < 0)
            throw new IxcException($"{path}: tensor '{n}' has an invalid data offset {e.GetRawText()}");
        return x;
    }

    public void Dispose() => _file.Dispose();
}
