using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>
/// Records taps whose names match any of the glob patterns (`*` any run of characters, `?` one
/// character) straight into a safetensors file being written (data goes to disk as it comes, so a
/// 7B trace does not have to fit in memory). <see cref="Commit"/> makes the file appear.
/// </summary>
public sealed class TapRecorder : ITapSink, IDisposable
{
    private readonly Regex[] _patterns;
    private readonly SafetensorsWriter _writer;
    private readonly List<string> _names = [];

    public TapRecorder(string path, IEnumerable<string> globs)
    {
        _patterns = globs.Select(g => new Regex("^" + Regex.Escape(g).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.CultureInvariant)).ToArray();
        if (_patterns.Length == 0) throw new IxcException("no tap patterns given");
        _writer = new SafetensorsWriter(path);
    }

    public IReadOnlyList<string> Names => _names;

    public bool Wants(string name) => _patterns.Any(p => p.IsMatch(name));

    /// <summary>Records a tap read from the backend's tensor in pieces (a tap of any size, e.g. 3.8 GB of logits).</summary>
    public void Record(string name, Act value)
    {
        if (!Wants(name)) return;
        if (_names.Contains(name)) throw new InvalidOperationException($"tap '{name}' recorded twice");
        int size = value.DType.Size();
        _writer.Add(name, value.DType, value.Shape, (offset, chunk) =>
        {
            switch (value.DType)
            {
                case DType.F32: value.Read(offset / size, MemoryMarshal.Cast<byte, float>(chunk)); break;
                case DType.U8: value.Read(offset, chunk); break;
                default: value.Read(offset / size, MemoryMarshal.Cast<byte, long>(chunk)); break;
            }
        }, ChunkBytes);
        _names.Add(name);
    }

    /// <summary>Bytes read from a tensor at a time when it is recorded.</summary>
    public int ChunkBytes { get; init; } = SafetensorsWriter.DefaultChunkBytes;

    public void Record(NamedTensor tensor)
    {
        if (!Wants(tensor.Name)) return;
        if (_names.Contains(tensor.Name)) throw new InvalidOperationException($"tap '{tensor.Name}' recorded twice");
        _writer.Add(tensor); // in pieces when large
        _names.Add(tensor.Name);
    }

    public void Commit(IReadOnlyDictionary<string, string> metadata) => _writer.Commit(metadata);

    public void Dispose() => _writer.Dispose();
}
