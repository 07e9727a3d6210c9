using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>How a weight is stored on the device (kernels widen it to float32 exactly as they read it).</summary>
public enum WeightKind
{
    F32 = 0,
    BF16 = 1,
    F16 = 2,
}

/// <summary>One weight on the device in its stored precision: f32 in <see cref="W32"/>, bf16/f16 bits in <see cref="W16"/>.</summary>
public sealed class DeviceWeight(WeightKind kind, MemoryBuffer1D<float, Stride1D.Dense>? w32, MemoryBuffer1D<ushort, Stride1D.Dense>? w16, long numel, long bytes) : IDisposable
{
    public WeightKind Kind { get; } = kind;
    public long Numel { get; } = numel;
    public long Bytes { get; } = bytes;
    /// <summary>The f32 elements, or a one-element placeholder for a 16-bit weight.</summary>
    public ArrayView<float> W32 => w32?.View ?? Placeholder32!.View;
    /// <summary>The 16-bit elements, or a one-element placeholder for an f32 weight.</summary>
    public ArrayView<ushort> W16 => w16?.View ?? Placeholder16!.View;
    public int KindCode => (int)Kind;

    internal MemoryBuffer1D<float, Stride1D.Dense>? Placeholder32 { get; init; }
    internal MemoryBuffer1D<ushort, Stride1D.Dense>? Placeholder16 { get; init; }

    public void Dispose()
    {
        w32?.Dispose();
        w16?.Dispose();
    }
}

/// <summary>
/// The weights on the device: each checkpoint tensor an op names is uploaded once, in its stored precision (bf16
/// stays bf16), and kept for the backend's lifetime, keyed by the tensor object (the model binds each weight
/// once). <see cref="Preload"/> uploads a list up front (the load) after checking that it fits.
/// </summary>
public sealed class DeviceWeights : IDisposable
{
    private const int Piece = 1 << 24; // elements per host-to-device copy (tensors of any size, mapped or not)
    private readonly Accelerator _accelerator;
    private readonly Dictionary<NamedTensor, DeviceWeight> _byTensor = new(ReferenceEqualityComparer.Instance);
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _placeholder32;
    private readonly MemoryBuffer1D<ushort, Stride1D.Dense> _placeholder16;

    public DeviceWeights(Accelerator accelerator)
    {
        _accelerator = accelerator;
        _placeholder32 = accelerator.Allocate1D<float>(1);
        _placeholder16 = accelerator.Allocate1D<ushort>(1);
    }

    /// <summary>Bytes of weights held on the device.</summary>
    public long Bytes { get; private set; }

    /// <summary>Weights held.</summary>
    public int Count => _byTensor.Count;

    /// <summary>The device copy of <paramref name="t"/>, uploaded on first use.</summary>
    public DeviceWeight Get(NamedTensor t)
    {
        if (_byTensor.TryGetValue(t, out var w)) return w;
        w = Upload(t);
        _byTensor[t] = w;
        Bytes += w.Bytes;
        return w;
    }

    /// <summary>A one-element f32 placeholder for an absent optional weight (kernels take non-empty views).</summary>
    internal ArrayView<float> Placeholder32 => _placeholder32.View;

    /// <summary>
    /// <paramref name="t"/> as float32 on the device (norm parameters and biases, which the generated row kernels read
    /// as f32): the f32 weight itself, or a copy widened exactly once on the host.
    /// </summary>
    public ArrayView<float> GetF32(NamedTensor t)
    {
        if (t.DType == DType.F32) return Get(t).W32;
        if (_widened.TryGetValue(t, out var b)) return b.View;
        b = _accelerator.Allocate1D(t.ToFloat32());
        _widened[t] = b;
        Bytes += t.Numel * 4;
        return b.View;
    }

    private readonly Dictionary<NamedTensor, MemoryBuffer1D<float, Stride1D.Dense>> _widened = new(ReferenceEqualityComparer.Instance);

    /// <summary>Device bytes <paramref name="t"/> takes (its stored size).</summary>
    public static long BytesOf(NamedTensor t) => t.Numel * (t.DType == DType.F32 ? 4 : 2);

    private DeviceWeight Upload(NamedTensor t)
    {
        var stream = _accelerator.DefaultStream;
        long n = t.Numel;
        switch (t.DType)
        {
            case DType.F32:
            {
                var buf = _accelerator.Allocate1D<float>(Math.Max(1, n));
                for (long s = 0; s < n; s += Piece)
                {
                    int c = (int)Math.Min(Piece, n - s);
                    buf.View.SubView(s, c).CopyFromCPU(stream, MemoryMarshal.Cast<byte, float>(t.ByteSlice(s * 4, c * 4)));
                }
                stream.Synchronize();
                return new DeviceWeight(WeightKind.F32, buf, null, n, n * 4) { Placeholder16 = _placeholder16 };
            }
            case DType.BF16:
            case DType.F16:
            {
                var buf = _accelerator.Allocate1D<ushort>(Math.Max(1, n));
                for (long s = 0; s < n; s += Piece)
                {
                    int c = (int)Math.Min(Piece, n - s);
                    buf.View.SubView(s, c).CopyFromCPU(stream, MemoryMarshal.Cast<byte, ushort>(t.ByteSlice(s * 2, c * 2)));
                }
                stream.Synchronize();
                return new DeviceWeight(t.DType == DType.BF16 ? WeightKind.BF16 : WeightKind.F16, null, buf, n, n * 2) { Placeholder32 = _placeholder32 };
            }
            default:
                throw new IxcException($"weight '{t.Name}' is {t.DType.SpecName()}; the ILGPU backend holds f32, bf16 and f16 weights");
        }
    }

    public void Dispose()
    {
        foreach (var w in _byTensor.Values) w.Dispose();
        _byTensor.Clear();
        foreach (var b in _widened.Values) b.Dispose();
        _widened.Clear();
        _placeholder32.Dispose();
        _placeholder16.Dispose();
    }
}
