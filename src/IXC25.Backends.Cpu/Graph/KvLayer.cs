using IXC25.Backends.Cpu.Attention;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// One decoder layer's KV cache: keys (already rotated, as upstream's cache holds them) and values of the
/// tokens seen so far, per KV head. Float32 storage is the attention kernels' panel layout
/// (<see cref="KvCache"/>, native memory, read in place); bf16 or f16 storage halves the memory for long
/// contexts (values rounded to nearest even when stored, widened exactly when read; the attention then
/// runs over a float32 copy of the stored tokens, an O(length) conversion per pass). Capacity grows by
/// doubling up to <see cref="MaxTokens"/>. Not thread-safe: a cache belongs to one sequence.
/// </summary>
public sealed class KvLayer : IDisposable
{
    private readonly KvCache? _fast;
    private ushort[] _k16 = [], _v16 = [];
    private int _capacity16;
    private int _length16;

    public KvLayer(int kvHeads, int headDim, DType storage, int maxTokens, int initialCapacity = 256)
    {
        if (storage is not (DType.F32 or DType.BF16 or DType.F16)) throw new IxcException($"KV cache dtype must be f32, bf16 or f16 (got {storage.SpecName()})");
        if (maxTokens < 1) throw new IxcException($"KV cache: maximum {maxTokens} tokens must be positive");
        HKV = kvHeads;
        D = headDim;
        Storage = storage;
        MaxTokens = maxTokens;
        int initial = Math.Min(Math.Max(1, initialCapacity), maxTokens);
        if (storage == DType.F32) _fast = new KvCache(kvHeads, headDim, initial);
        else Grow16(initial);
    }

    public int HKV { get; }
    public int D { get; }
    public DType Storage { get; }
    public int MaxTokens { get; }

    /// <summary>The float32 panel cache the attention kernels read in place (null for 16-bit storage).</summary>
    public KvCache? Fast => _fast;

    /// <summary>Tokens stored per head.</summary>
    public int Length => _fast?.Length ?? _length16;

    public int Capacity => _fast?.Capacity ?? _capacity16;

    /// <summary>Bytes of key and value storage held.</summary>
    public long Bytes => _fast is { } f ? (long)HKV * f.Capacity * (D + (D + 31) / 32 * 32) * 4 : 2L * HKV * _capacity16 * D * 2;

    /// <summary>Makes room for <paramref name="extra"/> more tokens (within <see cref="MaxTokens"/>).</summary>
    public void Reserve(int extra)
    {
        long need = (long)Length + extra;
        if (need > MaxTokens) throw new IxcException($"KV cache full: {need} tokens needed, the cache holds at most {MaxTokens} (--max-context)");
        if (_fast is not null) { _fast.Reserve((int)need); return; }
        if (need <= _capacity16) return;
        long cap = Math.Max(1, _capacity16);
        while (cap < need) cap *= 2;
        Grow16((int)Math.Min(cap, MaxTokens));
    }

    private void Grow16(int capacity)
    {
        long n = (long)HKV * capacity * D;
        if (n > Array.MaxLength) throw new IxcException($"KV cache of {capacity} tokens per layer is too large for one array");
        var k = new ushort[n];
        var v = new ushort[n];
        for (int g = 0; g < HKV; g++)
        {
            _k16.AsSpan(g * _capacity16 * D, _length16 * D).CopyTo(k.AsSpan(g * capacity * D));
            _v16.AsSpan(g * _capacity16 * D, _length16 * D).CopyTo(v.AsSpan(g * capacity * D));
        }
        _k16 = k;
        _v16 = v;
        _capacity16 = capacity;
    }

    /// <summary>Appends T tokens: k, v [HKV, T, D] (keys already rotated).</summary>
    public void Append(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T)
    {
        long n = (long)HKV * T * D;
        if (T < 0 || k.Length != n || v.Length != n) throw new IxcException($"KV cache append: k has {k.Length} and v {v.Length} values, expected {n} ([{HKV}, {T}, {D}])");
        Reserve(T);
        if (_fast is not null) { _fast.Append(k, v, T); return; }
        for (int g = 0; g < HKV; g++)
            for (int t = 0; t < T; t++)
            {
                int src = (g * T + t) * D, dst = (g * _capacity16 + _length16 + t) * D;
                Narrow(k.Slice(src, D), _k16.AsSpan(dst, D));
                Narrow(v.Slice(src, D), _v16.AsSpan(dst, D));
            }
        _length16 += T;
    }

    /// <summary>Copies the stored tokens out as float32 k, v [HKV, Length, D].</summary>
    public void CopyTo(Span<float> k, Span<float> v)
    {
        if (_fast is not null) { _fast.CopyTo(k, v); return; }
        long n = (long)HKV * _length16 * D;
        if (k.Length != n || v.Length != n) throw new IxcException($"KV cache copy: k has {k.Length} and v {v.Length} values, expected {n}");
        for (int g = 0; g < HKV; g++)
            for (int t = 0; t < _length16; t++)
            {
                int src = (g * _capacity16 + t) * D, dst = (g * _length16 + t) * D;
                Widen(_k16.AsSpan(src, D), k.Slice(dst, D));
                Widen(_v16.AsSpan(src, D), v.Slice(dst, D));
            }
    }

    private void Narrow(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (Storage == DType.BF16) BFloat16.Narrow(src, dst);
        else for (int i = 0; i < src.Length; i++) dst[i] = BitConverter.HalfToUInt16Bits((Half)src[i]);
    }

    private void Widen(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (Storage == DType.BF16) BFloat16.Widen(src, dst);
        else for (int i = 0; i < src.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(src[i]);
    }

    /// <summary>Forgets tokens from <paramref name="length"/> on (to reuse a prefix).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        if (_fast is not null) _fast.Truncate(length);
        else _length16 = length;
    }

    /// <summary>Makes <paramref name="other"/> hold the same tokens (beam search reassigns caches this way).</summary>
    public void CopyTo(KvLayer other)
    {
        if (other.HKV != HKV || other.D != D || other.Storage != Storage) throw new ArgumentException("incompatible caches");
        other.Truncate(0);
        if (Length == 0) return;
        if (_fast is null)
        {
            other.Reserve(_length16);
            for (int g = 0; g < HKV; g++)
            {
                _k16.AsSpan(g * _capacity16 * D, _length16 * D).CopyTo(other._k16.AsSpan(g * other._capacity16 * D));
                _v16.AsSpan(g * _capacity16 * D, _length16 * D).CopyTo(other._v16.AsSpan(g * other._capacity16 * D));
            }
            other._length16 = _length16;
            return;
        }
        var k = new float[(long)HKV * Length * D];
        var v = new float[k.Length];
        CopyTo(k, v);
        other.Append(k, v, Length);
    }

    public void Dispose()
    {
        _fast?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The float32 cache lives in native memory: freed here if the owner never disposed it.</summary>
    ~KvLayer() => _fast?.Dispose();
}
