using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Quant;

/// <summary>
/// The read-only storage of a <see cref="QuantizedMatrix"/>'s values or scales: a managed array (weights quantized
/// in memory) or a region of a memory-mapped checkpoint (a quantized checkpoint's tensors, never copied). Kernels pin
/// it with <c>fixed (T* p = buffer)</c> (<see cref="GetPinnableReference"/>); a mapped region refuses to be read once
/// its file is closed.
/// </summary>
public readonly unsafe struct QuantBuffer<T> where T : unmanaged
{
    private readonly T[]? _array;
    private readonly T* _pointer;
    private readonly PointerBuffer? _owner;

    /// <summary>Over a managed array.</summary>
    public QuantBuffer(T[] array)
    {
        _array = array;
        LongLength = array.LongLength;
    }

    /// <summary>Over the bytes of a mapped tensor (<paramref name="data"/>.ByteLength a multiple of the element size).</summary>
    public QuantBuffer(PointerBuffer data)
    {
        if (data.ByteLength % sizeof(T) != 0) throw new ArgumentException($"{data.ByteLength} bytes is not a whole number of {sizeof(T)}-byte elements");
        _owner = data;
        _pointer = (T*)data.Pointer;
        LongLength = data.ByteLength / sizeof(T);
    }

    public static implicit operator QuantBuffer<T>(T[] array) => new(array);

    /// <summary>Elements held.</summary>
    public long LongLength { get; }

    /// <summary>Whether the values live in a mapped file (else in a managed array).</summary>
    public bool IsMapped => _owner is not null;

    /// <summary>The first element, for <c>fixed</c> (pins an array; a mapped region needs no pin).</summary>
    public ref readonly T GetPinnableReference()
    {
        if (_array is not null) return ref MemoryMarshal.GetArrayDataReference(_array);
        if (_owner is null) return ref Unsafe.NullRef<T>();
        _owner.Slice(0, 0); // refuses a closed file
        return ref Unsafe.AsRef<T>(_pointer);
    }

    /// <summary><paramref name="length"/> elements from <paramref name="start"/>.</summary>
    public ReadOnlySpan<T> Slice(long start, int length)
    {
        if (start < 0 || length < 0 || start > LongLength - length)
            throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + length}) are outside a buffer of {LongLength}");
        if (_array is not null) return _array.AsSpan(checked((int)start), length);
        return MemoryMarshal.Cast<byte, T>(_owner!.Slice(start * sizeof(T), length * sizeof(T)));
    }

    public T this[long i] => Slice(i, 1)[0];

    /// <summary>A copy of every element (tests, small matrices).</summary>
    public T[] ToArray()
    {
        var a = new T[LongLength];
        for (long i = 0; i < LongLength; i += int.MaxValue / 16)
        {
            int n = (int)Math.Min(int.MaxValue / 16, LongLength - i);
            Slice(i, n).CopyTo(a.AsSpan(checked((int)i), n));
        }
        return a;
    }
}
