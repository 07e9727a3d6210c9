using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Gpu;
using IXC25.Runtime;
using static IXC25.Backends.Tests.KernelTestData;

namespace IXC25.Backends.Tests.Gpu;

/// <summary>One GpuOps per accelerator and test class (kernels compile once per backend).</summary>
public abstract class GpuFixture(GpuDevice device) : IDisposable
{
    private GpuOps? _backend;

    /// <summary>Created on first use, so a CUDA or OpenCL fixture on a machine without one never throws.</summary>
    public GpuOps Backend => _backend ??= new GpuOps(device);

    public void Dispose()
    {
        _backend?.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class CpuAcceleratorFixture() : GpuFixture(GpuDevice.Cpu);

public sealed class CudaFixture() : GpuFixture(GpuDevice.Cuda);

public sealed class OpenCLFixture() : GpuFixture(GpuDevice.OpenCL);

/// <summary>
/// The ILGPU backend itself: which ops it supports, determinism across runs, one-line errors for bad shapes.
/// Its agreement with the reference on every op it lowers is the op table's (OpTable/OpTableTests: GpuSim, Cuda,
/// OpenCL rows, under the "gpu" override of spec/tolerances.json). One subclass per accelerator (each carries the
/// traits: xunit does not inherit class traits).
/// </summary>
public abstract class GpuBackendSuite<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : GpuFixture
{
    protected GpuOps Gpu => fixture.Backend;

    [GpuFact]
    public void SupportsFollowsTheLoweringTable()
    {
        var supported = GpuLowering.All.Where(kv => kv.Value.StartsWith(GpuLowering.Ilgpu + ":", StringComparison.Ordinal)).Select(kv => kv.Key).ToList();
        Assert.Contains("rms_norm", supported);
        Assert.Contains("silu_gate", supported);
        Assert.Contains("rope", supported);
        foreach (var op in OpCatalog.All)
            Assert.Equal(supported.Contains(op.Name), GpuOps.Supports(op.Name));
        foreach (var op in supported)
        {
            string method = string.Concat(op.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
            Assert.True(typeof(GpuOps).GetMethod(method) is not null, $"GpuOps has no method {method} for '{op}'");
        }
        Assert.False(GpuOps.Supports("linear"));
    }

    [GpuFact]
    public void RowReductionsAreBitIdenticalAcrossRuns()
    {
        var rng = new Random(11);
        const int T = 2, C = 40;
        var x = Random(rng, T * C, 3);
        var w = Random(rng, C, 1);
        var first = new float[x.Length];
        var again = new float[x.Length];
        Gpu.RmsNorm(x, T, C, w, 1e-6f, first);
        Gpu.RmsNorm(x, T, C, w, 1e-6f, again);
        Assert.True(BitEqual(first, again), "rms_norm differs between runs");
        Gpu.Softmax(x, T, C, first);
        Gpu.Softmax(x, T, C, again);
        Assert.True(BitEqual(first, again), "softmax differs between runs");
    }

    [GpuFact]
    public void BadShapesAreOneLineErrors()
    {
        var x = new float[6];
        Assert.Contains("'weight' has 2 elements, expected 3", Assert.Throws<IxcException>(() => Gpu.RmsNorm(x, 2, 3, new float[2], 1e-6f, new float[6])).Message);
        Assert.Contains("must be positive and even", Assert.Throws<IxcException>(() => Gpu.Rope(x, 1, 2, 3, x, x, new float[6])).Message);
        Assert.Contains("'b' has 5 elements, expected 6", Assert.Throws<IxcException>(() => Gpu.Add(x, new float[5], new float[6])).Message);
    }
}

/// <summary>The suite on ILGPU's CPU accelerator (always available).</summary>
[Trait("Category", "Gpu")]
[Trait("Accelerator", "Cpu")]
public sealed class CpuAcceleratorGpuTests(CpuAcceleratorFixture fixture) : GpuBackendSuite<CpuAcceleratorFixture>(fixture)
{
    [GpuFact]
    public void RunsOnTheCpuAccelerator()
    {
        Assert.False(Gpu.IsCuda);
        Assert.Equal(GpuDevice.Cpu, Gpu.Device.Kind);
        Assert.Equal(DeviceSelection.CpuAcceleratorName, Gpu.Device.Description);
        Assert.True(Gpu.GroupSize >= 2 && (Gpu.GroupSize & (Gpu.GroupSize - 1)) == 0, $"group size {Gpu.GroupSize}");
    }
}

/// <summary>The suite on the first CUDA device; skipped with the reason where there is none.</summary>
[RequiresCuda]
[Trait("Category", "Gpu")]
[Trait("Accelerator", "Cuda")]
public sealed class CudaGpuTests(CudaFixture fixture) : GpuBackendSuite<CudaFixture>(fixture)
{
    [GpuFact]
    public void RunsOnCuda() => Assert.True(Gpu.IsCuda, Gpu.DeviceName);
}

/// <summary>The suite on the first OpenCL device ILGPU accepts; skipped with the reason where there is none (Debian 12's
/// pocl 3.1 CPU device is refused: no generic address space; src/IXC25.Backends.Gpu/README.md).</summary>
[RequiresOpenCL]
[Trait("Category", "Gpu")]
[Trait("Accelerator", "OpenCL")]
public sealed class OpenCLGpuTests(OpenCLFixture fixture) : GpuBackendSuite<OpenCLFixture>(fixture)
{
    [GpuFact]
    public void RunsOnOpenCL()
    {
        Assert.Equal(GpuDevice.OpenCL, Gpu.Device.Kind);
        Assert.StartsWith("OpenCL 0/", Gpu.Device.Description);
    }
}
