using System.Runtime.InteropServices;

namespace IXC25.Runtime.Tensors;

/// <summary>
/// The bytes behind a tensor: a managed array, native memory, or a region of a memory-mapped file.
/// Checkpoint weights always use the last kind, so the 7B weights are never copied into managed arrays.
/// </summary>
public abstract class TensorBuffer
{
    public abstract long ByteLength { get; }

    /// <summary>The bytes as a span (a single tensor is always below 2 GiB in this model).</summary>
    public abstract ReadOnlySpan<byte> Bytes { get; }

    public static TensorBuffer FromArray<T>(T[] data) where T : unmanaged => new ArrayBuffer<T>(data);

    private sealed class ArrayBuffer<T>(T[] data) : TensorBuffer where T : unmanaged
    {
        public override long ByteLength => (long)data.Length * Marshal.SizeOf<T>();
        public override ReadOnlySpan<byte> Bytes => MemoryMarshal.AsBytes(data.AsSpan());
    }
}

/// <summary>A buffer over unmanaged memory owned by something else (a mapped file, a native arena).</summary>
public sealed unsafe class PointerBuffer : TensorBuffer
{
    private readonly object? _owner;

    public PointerBuffer(byte* pointer, long byteLength, object? owner)
    {
        if (byteLength > int.MaxValue) throw new IxcException($"a single tensor of {byteLength} bytes is larger than 2 GiB; not supported");
        Pointer = pointer;
        _owner = owner;
        ByteLength = byteLength;
    }

    public byte* Pointer { get; }
    public override long ByteLength { get; }
    public override ReadOnlySpan<byte> Bytes
    {
        get
        {
            if (_owner is IMappedOwner { IsDisposed: true }) throw new ObjectDisposedException("the file behind this tensor was closed");
            return new ReadOnlySpan<byte>(Pointer, (int)ByteLength);
        }
    }
}

/// <summary>Implemented by owners of mapped memory so that buffers can refuse use after close.</summary>
public interface IMappedOwner
{
    bool IsDisposed { get; }
}
