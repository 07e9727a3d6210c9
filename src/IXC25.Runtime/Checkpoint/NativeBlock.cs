using System.Runtime.InteropServices;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Checkpoints;

/// <summary>
/// Native (unmanaged) memory owned by a reader: a DEFLATED storage after decompression or a
/// non-contiguous tensor after materialization. Freed when the reader is disposed; buffers over it
/// then refuse to be read (<see cref="IMappedOwner"/>).
/// </summary>
internal sealed unsafe class NativeBlock : IDisposable, IMappedOwner
{
    public NativeBlock(long length, string what)
    {
        Length = length;
        try { Pointer = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, length)); }
        catch (OutOfMemoryException e) { throw new IxcException($"{what}: cannot allocate {length} bytes of native memory", e); }
    }

    public byte* Pointer { get; private set; }
    public long Length { get; }
    public bool IsDisposed { get; private set; }

    public Span<byte> Span => new(Pointer, checked((int)Length));

    public PointerBuffer Buffer(long offset, long length) => new(Pointer + offset, length, this);

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        NativeMemory.Free(Pointer);
        Pointer = null;
    }
}
