using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using IXC25.Backends.Gpu.Kernels;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// The ILGPU kernels (mirroring CpuOps): the ops lowered to "ilgpu" in spec/ops.json (<see cref="GpuLowering"/>),
/// with the same span-level signatures as CpuOps, and <see cref="IGpuKernels"/> (generated), which the generated
/// GpuGraphOps calls. Each call uploads its inputs, runs the generated kernel
/// (IXC25.Backends.Gpu.Kernels, compiled once per backend and cached) and copies the result back.
/// Row kernels use one group per row with a fixed-order tree reduction: bit-identical across runs on a
/// given device. Not thread-safe: one backend per thread.
/// </summary>
public sealed partial class GpuOps : IGpuKernels, IDisposable
{
    /// <summary>Largest group used by the row kernels.</summary>
    public const int MaxGroupSize = 128;

    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly Dictionary<string, Delegate> _kernels = new(StringComparer.Ordinal);

    /// <param name="device">The kind of accelerator (Auto: CUDA, then OpenCL, then the CPU accelerator).</param>
    /// <param name="index">Which of the usable devices of that kind (--device N); DeviceSelection.cs.</param>
    public GpuOps(GpuDevice device = GpuDevice.Auto, int index = 0)
    {
        (_context, _accelerator, Device) = DeviceSelection.Open(device, index);
        int group = 1;
        while (group * 2 <= Math.Min(MaxGroupSize, _accelerator.MaxNumThreadsPerGroup)) group *= 2;
        GroupSize = group;
    }

    /// <summary>True when ILGPU finds a CUDA device on this machine.</summary>
    public static bool CudaAvailable => CudaProbe.Value;

    private static readonly Lazy<bool> CudaProbe = new(() =>
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            return context.GetCudaDevices().Count > 0;
        }
        catch (Exception)
        {
            return false; // no driver or an unusable one: no CUDA
        }
    });

    /// <summary>True when the spec lowers <paramref name="op"/> to a generated ILGPU kernel.</summary>
    public static bool Supports(string op) => GpuLowering.KindOf(op) == GpuLowering.Ilgpu;

    /// <summary>The accelerator's name and type, e.g. "CPUAccelerator (CPU)".</summary>
    public string DeviceName => $"{_accelerator.Name} ({_accelerator.AcceleratorType})";

    public bool IsCuda => _accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>Threads per group of the row kernels (a power of two; it fixes the reduction tree).</summary>
    public int GroupSize { get; }

    public void Dispose()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }

    // ------------------------------------------------------------------ IGpuKernels (the generated GpuGraphOps' entry points)

    private static float[] F(NamedTensor t) => t.ToFloat32();

    void IGpuKernels.RmsNorm(ReadOnlySpan<float> x, NamedTensor weight, in RmsNormDims d, RmsNormAttrs attrs, Span<float> y) =>
        RmsNorm(x, d.T, d.C, F(weight), attrs.Eps, y);

    void IGpuKernels.LayerNorm(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor bias, in LayerNormDims d, LayerNormAttrs attrs, Span<float> y) =>
        LayerNorm(x, d.T, d.C, F(weight), F(bias), attrs.Eps, y);

    void IGpuKernels.Gelu(ReadOnlySpan<float> x, in GeluDims d, GeluAttrs attrs, Span<float> y) => Gelu(x, y);

    void IGpuKernels.QuickGelu(ReadOnlySpan<float> x, in QuickGeluDims d, QuickGeluAttrs attrs, Span<float> y) => QuickGelu(x, y);

    void IGpuKernels.SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, in SiluGateDims d, SiluGateAttrs attrs, Span<float> y) => SiluGate(a, b, y);

    void IGpuKernels.Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, in AddDims d, AddAttrs attrs, Span<float> y) => Add(a, b, y);

    void IGpuKernels.Softmax(ReadOnlySpan<float> x, in SoftmaxDims d, SoftmaxAttrs attrs, Span<float> y) => Softmax(x, d.T, d.K, y);

    void IGpuKernels.Rope(ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, in RopeDims d, RopeAttrs attrs, Span<float> y) =>
        Rope(x, d.HX, d.T, d.D, cos, sin, y);

    // ------------------------------------------------------------------ ops

    /// <summary>x [T, C], weight [C], y [T, C].</summary>
    public void RmsNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        Length(x.Length, (long)T * C, "rms_norm", "x");
        Length(weight.Length, C, "rms_norm", "weight");
        Length(y.Length, (long)T * C, "rms_norm", "y");
        if (T == 0 || C == 0) return;
        using var bx = Upload(x);
        using var bw = Upload(weight);
        using var by = _accelerator.Allocate1D<float>(y.Length);
        Kernel("rms_norm", RmsNormGpuKernel.Load)(RmsNormGpuKernel.Config(T, GroupSize), bx.View, bw.View, by.View, C, eps);
        Download(by, y);
    }

    /// <summary>x [T, C], weight [C], bias [C], y [T, C].</summary>
    public void LayerNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y)
    {
        Length(x.Length, (long)T * C, "layer_norm", "x");
        Length(weight.Length, C, "layer_norm", "weight");
        Length(bias.Length, C, "layer_norm", "bias");
        Length(y.Length, (long)T * C, "layer_norm", "y");
        if (T == 0 || C == 0) return;
        using var bx = Upload(x);
        using var bw = Upload(weight);
        using var bb = Upload(bias);
        using var by = _accelerator.Allocate1D<float>(y.Length);
        Kernel("layer_norm", LayerNormGpuKernel.Load)(LayerNormGpuKernel.Config(T, GroupSize), bx.View, bw.View, bb.View, by.View, C, eps);
        Download(by, y);
    }

    public void Gelu(ReadOnlySpan<float> x, Span<float> y) => Unary("gelu", GeluGpuKernel.Load, x, y);

    public void QuickGelu(ReadOnlySpan<float> x, Span<float> y) => Unary("quick_gelu", QuickGeluGpuKernel.Load, x, y);

    public void SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => Binary("silu_gate", SiluGateGpuKernel.Load, a, b, y);

    public void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => Binary("add", AddGpuKernel.Load, a, b, y);

    /// <summary>x [T, K], y [T, K]. A row with NaN, +inf or only -inf is all NaN (as torch).</summary>
    public void Softmax(ReadOnlySpan<float> x, int T, int K, Span<float> y)
    {
        Length(x.Length, (long)T * K, "softmax", "x");
        Length(y.Length, (long)T * K, "softmax", "y");
        if (T == 0 || K == 0) return;
        using var bx = Upload(x);
        using var by = _accelerator.Allocate1D<float>(y.Length);
        Kernel("softmax", SoftmaxGpuKernel.Load)(SoftmaxGpuKernel.Config(T, GroupSize), bx.View, by.View, K);
        Download(by, y);
    }

    /// <summary>x [HX, T, D], cos/sin [T, D], y [HX, T, D].</summary>
    public void Rope(ReadOnlySpan<float> x, int HX, int T, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y)
    {
        if (D <= 0 || D % 2 != 0) throw new IxcException($"rope: head dim {D} must be positive and even");
        Length(x.Length, (long)HX * T * D, "rope", "x");
        Length(cos.Length, (long)T * D, "rope", "cos");
        Length(sin.Length, (long)T * D, "rope", "sin");
        Length(y.Length, (long)HX * T * D, "rope", "y");
        if (HX == 0 || T == 0) return;
        using var bx = Upload(x);
        using var bc = Upload(cos);
        using var bs = Upload(sin);
        using var by = _accelerator.Allocate1D<float>(y.Length);
        Kernel("rope", RopeGpuKernel.Load)(new Index1D(HX * T * (D / 2)), bx.View, bc.View, bs.View, by.View, T, D);
        Download(by, y);
    }

    // ------------------------------------------------------------------ plumbing

    private void Unary(string op, Func<Accelerator, Action<Index1D, ArrayView<float>, ArrayView<float>>> load, ReadOnlySpan<float> x, Span<float> y)
    {
        Length(y.Length, x.Length, op, "y");
        if (x.Length == 0) return;
        using var bx = Upload(x);
        using var by = _accelerator.Allocate1D<float>(y.Length);
        Kernel(op, load)(new Index1D(x.Length), bx.View, by.View);
        Download(by, y);
    }

    private void Binary(string op, Func<Accelerator, Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>> load,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Length(b.Length, a.Length, op, "b");
        Length(y.Length, a.Length, op, "y");
        if (a.Length == 0) return;
        using var ba = Upload(a);
        using var bb = Upload(b);
        using var by = _accelerator.Allocate1D<float>(y.Length);
        Kernel(op, load)(new Index1D(a.Length), ba.View, bb.View, by.View);
        Download(by, y);
    }

    /// <summary>The compiled kernel of an op, loaded on first use.</summary>
    private T Kernel<T>(string op, Func<Accelerator, T> load) where T : Delegate
    {
        if (!_kernels.TryGetValue(op, out var k)) _kernels[op] = k = load(_accelerator);
        return (T)k;
    }

    private MemoryBuffer1D<float, Stride1D.Dense> Upload(ReadOnlySpan<float> data)
    {
        var buffer = _accelerator.Allocate1D<float>(data.Length);
        buffer.View.CopyFromCPU(_accelerator.DefaultStream, data);
        return buffer;
    }

    private void Download(MemoryBuffer1D<float, Stride1D.Dense> buffer, Span<float> target)
    {
        _accelerator.Synchronize();
        buffer.View.CopyToCPU(_accelerator.DefaultStream, target);
    }

    private static void Length(int actual, long expected, string op, string name)
    {
        if (actual != expected) throw new IxcException($"{op}: '{name}' has {actual} elements, expected {expected}");
    }
}
