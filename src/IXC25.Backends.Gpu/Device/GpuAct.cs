using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// An activation in the accelerator's memory (the ILGPU backend's tensors): f32, u8 or i64, one dense device
/// buffer. The ops of <see cref="GpuGraphOps"/> read and write it in place, so a forward pass keeps its activations
/// on the device; <see cref="Read{T}"/> and <see cref="Write{T}"/> are the explicit host transfers (inputs, taps,
/// the logits row), in pieces of any size.
/// </summary>
public sealed class GpuAct : Act, IDisposable
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _f;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _b;
    private MemoryBuffer1D<long, Stride1D.Dense>? _l;
    private readonly GpuOps _owner;

    internal GpuAct(GpuOps owner, DType dtype, long[] shape) : base(dtype, shape)
    {
        _owner = owner;
        long n = Math.Max(1, Numel); // ILGPU buffers are never empty
        switch (dtype)
        {
            case DType.F32: _f = owner.Accelerator.Allocate1D<float>(n); break;
            case DType.U8: _b = owner.Accelerator.Allocate1D<byte>(n); break;
            default: _l = owner.Accelerator.Allocate1D<long>(n); break;
        }
    }

    /// <summary>The backend (accelerator) that holds this tensor.</summary>
    public GpuOps Owner => _owner;

    /// <summary>The f32 elements on the device (throws for another dtype or a released tensor).</summary>
    public ArrayView<float> F => Live(_f, DType.F32).View.SubView(0, Numel);

    /// <summary>The u8 elements on the device.</summary>
    public ArrayView<byte> U8 => Live(_b, DType.U8).View.SubView(0, Numel);

    /// <summary>The i64 elements on the device.</summary>
    public ArrayView<long> I64 => Live(_l, DType.I64).View.SubView(0, Numel);

    /// <summary>The f32 elements, or a one-element placeholder when the tensor is empty (kernels take non-empty views).</summary>
    internal ArrayView<float> FOrDummy => Numel == 0 ? Live(_f, DType.F32).View : F;

    /// <summary><paramref name="a"/> as a tensor of this backend; a clear error for another backend's tensor.</summary>
    public static GpuAct Of(Act a) => a as GpuAct
        ?? throw new IxcException($"the ILGPU backend was given a tensor of another backend ({a.GetType().Name} {a}); move it with Upload first");

    private T Live<T>(T? buffer, DType want) where T : class
    {
        if (Released) throw new ObjectDisposedException(nameof(GpuAct), "activation used after release");
        if (DType != want) throw new InvalidOperationException($"activation is {DType.SpecName()}, used as {want.SpecName()}");
        return buffer!;
    }

    public override void Read<T>(long start, Span<T> destination)
    {
        CheckAccess<T>(start, destination.Length);
        if (destination.Length == 0) return;
        var stream = _owner.Accelerator.DefaultStream;
        switch (DType)
        {
            case DType.F32: _f!.View.SubView(start, destination.Length).CopyToCPU(stream, MemoryMarshal.Cast<T, float>(destination)); break;
            case DType.U8: _b!.View.SubView(start, destination.Length).CopyToCPU(stream, MemoryMarshal.Cast<T, byte>(destination)); break;
            default: _l!.View.SubView(start, destination.Length).CopyToCPU(stream, MemoryMarshal.Cast<T, long>(destination)); break;
        }
        stream.Synchronize();
    }

    public override void Write<T>(long start, ReadOnlySpan<T> source)
    {
        CheckAccess<T>(start, source.Length);
        if (source.Length == 0) return;
        var stream = _owner.Accelerator.DefaultStream;
        switch (DType)
        {
            case DType.F32: _f!.View.SubView(start, source.Length).CopyFromCPU(stream, MemoryMarshal.Cast<T, float>(source)); break;
            case DType.U8: _b!.View.SubView(start, source.Length).CopyFromCPU(stream, MemoryMarshal.Cast<T, byte>(source)); break;
            default: _l!.View.SubView(start, source.Length).CopyFromCPU(stream, MemoryMarshal.Cast<T, long>(source)); break;
        }
        stream.Synchronize();
    }

    /// <summary>Same as <see cref="Release"/> (temporaries of the drivers).</summary>
    public void Dispose() => Release();

    public override void Release()
    {
        if (Released) return;
        Released = true;
        _f?.Dispose();
        _b?.Dispose();
        _l?.Dispose();
        _f = null;
        _b = null;
        _l = null;
    }
}
