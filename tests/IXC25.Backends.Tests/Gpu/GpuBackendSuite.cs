using IXC25.Backends.Cpu;
using IXC25.Backends.Gpu;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;
using static IXC25.Backends.Tests.KernelTestData;

namespace IXC25.Backends.Tests.Gpu;

/// <summary>One ILGPU graph backend per accelerator and test class (kernels compile once per backend).</summary>
public abstract class GpuFixture(GpuDevice device) : IDisposable
{
    private GpuGraphOps? _backend;

    /// <summary>Created on first use, so a CUDA or OpenCL fixture on a machine without one never throws. The CPU
    /// accelerator runs groups of 4 threads here, so the group reductions and barriers are exercised.</summary>
    public GpuGraphOps Backend => _backend ??= new GpuGraphOps(new GpuOps(device, simulatorGroup: 4), new CpuGraphOps(1), "gpu test");

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
/// The ILGPU backend itself: which ops it runs, tensors and caches that stay on the device, determinism across runs,
/// one-line errors for bad shapes. Its agreement with the reference on every op it lowers is the op table's
/// (OpTable/OpTableTests: GpuSim, Cuda, OpenCL rows, under the "gpu" override of spec/tolerances.json). One subclass per
/// accelerator (each carries the traits: xunit does not inherit class traits).
/// </summary>
public abstract class GpuBackendSuite<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : GpuFixture
{
    protected GpuGraphOps Ops => fixture.Backend;
    protected GpuOps Gpu => fixture.Backend.Gpu;

    [GpuFact]
    public void EveryGraphOpRunsOnTheDevice()
    {
        foreach (var op in OpCatalog.All)
        {
            string kind = GpuLowering.KindOf(op.Name)!;
            string method = string.Concat(op.Name.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
            // the graph's ops (IGraphOps) all have a device lowering; only the oracle-only references go to the fallback
            if (typeof(IGraphOps).GetMethod(method) is not null) Assert.True(GpuOps.Supports(op.Name), $"graph op '{op.Name}' is lowered to \"{kind}\" on the GPU");
            if (!GpuOps.Supports(op.Name)) continue;
            Assert.True(typeof(IGpuKernels).GetMethod(method) is not null, $"IGpuKernels has no method {method} for '{op.Name}'");
        }
        Assert.False(GpuOps.Supports("sdpa"));
    }

    [GpuFact]
    public void TensorsAndCachesLiveOnTheDevice()
    {
        var x = Ops.Upload<float>([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.IsType<GpuAct>(x);
        Assert.True(Ops.Owns(x));
        Assert.False(Ops.Owns(HostAct.Wrap([1f], 1)));
        var y = Ops.Alloc(DType.F32, 2, 3);
        Ops.Copy(x, 1, y, 0, 5);
        var got = new float[5];
        y.Read<float>(0, got);
        Assert.Equal([2f, 3, 4, 5, 6], got);
        var cache = Ops.NewKvLayer(2, 4, DType.BF16, 16);
        Assert.IsType<GpuKvLayer>(cache);
        var k = Random(new Random(3), 2 * 3 * 4, 2);
        cache.Append(k, k, 3);
        var back = new float[k.Length];
        cache.CopyTo(back, new float[k.Length]);
        for (int i = 0; i < k.Length; i++) Assert.Equal(BFloat16.ToSingle(BFloat16.FromSingle(k[i])), back[i]);
        var other = Ops.NewKvLayer(2, 4, DType.BF16, 16);
        cache.CopyTo(other);
        var copied = new float[k.Length];
        other.CopyTo(copied, new float[k.Length]);
        Assert.Equal(back, copied);
        Assert.Contains("another backend", Assert.Throws<IxcException>(() => Ops.RmsNorm(HostAct.Wrap(new float[3], 1, 3), NamedTensor.F32("w", [3], [1, 1, 1]), new RmsNormAttrs { Eps = 1e-6f })).Message);
    }

    [GpuFact]
    public void ResultsAreBitIdenticalAcrossRuns()
    {
        var rng = new Random(11);
        const int T = 12, C = 40, O = 24, H = 4, HKV = 2, D = 8;
        var x = Ops.Upload<float>(Random(rng, T * C, 3), T, C);
        var w = NamedTensor.F32("w", [O, C], Random(rng, O * C, 1));
        var n = NamedTensor.F32("n", [C], Random(rng, C, 1));
        var qkv = Ops.Upload<float>(Random(rng, T * (H + 2 * HKV) * D, 1), T, (H + 2 * HKV) * D);
        var cos = Ops.Upload<float>(Random(rng, T * D, 1), T, D);
        var sin = Ops.Upload<float>(Random(rng, T * D, 1), T, D);
        float[] Run()
        {
            var a = Ops.RmsNorm(x, n, new RmsNormAttrs { Eps = 1e-6f }).ToArray<float>();
            var b = Ops.Linear(x, w, null, new LinearAttrs()).ToArray<float>(); // tiled (T > 8)
            var c = Ops.Linear(x, w, null, new LinearAttrs { RowExact = true }).ToArray<float>(); // row kernel
            using var cache = Ops.NewKvLayer(HKV, D, DType.F32, 64);
            var d = Ops.AttentionCached(qkv, cos, sin, cache, new AttentionCachedAttrs { Heads = H, KvHeads = HKV, HeadDim = D }).ToArray<float>();
            return [.. a, .. b, .. c, .. d];
        }
        Assert.True(BitEqual(Run(), Run()), "a result differs between runs");
    }

    [GpuFact]
    public void ArgMaxOnTheDeviceIsTheHostScansChoice()
    {
        static int Scan(float[] x)
        {
            // the host's greedy choice (ScoreMath.ArgMax): first index of the largest, moving only to a larger value
            int best = 0;
            for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
            return best;
        }
        var rng = new Random(5);
        List<float[]> rows =
        [
            [1f], [2f, 2f, 2f], [-1f, 3f, 3f, 0f], [float.NaN, 5f, 6f], [1f, float.NaN, 7f, float.NaN, 7f],
            [float.NegativeInfinity, float.NegativeInfinity], [float.NegativeInfinity, float.NaN, -3f], [0f, -0f, 0f],
        ];
        for (int n = 1; n < 300; n += 37) rows.Add(Random(rng, n, 2));
        var tied = Random(rng, 1000, 1);
        tied[17] = 9f;
        tied[900] = 9f;
        tied[512] = 9f;
        rows.Add(tied);
        var wide = Random(rng, 92544, 3); // a vocabulary-sized row
        rows.Add(wide);
        foreach (var x in rows)
        {
            var a = Ops.Upload<float>(x, x.Length);
            Assert.Equal(Scan(x), Ops.ArgMax(a));
            a.Release();
        }
    }

    [GpuFact]
    public void BadShapesAreOneLineErrors()
    {
        var x = Ops.Upload<float>(new float[6], 2, 3);
        var e = Assert.Throws<IxcException>(() => Ops.RmsNorm(x, NamedTensor.F32("w", [2], [1, 1]), new RmsNormAttrs { Eps = 1e-6f }));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("rms_norm", e.Message);
        var ids = Ops.Upload<long>([0, 7], 2);
        Assert.Contains("outside the vocabulary", Assert.Throws<IxcException>(() => Ops.Embedding(ids, NamedTensor.F32("t", [4, 3], new float[12]), new EmbeddingAttrs())).Message);
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
        Assert.Equal(4, Gpu.GroupSize);
        Assert.Equal(2, Gpu.TileSide);
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
