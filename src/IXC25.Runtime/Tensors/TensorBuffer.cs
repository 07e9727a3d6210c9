using System.Runtime.InteropServices;

namespace IXC25.Runtime.Tensors;

/// <summary>
/// The bytes behind a tensor: a managed array, native memory, or a region of a memory-mapped file.
/// Checkpoint weights always use the last kind, so the 7B weights are never copied into managed arrays.
/// </summary>
public abstract class TensorBuffer
{
    public abstract long ByteLength { get; }

    /// <summary>
    /// The bytes as one span. A span holds at most <see cref="int.MaxValue"/> bytes: a larger buffer (a
    /// mapped tensor above 2 GiB, e.g. the logits of a long trace) throws an <see cref="IxcException"/>
    /// naming its size; read such a buffer with <see cref="Slice"/>.
    /// </summary>
    public abstract ReadOnlySpan<byte> Bytes { get; }

    /// <summary><paramref name="length"/> bytes from <paramref name="offset"/> (any buffer size).</summary>
    public virtual ReadOnlySpan<byte> Slice(long offset, int length)
    {
        CheckRange(offset, length);
        return Bytes.Slice((int)offset, length);
    }

    protected void CheckRange(long offset, int length)
    {
        if (offset < 0 || length < 0 || offset > ByteLength - length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes [{offset}, {offset + length}) are outside a buffer of {ByteLength}");
    }

    /// <summary>The one-line refusal for a buffer too large for one span.</summary>
    public static string TooLargeForSpan(string what, long byteLength) =>
        FormattableString.Invariant($"{what} is {byteLength:N0} bytes ({byteLength / (double)(1L << 30):0.00} GiB), more than one span holds ({int.MaxValue:N0} bytes); it can only be read in pieces");

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
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
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
            CheckOpen();
            if (ByteLength > int.MaxValue) throw new IxcException(TooLargeForSpan("a tensor", ByteLength));
            return new ReadOnlySpan<byte>(Pointer, (int)ByteLength);
        }
    }

    public override ReadOnlySpan<byte> Slice(long offset, int length)
    {
        CheckOpen();
        CheckRange(offset, length);
        return new ReadOnlySpan<byte>(Pointer + offset, length);
    }

    private void CheckOpen()
    {
        if (_owner is IMappedOwner { IsDisposed: true }) throw new ObjectDisposedException("the file behind this tensor was closed");
    }
}

/// <summary>Implemented by owners of mapped memory so that buffers can refuse use after close.</summary>
public interface IMappedOwner
{
    bool IsDisposed { get; }
}
