using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Reference;

/// <summary>
/// The reference backend's KV cache: per KV head, the keys and values of the stored tokens as plain
/// float32 arrays [HKV][tokens * D]. With bf16/f16 storage every value is rounded to the storage dtype
/// when appended (as the CPU backend stores it), so a trace compares with the same cache contents.
/// </summary>
public sealed class RefKvLayer : KvLayer
{
    private float[][] _k, _v;
    private int _length, _capacity;

    public RefKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) : base(kvHeads, headDim, storage, maxTokens)
    {
        _k = new float[kvHeads][];
        _v = new float[kvHeads][];
        for (int g = 0; g < kvHeads; g++) { _k[g] = []; _v[g] = []; }
    }

    public override int Length => _length;
    public override int Capacity => _capacity;
    public override long Bytes => 2L * HKV * _capacity * D * 4;

    public override void Reserve(int extra)
    {
        long need = (long)_length + extra;
        if (need > MaxTokens) throw Full(need);
        if (need <= _capacity) return;
        int cap = (int)Math.Min(MaxTokens, Math.Max(need, 2L * _capacity));
        if ((long)cap * D > Array.MaxLength) throw new IxcException($"KV cache of {cap} tokens per head is too large for one array");
        for (int g = 0; g < HKV; g++)
        {
            Array.Resize(ref _k[g], cap * D);
            Array.Resize(ref _v[g], cap * D);
        }
        _capacity = cap;
    }

    public override void Append(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T)
    {
        long n = (long)HKV * T * D;
        if (T < 0 || k.Length != n || v.Length != n) throw new IxcException($"KV cache append: k has {k.Length} and v {v.Length} values, expected {n} ([{HKV}, {T}, {D}])");
        Reserve(T);
        for (int g = 0; g < HKV; g++)
            for (int i = 0; i < T * D; i++)
            {
                _k[g][_length * D + i] = Stored(k[g * T * D + i]);
                _v[g][_length * D + i] = Stored(v[g * T * D + i]);
            }
        _length += T;
    }


    public override void CopyTo(Span<float> k, Span<float> v)
    {
        long n = (long)HKV * _length * D;
        if (k.Length != n || v.Length != n) throw new IxcException($"KV cache copy: k has {k.Length} and v {v.Length} values, expected {n}");
        for (int g = 0; g < HKV; g++)
        {
            _k[g].AsSpan(0, _length * D).CopyTo(k.Slice(g * _length * D));
            _v[g].AsSpan(0, _length * D).CopyTo(v.Slice(g * _length * D));
        }
    }

    public override void Truncate(int length)
    {
        if (length < 0 || length > _length) throw new ArgumentOutOfRangeException(nameof(length));
        _length = length;
    }
}
