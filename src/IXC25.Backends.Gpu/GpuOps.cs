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
/// The ILGPU kernels of every graph op over device-resident tensors (<see cref="GpuAct"/>), implementing the
/// generated <see cref="IGpuKernels"/> that the generated <see cref="GpuGraphOps"/> calls: the ops lowered to
/// "ilgpu" run the kernels generated from spec/ops.json (IXC25.Backends.Gpu.Kernels.&lt;Op&gt;GpuKernel), the ops
/// lowered to "driver" the hand-written kernels of Kernels/ (GpuOps.Linear, GpuOps.Attention, GpuOps.Vision).
/// Weights are uploaded once in their stored precision (<see cref="DeviceWeights"/>); activations and KV caches
/// stay on the device. Every kernel sums in a fixed order with no atomics: bit-identical from run to run on a
/// device. Kernels compile once per backend. Not thread-safe: one backend per thread.
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
    /// <param name="simulatorGroup">Threads per group when the device is ILGPU's CPU accelerator (DeviceSelection.SimulatorDevice).</param>
    public GpuOps(GpuDevice device = GpuDevice.Auto, int index = 0, int simulatorGroup = DeviceSelection.DefaultSimulatorGroup)
    {
        (_context, _accelerator, Device) = DeviceSelection.Open(device, index, simulatorGroup);
        int widest = _accelerator.AcceleratorType == AcceleratorType.CPU ? simulatorGroup : _accelerator.MaxNumThreadsPerGroup;
        GroupSize = PowerOfTwoAtMost(Math.Min(MaxGroupSize, widest));
        int ts = 1;
        while ((ts * 2) * (ts * 2) <= widest && ts * 2 <= 16) ts *= 2;
        TileSide = ts;
        Weights = new DeviceWeights(_accelerator);
        _flag = _accelerator.Allocate1D<int>(1);
    }

    private static int PowerOfTwoAtMost(int n)
    {
        int g = 1;
        while (g * 2 <= n) g *= 2;
        return g;
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

    /// <summary>True when the spec gives <paramref name="op"/> to this backend (a generated kernel or a driver).</summary>
    public static bool Supports(string op) => GpuLowering.KindOf(op) is GpuLowering.Ilgpu or GpuLowering.Driver;

    /// <summary>The accelerator's name and type, e.g. "CPUAccelerator (CPU)".</summary>
    public string DeviceName => $"{_accelerator.Name} ({_accelerator.AcceleratorType})";

    public bool IsCuda => _accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>Bytes of memory the device has (ILGPU's CPU accelerator reports no real limit: its memory is the
    /// host's, so the host's total available to this process).</summary>
    public long DeviceMemory => _accelerator.AcceleratorType == AcceleratorType.CPU
        ? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes
        : _accelerator.MemorySize;

    internal Accelerator Accelerator => _accelerator;

    /// <summary>The weights held on the device.</summary>
    public DeviceWeights Weights { get; }

    /// <summary>Threads per group of the row kernels (a power of two; it fixes the reduction tree).</summary>
    public int GroupSize { get; }

    /// <summary>Threads per side of the tiled product's square group.</summary>
    public int TileSide { get; }

    private readonly MemoryBuffer1D<int, Stride1D.Dense> _flag;

    // ------------------------------------------------------------------ tensors

    /// <summary>A new device tensor (contents unspecified).</summary>
    public GpuAct Alloc(DType dtype, params long[] shape) => new(this, dtype, shape);

    /// <summary>Copies count elements between two device tensors of one dtype.</summary>
    public void Copy(GpuAct source, long sourceStart, GpuAct destination, long destinationStart, long count)
    {
        if (source.DType != destination.DType) throw new IxcException($"copy between {source} and {destination}: different dtypes");
        if (count < 0 || sourceStart < 0 || destinationStart < 0 || sourceStart + count > source.Numel || destinationStart + count > destination.Numel)
            throw new IxcException($"copy of {count} elements from {source} at {sourceStart} to {destination} at {destinationStart} is out of range");
        if (count == 0) return;
        var stream = _accelerator.DefaultStream;
        switch (source.DType)
        {
            case DType.F32: source.F.SubView(sourceStart, count).CopyTo(stream, destination.F.SubView(destinationStart, count)); break;
            case DType.U8: source.U8.SubView(sourceStart, count).CopyTo(stream, destination.U8.SubView(destinationStart, count)); break;
            default: source.I64.SubView(sourceStart, count).CopyTo(stream, destination.I64.SubView(destinationStart, count)); break;
        }
    }

    /// <summary>An empty KV cache on the device.</summary>
    public GpuKvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => new(_accelerator, kvHeads, headDim, storage, maxTokens);

    /// <summary>Waits for every launched kernel.</summary>
    public void Synchronize() => _accelerator.Synchronize();

    public void Dispose()
    {
        Weights.Dispose();
        _flag.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }

    // ------------------------------------------------------------------ the ops with generated kernels ("ilgpu")

    void IGpuKernels.RmsNorm(GpuAct x, NamedTensor weight, in RmsNormDims d, RmsNormAttrs attrs, GpuAct y)
    {
        if (d.T == 0 || d.C == 0) return;
        var w = Weights32(weight);
        Kernel("rms_norm", RmsNormGpuKernel.Load)(RmsNormGpuKernel.Config(d.T, GroupSize), x.F, w, y.F, d.C, attrs.Eps);
    }

    void IGpuKernels.LayerNorm(GpuAct x, NamedTensor weight, NamedTensor bias, in LayerNormDims d, LayerNormAttrs attrs, GpuAct y)
    {
        if (d.T == 0 || d.C == 0) return;
        Kernel("layer_norm", LayerNormGpuKernel.Load)(LayerNormGpuKernel.Config(d.T, GroupSize), x.F, Weights32(weight), Weights32(bias), y.F, d.C, attrs.Eps);
    }

    void IGpuKernels.Gelu(GpuAct x, in GeluDims d, GeluAttrs attrs, GpuAct y) => Unary("gelu", GeluGpuKernel.Load, x, y);

    void IGpuKernels.QuickGelu(GpuAct x, in QuickGeluDims d, QuickGeluAttrs attrs, GpuAct y) => Unary("quick_gelu", QuickGeluGpuKernel.Load, x, y);

    void IGpuKernels.SiluGate(GpuAct a, GpuAct b, in SiluGateDims d, SiluGateAttrs attrs, GpuAct y) => Binary("silu_gate", SiluGateGpuKernel.Load, a, b, y);

    void IGpuKernels.Add(GpuAct a, GpuAct b, in AddDims d, AddAttrs attrs, GpuAct y) => Binary("add", AddGpuKernel.Load, a, b, y);

    void IGpuKernels.Softmax(GpuAct x, in SoftmaxDims d, SoftmaxAttrs attrs, GpuAct y)
    {
        if (d.T == 0 || d.K == 0) return;
        Kernel("softmax", SoftmaxGpuKernel.Load)(SoftmaxGpuKernel.Config(d.T, GroupSize), x.F, y.F, d.K);
    }

    void IGpuKernels.Rope(GpuAct x, GpuAct cos, GpuAct sin, in RopeDims d, RopeAttrs attrs, GpuAct y)
    {
        if (d.D <= 0 || d.D % 2 != 0) throw new IxcException($"rope: head dim {d.D} must be positive and even");
        if (d.HX == 0 || d.T == 0) return;
        Kernel("rope", RopeGpuKernel.Load)(new Index1D(d.HX * d.T * (d.D / 2)), x.F, cos.F, sin.F, y.F, d.T, d.D);
    }

    // ------------------------------------------------------------------ plumbing

    /// <summary>A norm's float32 parameter on the device (the generated row kernels read f32; 16-bit ones are widened once at upload).</summary>
    private ArrayView<float> Weights32(NamedTensor t) => Weights.GetF32(t);

    private void Unary(string op, Func<Accelerator, Action<Index1D, ArrayView<float>, ArrayView<float>>> load, GpuAct x, GpuAct y)
    {
        if (x.Numel == 0) return;
        Kernel(op, load)(new Index1D(checked((int)x.Numel)), x.F, y.F);
    }

    private void Binary(string op, Func<Accelerator, Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>> load, GpuAct a, GpuAct b, GpuAct y)
    {
        if (a.Numel == 0) return;
        Kernel(op, load)(new Index1D(checked((int)a.Numel)), a.F, b.F, y.F);
    }

    /// <summary>The compiled kernel of an op, loaded on first use.</summary>
    private T Kernel<T>(string op, Func<Accelerator, T> load) where T : Delegate
    {
        if (!_kernels.TryGetValue(op, out var k)) _kernels[op] = k = load(_accelerator);
        return (T)k;
    }
}
