using ILGPU;
using ILGPU.Runtime;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// One decoder layer's KV cache in the accelerator's memory: keys and values [HKV, capacity, D] in float32, each
/// value rounded to the storage dtype (bf16/f16: nearest even) when written, as the CPU and reference caches hold
/// them. The attention op writes and reads it in place; <see cref="Append"/> and <see cref="CopyTo(Span{float}, Span{float})"/>
/// are the explicit host transfers. Growing reallocates and copies on the device.
/// </summary>
public sealed class GpuKvLayer : KvLayer
{
    private readonly Accelerator _accelerator;
    private MemoryBuffer1D<float, Stride1D.Dense> _k, _v;
    private int _length, _capacity;

    internal GpuKvLayer(Accelerator accelerator, int kvHeads, int headDim, DType storage, int maxTokens) : base(kvHeads, headDim, storage, maxTokens)
    {
        _accelerator = accelerator;
        _k = accelerator.Allocate1D<float>(1);
        _v = accelerator.Allocate1D<float>(1);
    }

    public override int Length => _length;
    public override int Capacity => _capacity;
    public override long Bytes => 2L * HKV * _capacity * D * 4;

    /// <summary>0 f32, 1 bf16, 2 f16 (the kernels' storage code).</summary>
    internal int StorageCode => Storage switch { DType.BF16 => 1, DType.F16 => 2, _ => 0 };

    internal ArrayView<float> K => _k.View;
    internal ArrayView<float> V => _v.View;

    /// <summary>Device bytes a cache of <paramref name="tokens"/> tokens takes.</summary>
    public static long BytesFor(int kvHeads, int headDim, long tokens) => 2L * kvHeads * tokens * headDim * 4;

    public override void Reserve(int extra)
    {
        long need = (long)_length + extra;
        if (need > MaxTokens) throw Full(need);
        if (need <= _capacity) return;
        int cap = (int)Math.Min(MaxTokens, Math.Max(need, 2L * _capacity));
        var k = _accelerator.Allocate1D<float>((long)HKV * cap * D);
        var v = _accelerator.Allocate1D<float>((long)HKV * cap * D);
        var stream = _accelerator.DefaultStream;
        if (_length > 0)
            for (int g = 0; g < HKV; g++)
            {
                _k.View.SubView((long)g * _capacity * D, (long)_length * D).CopyTo(stream, k.View.SubView((long)g * cap * D, (long)_length * D));
                _v.View.SubView((long)g * _capacity * D, (long)_length * D).CopyTo(stream, v.View.SubView((long)g * cap * D, (long)_length * D));
            }
        stream.Synchronize();
        _k.Dispose();
        _v.Dispose();
        _k = k;
        _v = v;
        _capacity = cap;
    }

    /// <summary>Marks <paramref name="T"/> rows written by a kernel at [Length, Length + T) as stored (after <see cref="Reserve"/>).</summary>
    internal void Advance(int T) => _length += T;

    public override void Append(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T)
    {
        long n = (long)HKV * T * D;
        if (T < 0 || k.Length != n || v.Length != n) throw new IxcException($"KV cache append: k has {k.Length} and v {v.Length} values, expected {n} ([{HKV}, {T}, {D}])");
        Reserve(T);
        var stream = _accelerator.DefaultStream;
        var ks = new float[T * D];
        var vs = new float[T * D];
        for (int g = 0; g < HKV; g++)
        {
            for (int i = 0; i < T * D; i++)
            {
                ks[i] = Stored(k[g * T * D + i]);
                vs[i] = Stored(v[g * T * D + i]);
            }
            if (T == 0) continue;
            _k.View.SubView(((long)g * _capacity + _length) * D, (long)T * D).CopyFromCPU(stream, ks);
            _v.View.SubView(((long)g * _capacity + _length) * D, (long)T * D).CopyFromCPU(stream, vs);
        }
        stream.Synchronize();
        _length += T;
    }


    public override void CopyTo(Span<float> k, Span<float> v)
    {
        long n = (long)HKV * _length * D;
        if (k.Length != n || v.Length != n) throw new IxcException($"KV cache copy: k has {k.Length} and v {v.Length} values, expected {n}");
        if (_length == 0) return;
        var stream = _accelerator.DefaultStream;
        for (int g = 0; g < HKV; g++)
        {
            _k.View.SubView((long)g * _capacity * D, (long)_length * D).CopyToCPU(stream, k.Slice(g * _length * D, _length * D));
            _v.View.SubView((long)g * _capacity * D, (long)_length * D).CopyToCPU(stream, v.Slice(g * _length * D, _length * D));
        }
        stream.Synchronize();
    }

    public override void CopyTo(KvLayer other)
    {
        if (other is not GpuKvLayer o || o._accelerator != _accelerator)
        {
            base.CopyTo(other);
            return;
        }
        CheckCompatible(other);
        o.Truncate(0);
        if (_length == 0) return;
        o.Reserve(_length);
        var stream = _accelerator.DefaultStream;
        for (int g = 0; g < HKV; g++)
        {
            _k.View.SubView((long)g * _capacity * D, (long)_length * D).CopyTo(stream, o._k.View.SubView((long)g * o._capacity * D, (long)_length * D));
            _v.View.SubView((long)g * _capacity * D, (long)_length * D).CopyTo(stream, o._v.View.SubView((long)g * o._capacity * D, (long)_length * D));
        }
        stream.Synchronize();
        o._length = _length;
    }

    public override void Truncate(int length)
    {
        if (length < 0 || length > _length) throw new ArgumentOutOfRangeException(nameof(length));
        _length = length;
    }

    protected override void Dispose(bool disposing)
    {
        _k.Dispose();
        _v.Dispose();
    }
}
