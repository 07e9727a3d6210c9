using System.IO.MemoryMappedFiles;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.IO;

/// <summary>
/// A read-only memory mapping of a whole file. Tensors handed out point into the mapping; they are
/// valid until this object is disposed (after which reading them throws).
/// </summary>
public sealed unsafe class MappedFile : IDisposable, IMappedOwner
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _base;

    public MappedFile(string path)
    {
        Path = path;
        FileInfo info;
        try { info = new FileInfo(path); }
        catch (Exception e) { throw new IxcException($"{path}: {e.Message}", e); }
        if (!info.Exists) throw new IxcException($"{path}: file not found");
        Length = info.Length;
        if (Length == 0) return; // nothing to map; readers report the file as empty
        try
        {
            _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref _base);
            _base += _view.PointerOffset;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Dispose();
            throw new IxcException($"{path}: cannot map file: {e.Message}", e);
        }
    }

    public string Path { get; }
    public long Length { get; }
    public bool IsDisposed { get; private set; }

    /// <summary>Start of the mapping (null for an empty file).</summary>
    public byte* Base => IsDisposed ? throw new ObjectDisposedException(Path) : _base;

    public ReadOnlySpan<byte> Slice(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new IxcException($"{Path}: read of {length} bytes at offset {offset} is past the end of the file ({Length} bytes)");
        return new ReadOnlySpan<byte>(Base + offset, length);
    }

    public PointerBuffer Buffer(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new IxcException($"{Path}: tensor data [{offset}, {offset + length}) is past the end of the file ({Length} bytes)");
        return new PointerBuffer(Base + offset, length, this);
    }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        if (_view is not null)
        {
            if (_base != null) _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
        _base = null;
    }
}
