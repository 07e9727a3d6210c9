using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.IO;

/// <summary>
/// Writes a .safetensors file. Tensors are appended one at a time (their data goes to a temporary file
/// beside the destination, so large traces need not stay in memory, after <see cref="HeaderReserve"/> bytes
/// kept free for the header). <see cref="Commit"/> renames a file over the destination: for a large file
/// (<see cref="InPlaceMinBytes"/> of data or more) whose header fits the reserve, the data file itself,
/// the header written into the reserve and padded with spaces (the format allows trailing whitespace in
/// the header), so gigabytes of taps are written once, not twice; otherwise a compact copy (header, then
/// the data). Until then the destination is untouched: a failure never leaves a half-written file where a
/// good one was.
/// Tensor order in the file is the order of <see cref="Add(string, DType, long[], ReadOnlySpan{byte})"/>.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly string _dest;
    private readonly string _dataTmp;
    private readonly FileStream _data;
    private readonly List<(string name, DType dtype, long[] shape, long begin, long end)> _entries = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private bool _done;
    private readonly IDisposable _dataTmpTracked;   // deleted by an interrupt (Processes.Interrupts) until committed or disposed
    private string? _failed;

    public SafetensorsWriter(string path)
    {
        _dest = CheckDestination(path);
        _dataTmp = _dest + $".{Environment.ProcessId}.{Guid.NewGuid():N}.data.tmp";
        _dataTmpTracked = Processes.Interrupts.TrackTempFile(_dataTmp);
        try
        {
            _data = new FileStream(_dataTmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
            _data.Position = HeaderReserve;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(_dataTmp);
            _dataTmpTracked.Dispose();
            throw new IxcException($"{path}: cannot write: {e.Message}", e);
        }
    }

    /// <summary>Bytes kept free before the data for the length prefix and the header (64 KiB).</summary>
    public const int HeaderReserve = 1 << 16;

    /// <summary>Data size from which <see cref="Commit"/> renames the data file into place instead of copying it (default 16 MiB).</summary>
    public long InPlaceMinBytes { get; init; } = 1 << 24;

    /// <summary>Whether the last <see cref="Commit"/> renamed the data file into place (else it copied it).</summary>
    public bool CommittedInPlace { get; private set; }

    /// <summary>
    /// Fails early, with the message the writer would give, when <paramref name="path"/> cannot be a destination
    /// (its directory does not exist, or it is a directory); returns the full path. Commands call it before
    /// long work so that a mistyped --out does not cost a model load.
    /// </summary>
    public static string CheckDestination(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        string? dir = System.IO.Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) throw new IxcException($"{path}: directory '{dir}' does not exist");
        if (Directory.Exists(full)) throw new IxcException($"{path}: is a directory (expected a .safetensors file name)");
        return full;
    }

    public int Count => _entries.Count;

    public void Add(string name, DType dtype, long[] shape, ReadOnlySpan<byte> bytes)
    {
        CheckUsable();
        if (string.IsNullOrEmpty(name) || name == "__metadata__") throw new IxcException($"invalid tensor name '{name}'");
        long expected = checked(Shape.Numel(shape) * dtype.Size());
        if (bytes.Length != expected) throw new IxcException($"tensor '{name}': {bytes.Length} bytes for {dtype.SafetensorsName()} {Shape.Format(shape)} (expected {expected})");
        if (!_names.Add(name)) throw new IxcException($"{_dest}: tensor '{name}' written twice");
        long begin = _data.Position;
        try { _data.Write(bytes); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Undo(name, begin);
            throw new IxcException($"{_dest}: cannot write tensor '{name}' ({expected:N0} bytes): {e.Message}", e);
        }
        _entries.Add((name, dtype, (long[])shape.Clone(), begin - HeaderReserve, _data.Position - HeaderReserve));
    }

    /// <summary>Appends a tensor of any size (above 2 GiB too), read from its buffer in pieces.</summary>
    public void Add(NamedTensor t)
    {
        if (t.Data.ByteLength <= DefaultChunkBytes) Add(t.Name, t.DType, t.Shape, t.Data.Bytes);
        else Add(t.Name, t.DType, t.Shape, (offset, chunk) => t.ByteSlice(offset, chunk.Length).CopyTo(chunk));
    }

    /// <summary>Bytes asked of a <see cref="ChunkSource"/> at a time unless told otherwise (16 MiB).</summary>
    public const int DefaultChunkBytes = 1 << 24;

    /// <summary>Fills <paramref name="chunk"/> with the tensor's bytes from <paramref name="byteOffset"/> on.</summary>
    public delegate void ChunkSource(long byteOffset, Span<byte> chunk);

    /// <summary>
    /// Appends a tensor of any size, its bytes asked of <paramref name="source"/> in pieces of at most
    /// <paramref name="chunkBytes"/> (a multiple of the element size), in order, each piece at most once: a
    /// tensor larger than a span can hold (e.g. the logits of a long trace) never has to exist as one buffer
    /// here. If the source or the disk fails part-way, what was written of this tensor is cut off again and the
    /// exception goes on: the tensor is not in the file, its name is free, and the writer can go on (or be
    /// disposed, leaving nothing behind). Should even the cut fail, the writer is closed (its temporary file
    /// removed) and later calls say so.
    /// </summary>
    public void Add(string name, DType dtype, long[] shape, ChunkSource source, int chunkBytes = DefaultChunkBytes)
    {
        CheckUsable();
        if (string.IsNullOrEmpty(name) || name == "__metadata__") throw new IxcException($"invalid tensor name '{name}'");
        if (chunkBytes < dtype.Size() || chunkBytes % dtype.Size() != 0) throw new ArgumentOutOfRangeException(nameof(chunkBytes), $"{chunkBytes} is not a positive multiple of the element size {dtype.Size()}");
        long total = checked(Shape.Numel(shape) * dtype.Size());
        if (!_names.Add(name)) throw new IxcException($"{_dest}: tensor '{name}' written twice");
        long begin = _data.Position;
        var buffer = new byte[(int)Math.Min(total, chunkBytes)];
        try
        {
            for (long offset = 0; offset < total; offset += buffer.Length)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, total - offset));
                source(offset, chunk);
                _data.Write(chunk);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Undo(name, begin);
            throw new IxcException($"{_dest}: cannot write tensor '{name}' ({total:N0} bytes): {e.Message}", e);
        }
        catch
        {
            Undo(name, begin);
            throw;
        }
        _entries.Add((name, dtype, (long[])shape.Clone(), begin - HeaderReserve, _data.Position - HeaderReserve));
    }

    /// <summary>Removes a tensor that failed part-way; if that fails too, closes the writer.</summary>
    private void Undo(string name, long begin)
    {
        _names.Remove(name);
        try
        {
            _data.SetLength(begin);
            _data.Position = begin;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            _failed = $"an earlier write failed and could not be undone ({e.Message})";
            Dispose();
        }
    }

    private void CheckUsable()
    {
        if (_failed is not null) throw new IxcException($"{_dest}: cannot write: {_failed}");
        if (_done) throw new InvalidOperationException("writer already committed or disposed");
    }

    public void AddF32(string name, long[] shape, ReadOnlySpan<float> values) =>
        Add(name, DType.F32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));

    /// <summary>Writes the file and renames it into place.</summary>
    public void Commit(IReadOnlyDictionary<string, string>? metadata = null)
    {
        CheckUsable();
        byte[] header = BuildHeader(metadata);
        string finalTmp = _dest + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        using var finalTracked = Processes.Interrupts.TrackTempFile(finalTmp);
        long dataBytes = _data.Length - HeaderReserve;
        Span<byte> len = stackalloc byte[8];
        try
        {
            if (dataBytes >= InPlaceMinBytes && 8 + header.Length <= HeaderReserve)
            {
                // header padded with spaces to fill the reserve exactly: the data stays where it is
                var padded = new byte[HeaderReserve - 8];
                padded.AsSpan().Fill((byte)' ');
                header.CopyTo(padded, 0);
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded.Length);
                _data.Position = 0;
                _data.Write(len);
                _data.Write(padded);
                _data.Flush(flushToDisk: false);
                _data.Dispose();
                File.Move(_dataTmp, _dest, overwrite: true);
                CommittedInPlace = true;
                return;
            }
            using (var outFs = new FileStream(finalTmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                outFs.Write(len);
                outFs.Write(header);
                _data.Flush();
                _data.Position = HeaderReserve;
                _data.CopyTo(outFs, 1 << 20);
                outFs.Flush(flushToDisk: false);
            }
            File.Move(finalTmp, _dest, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(finalTmp);
            throw new IxcException($"{_dest}: cannot write: {e.Message}", e);
        }
        finally
        {
            _done = true;
            _data.Dispose();
            TryDelete(_dataTmp);
            _dataTmpTracked.Dispose();
        }
    }

    private byte[] BuildHeader(IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in metadata) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }
            foreach (var e in _entries)
            {
                w.WriteStartObject(e.name);
                w.WriteString("dtype", e.dtype.SafetensorsName());
                w.WriteStartArray("shape");
                foreach (var d in e.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.begin);
                w.WriteNumberValue(e.end);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var bytes = ms.ToArray().ToList();
        while (bytes.Count % 8 != 0) bytes.Add((byte)' ');
        return bytes.ToArray();
    }

    /// <summary>Convenience: writes all tensors at once.</summary>
    public static void Write(string path, IEnumerable<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var w = new SafetensorsWriter(path);
        foreach (var t in tensors) w.Add(t);
        w.Commit(metadata);
    }

    private static void TryDelete(string p)
    {
        try { if (File.Exists(p)) File.Delete(p); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _data.Dispose();
        TryDelete(_dataTmp);
        _dataTmpTracked.Dispose();
    }
}
