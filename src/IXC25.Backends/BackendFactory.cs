using IXC25.Backends.Cpu;
using IXC25.Backends.Cpu.Quant;
using IXC25.Backends.Gpu;
using IXC25.Backends.Reference;
using IXC25.Graph;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime.Spec;
using IXC25.Runtime;
using IXC25.Runtime.Quant;

namespace IXC25.Backends;

/// <summary>
/// Builds the backends by the names the CLI's --backend takes:
/// <list type="bullet">
/// <item><c>cpu</c>: generated SIMD kernels and hand-written drivers (the ops lowered to "reference" on the reference backend);</item>
/// <item><c>reference</c>: the scalar references for every op (slow, obvious, the second opinion);</item>
/// <item><c>gpu</c>: every graph op as ILGPU kernels over device-resident tensors (the oracle-only references on the CPU backend), on the first usable of: a
/// CUDA device, an OpenCL device ILGPU accepts, ILGPU's CPU accelerator (the name says which);</item>
/// <item><c>gpu-sim</c>: the same on ILGPU's CPU accelerator (a GPU simulator for machines without a GPU);</item>
/// <item><c>gpu-ocl</c>: the same on an OpenCL device (an error naming the devices ILGPU refuses when none fits).</item>
/// </list>
/// The device index (--device N) picks among the devices of the kind the gpu backends choose
/// (src/IXC25.Backends.Gpu/README.md).
/// </summary>
public static class BackendFactory
{
    /// <summary>The backend names, in the order --help lists them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cpu", "reference", "gpu", "gpu-sim", "gpu-ocl"];

    /// <param name="threads">CPU worker threads (0: all processors); results do not depend on it.</param>
    /// <param name="device">Which device of the kind a gpu backend chooses (0: the first); the host backends have none.</param>
    public static IOracleOps Create(string name, int threads = 0, int device = 0)
    {
        if (device != 0 && name is "cpu" or "reference")
            throw new IxcException($"--device {device} picks a GPU device; the {name} backend runs on the host (--device applies to gpu, gpu-sim and gpu-ocl)");
        return name switch
        {
            "cpu" => new CpuGraphOps(threads),
            "reference" => new RefGraphOps(),
            "gpu" => Gpu(GpuDevice.Auto, device, name, threads),
            "gpu-sim" => Gpu(GpuDevice.Cpu, device, name, threads),
            "gpu-ocl" => Gpu(GpuDevice.OpenCL, device, name, threads),
            _ => throw new IxcException($"unknown backend '{name}' ({string.Join(", ", Names)})"),
        };
    }

    /// <summary>The backend the options name (ModelOptions.Backend, ModelOptions.Threads), with the linears held
    /// block-quantized when ModelOptions.Weights names a format (<see cref="QuantizedGraphOps"/>).</summary>
    public static IGraphOps Create(ModelOptions options)
    {
        if (options.Weights is null) return Create(options.Backend, options.Threads, options.Device);
        var format = QuantFormat.Parse(options.Weights);
        if (options.Backend is not ("cpu" or "reference"))
            throw new IxcException($"{format} weights (--weights {format}, or a {format}-quantized checkpoint) run on the cpu or reference backend, not on {options.Backend}");
        return new QuantizedGraphOps(Create(options.Backend, options.Threads, options.Device), format, options.Threads);
    }

    private static IOracleOps Gpu(GpuDevice kind, int device, string name, int threads)
    {
        var gpu = new GpuOps(kind, device);
        return new GpuGraphOps(gpu, new CpuGraphOps(threads), $"{name} (ilgpu {gpu.Device.Description} + cpu)");
    }
}

/// <summary>Opening models on the backend their options name (<c>Ixc25Model.Open(path, options)</c>).</summary>
public static class ModelBackends
{
    extension(Ixc25Model)
    {
        /// <summary>Opens a model folder on the backend options.Backend names (cpu by default).</summary>
        public static Ixc25Model Open(string path, ModelOptions? options = null) => Ixc25Model.Open(path, BackendFactory.Create, options);

        /// <summary>A model over any weight source, on the backend options.Backend names.</summary>
        public static Ixc25Model Create(Ixc25Config config, IWeightSource source, IXC25.Tokenizer.InternLM2Tokenizer tokenizer, ModelOptions? options = null) =>
            Ixc25Model.Create(config, source, tokenizer, BackendFactory.Create, options);
    }
}
