using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// One decoder layer's KV cache: keys and values [HKV, capacity, D], the first <see cref="Length"/> rows
/// of each head valid. Keys are stored already rotated (RoPE), as upstream's cache holds them. Storage
/// is float32, or bf16/f16 to halve the memory at long contexts (rounded to nearest even when written;
/// read back exactly). Capacity grows by doubling (a copy), up to the maximum given at creation.
/// </summary>
public sealed class KvLayer
{
    private float[] _k32 = [], _v32 = [];
    private ushort[] _k16 = [], _v16 = [];

    public KvLayer(int kvHeads, int headDim, DType storage, int maxTokens, int initialCapacity = 256)
    {
        if (storage is not (DType.F32 or DType.BF16 or DType.F16)) throw new IxcException($"KV cache dtype must be f32, bf16 or f16 (got {storage.SpecName()})");
        HKV = kvHeads;
        D = headDim;
        Storage = storage;
        MaxTokens = maxTokens;
        Grow(Math.Min(Math.Max(1, initialCapacity), maxTokens));
    }

    public int HKV { get; }
    public int D { get; }
    public DType Storage { get; }
    public int MaxTokens { get; }
    public int Capacity { get; private set; }
    /// <summary>Valid rows (tokens) per head.</summary>
    public int Length { get; private set; }

    public long Bytes => 2L * HKV * Capacity * D * Storage.Size();

    /// <summary>Makes room for <paramref name="extra"/> more rows.</summary>
    public void Reserve(int extra)
    {
        long need = (long)Length + extra;
        if (need > MaxTokens) throw new IxcException($"KV cache full: {need} tokens needed, the cache holds at most {MaxTokens}");
        if (need <= Capacity) return;
        long cap = Capacity;
        while (cap < need) cap *= 2;
        Grow((int)Math.Min(cap, MaxTokens));
    }

    private void Grow(int capacity)
    {
        long n = (long)HKV * capacity * D;
        if (n > Array.MaxLength) throw new IxcException($"KV cache of {capacity} tokens per layer is too large for one array; use a smaller context or bf16 storage");
        if (Storage == DType.F32)
        {
            var k = new float[n]; var v = new float[n];
            for (int g = 0; g < HKV; g++)
            {
                _k32.AsSpan(g * Capacity * D, Length * D).CopyTo(k.AsSpan(g * capacity * D));
                _v32.AsSpan(g * Capacity * D, Length * D).CopyTo(v.AsSpan(g * capacity * D));
            }
            _k32 = k; _v32 = v;
        }
        else
        {
            var k = new ushort[n]; var v = new ushort[n];
            for (int g = 0; g < HKV; g++)
            {
                _k16.AsSpan(g * Capacity * D, Length * D).CopyTo(k.AsSpan(g * capacity * D));
                _v16.AsSpan(g * Capacity * D, Length * D).CopyTo(v.AsSpan(g * capacity * D));
            }
            _k16 = k; _v16 = v;
        }
        Capacity = capacity;
    }

    /// <summary>Writes row <paramref name="t"/> of head <paramref name="g"/> (key and value, D values each).</summary>
    public void Write(int g, int t, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        int off = (g * Capacity + t) * D;
        switch (Storage)
        {
            case DType.F32:
                key.CopyTo(_k32.AsSpan(off, D));
                value.CopyTo(_v32.AsSpan(off, D));
                break;
            case DType.BF16:
                BFloat16.Narrow(key, _k16.AsSpan(off, D));
                BFloat16.Narrow(value, _v16.AsSpan(off, D));
                break;
            default:
                for (int d = 0; d < D; d++)
                {
                    _k16[off + d] = BitConverter.HalfToUInt16Bits((Half)key[d]);
                    _v16[off + d] = BitConverter.HalfToUInt16Bits((Half)value[d]);
                }
                break;
        }
    }

    /// <summary>Reads row <paramref name="t"/> of head <paramref name="g"/> as float32.</summary>
    public void Read(int g, int t, Span<float> key, Span<float> value)
    {
        int off = (g * Capacity + t) * D;
        switch (Storage)
        {
            case DType.F32:
                _k32.AsSpan(off, D).CopyTo(key);
                _v32.AsSpan(off, D).CopyTo(value);
                break;
            case DType.BF16:
                BFloat16.Widen(_k16.AsSpan(off, D), key);
                BFloat16.Widen(_v16.AsSpan(off, D), value);
                break;
            default:
                for (int d = 0; d < D; d++)
                {
                    key[d] = (float)BitConverter.UInt16BitsToHalf(_k16[off + d]);
                    value[d] = (float)BitConverter.UInt16BitsToHalf(_v16[off + d]);
                }
                break;
        }
    }

    /// <summary>Float32 key/value storage of head g: rows [0, Capacity) of D values (f32 caches only; fast kernels read it in place).</summary>
    public Span<float> Keys32(int g) => Storage == DType.F32 ? _k32.AsSpan(g * Capacity * D, Capacity * D) : throw new InvalidOperationException("not a float32 cache");
    public Span<float> Values32(int g) => Storage == DType.F32 ? _v32.AsSpan(g * Capacity * D, Capacity * D) : throw new InvalidOperationException("not a float32 cache");
    /// <summary>16-bit storage (bf16 or f16 bits) of head g.</summary>
    public Span<ushort> Keys16(int g) => Storage != DType.F32 ? _k16.AsSpan(g * Capacity * D, Capacity * D) : throw new InvalidOperationException("not a 16-bit cache");
    public Span<ushort> Values16(int g) => Storage != DType.F32 ? _v16.AsSpan(g * Capacity * D, Capacity * D) : throw new InvalidOperationException("not a 16-bit cache");

    /// <summary>Marks <paramref name="count"/> more rows valid (after writing them).</summary>
    public void Advance(int count)
    {
        if (count < 0 || Length + count > Capacity) throw new InvalidOperationException("advance past capacity");
        Length += count;
    }

    /// <summary>Forgets rows from <paramref name="length"/> on (to reuse a prefix).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
    }

    /// <summary>Copies head rows to another cache (beam search reorders caches this way).</summary>
    public void CopyTo(KvLayer other)
    {
        if (other.HKV != HKV || other.D != D || other.Storage != Storage) throw new ArgumentException("incompatible caches");
        other.Length = 0;
        other.Reserve(Length);
        var k = new float[D]; var v = new float[D];
        for (int g = 0; g < HKV; g++)
            for (int t = 0; t < Length; t++) { Read(g, t, k, v); other.Write(g, t, k, v); }
        other.Length = Length;
    }
}
