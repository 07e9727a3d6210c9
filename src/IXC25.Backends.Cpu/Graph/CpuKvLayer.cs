using IXC25.Backends.Cpu.Attention;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// The CPU backend's KV cache of one decoder layer (<see cref="KvLayer"/>). Float32 storage is the attention
/// kernels' panel layout (<see cref="KvPanels"/>, native memory, read in place); bf16 or f16 storage halves the memory for long
/// contexts (values rounded to nearest even when stored, widened exactly when read; the attention then
/// runs over a float32 copy of the stored tokens, an O(length) conversion per pass). Capacity grows by
/// doubling up to <see cref="KvLayer.MaxTokens"/>. Not thread-safe: a cache belongs to one sequence.
/// </summary>
public sealed class CpuKvLayer : KvLayer
{
    private readonly KvPanels? _fast;
    private ushort[] _k16 = [], _v16 = [];
    private int _capacity16;
    private int _length16;

    public CpuKvLayer(int kvHeads, int headDim, DType storage, int maxTokens, int initialCapacity = 256)
        : base(kvHeads, headDim, storage, maxTokens)
    {
        int initial = Math.Min(Math.Max(1, initialCapacity), maxTokens);
        if (storage == DType.F32) _fast = new KvPanels(kvHeads, headDim, initial);
        else Grow16(initial);
    }

    /// <summary>The float32 panel cache the attention kernels read in place (null for 16-bit storage).</summary>
    public KvPanels? Fast => _fast;

    /// <summary>Tokens stored per head.</summary>
    public override int Length => _fast?.Length ?? _length16;

    public override int Capacity => _fast?.Capacity ?? _capacity16;

    /// <summary>Bytes of key and value storage held.</summary>
    public override long Bytes => _fast is { } f ? (long)HKV * f.Capacity * (D + (D + 31) / 32 * 32) * 4 : 2L * HKV * _capacity16 * D * 2;

    /// <summary>Makes room for <paramref name="extra"/> more tokens (within <see cref="MaxTokens"/>).</summary>
    public override void Reserve(int extra)
    {
        long need = (long)Length + extra;
        if (need > MaxTokens) throw Full(need);
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
    public override void Append(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T)
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
    public override void CopyTo(Span<float> k, Span<float> v)
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
    public override void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length));
        if (_fast is not null) _fast.Truncate(length);
        else _length16 = length;
    }

    /// <summary>Makes <paramref name="other"/> hold the same tokens (beam search reassigns caches this way).</summary>
    public override void CopyTo(KvLayer other)
    {
        CheckCompatible(other);
        if (_fast is null && other is CpuKvLayer o16)
        {
            o16.Truncate(0);
            if (Length == 0) return;
            o16.Reserve(_length16);
            for (int g = 0; g < HKV; g++)
            {
                _k16.AsSpan(g * _capacity16 * D, _length16 * D).CopyTo(o16._k16.AsSpan(g * o16._capacity16 * D));
                _v16.AsSpan(g * _capacity16 * D, _length16 * D).CopyTo(o16._v16.AsSpan(g * o16._capacity16 * D));
            }
            o16._length16 = _length16;
            return;
        }
        base.CopyTo(other);
    }

    protected override void Dispose(bool disposing) => _fast?.Dispose();

    /// <summary>The float32 cache lives in native memory: freed here if the owner never disposed it.</summary>
    ~CpuKvLayer() => Dispose(false);
}
