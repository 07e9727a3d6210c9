using System.Text.Json;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Reference;
using IXC25.Backends.Gpu;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using static IXC25.Backends.Tests.KernelTestData;

namespace IXC25.Backends.Tests.Gpu;

/// <summary>One GpuOps per accelerator and test class (kernels compile once per backend).</summary>
public abstract class GpuFixture(GpuDevice device) : IDisposable
{
    private GpuOps? _backend;

    /// <summary>Created on first use, so a CUDA fixture on a machine without CUDA never throws.</summary>
    public GpuOps Backend => _backend ??= new GpuOps(device);

    public void Dispose()
    {
        _backend?.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class CpuAcceleratorFixture() : GpuFixture(GpuDevice.Cpu);

public sealed class CudaFixture() : GpuFixture(GpuDevice.Cuda);

/// <summary>
/// The ILGPU backend's ops against the scalar references (RefOps) within the op's tolerance class and the
/// class's "gpu" override of spec/tolerances.json if any. Tiny shapes: ILGPU's CPU accelerator is slow.
/// One subclass per accelerator (each carries the traits: xunit does not inherit class traits).
/// </summary>
public abstract class GpuBackendSuite<TFixture>(TFixture fixture) : IClassFixture<TFixture> where TFixture : GpuFixture
{
    protected GpuOps Gpu => fixture.Backend;

    /// <summary>The op's class, refined by an override with "backend": "gpu" (spec/tolerances.json) when there is one.</summary>
    public static ToleranceInfo GpuTolerance(string op)
    {
        var tol = Tolerance(op);
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoLayout.Path("spec", "tolerances.json")));
        foreach (var o in doc.RootElement.GetProperty("overrides").EnumerateArray())
            if (o.GetProperty("class").GetString() == tol.Name && o.TryGetProperty("backend", out var b) && b.GetString() == "gpu" && !o.TryGetProperty("dtype", out _))
                tol = tol with { Atol = o.GetProperty("atol").GetDouble(), Rtol = o.GetProperty("rtol").GetDouble(), Nmse = o.GetProperty("nmse").GetDouble() };
        return tol;
    }

    private static float[] WithSpecialRow(Random rng, int rows, int n, double scale)
    {
        var x = Random(rng, rows * n, scale);
        if (rows > 1) Specials(rng, x.AsSpan(n, n), 0.1);
        return x;
    }

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
    public void MapOpsMatchReference()
    {
        foreach (int n in new[] { 1, 37 })
        {
            var rng = new Random(n);
            var a = Random(rng, n, 4);
            var b = Random(rng, n, 2);
            if (n > 3) { Specials(rng, a, 0.05); Specials(rng, b, 0.05); }
            var expected = new float[n];
            var y = new float[n];
            RefOps.Gelu(a, expected); Gpu.Gelu(a, y); AssertClose(y, expected, GpuTolerance("gelu"), $"gelu n={n} on {Gpu.DeviceName}");
            RefOps.QuickGelu(a, expected); Gpu.QuickGelu(a, y); AssertClose(y, expected, GpuTolerance("quick_gelu"), $"quick_gelu n={n}");
            RefOps.SiluGate(a, b, expected); Gpu.SiluGate(a, b, y); AssertClose(y, expected, GpuTolerance("silu_gate"), $"silu_gate n={n}");
            RefOps.Add(a, b, expected); Gpu.Add(a, b, y); AssertClose(y, expected, GpuTolerance("add"), $"add n={n}");
        }
    }

    [GpuFact]
    public void RmsNormMatchesReference()
    {
        foreach (int c in new[] { 1, 5, 40 })
        {
            var rng = new Random(c);
            const int T = 3;
            var x = WithSpecialRow(rng, T, c, 3);
            var w = Random(rng, c, 1);
            var expected = new float[x.Length];
            var y = new float[x.Length];
            RefOps.RmsNorm(x, T, c, w, 1e-6f, expected);
            Gpu.RmsNorm(x, T, c, w, 1e-6f, y);
            AssertClose(y, expected, GpuTolerance("rms_norm"), $"rms_norm C={c} on {Gpu.DeviceName}");
        }
    }

    [GpuFact]
    public void LayerNormMatchesReference()
    {
        foreach (int c in new[] { 1, 5, 40 })
        {
            var rng = new Random(c);
            const int T = 3;
            var x = WithSpecialRow(rng, T, c, 3);
            var w = Random(rng, c, 1);
            var b = Random(rng, c, 1);
            var expected = new float[x.Length];
            var y = new float[x.Length];
            RefOps.LayerNorm(x, T, c, w, b, 1e-5f, expected);
            Gpu.LayerNorm(x, T, c, w, b, 1e-5f, y);
            AssertClose(y, expected, GpuTolerance("layer_norm"), $"layer_norm C={c}");
        }
    }

    [GpuFact]
    public void SoftmaxMatchesReference()
    {
        foreach (int k in new[] { 1, 7, 40 })
        {
            var rng = new Random(k);
            const int T = 4;
            var x = WithSpecialRow(rng, T, k, 6);
            for (int i = 0; i < k; i++) if (rng.NextDouble() < 0.4 && i != k / 2) x[2 * k + i] = float.NegativeInfinity;
            x.AsSpan(3 * k, k).Fill(float.NegativeInfinity);
            var expected = new float[x.Length];
            var y = new float[x.Length];
            RefOps.Softmax(x, T, k, expected);
            Gpu.Softmax(x, T, k, y);
            AssertClose(y, expected, GpuTolerance("softmax"), $"softmax K={k}");
        }
    }

    [GpuFact]
    public void RopeMatchesReference()
    {
        foreach (int d in new[] { 2, 8, 34 })
        {
            var rng = new Random(d);
            const int HX = 2, T = 3;
            var x = WithSpecialRow(rng, HX * T, d, 2);
            var cos = new float[T * d];
            var sin = new float[T * d];
            for (int i = 0; i < cos.Length; i++)
            {
                double angle = rng.NextDouble() * 100;
                cos[i] = (float)Math.Cos(angle);
                sin[i] = (float)Math.Sin(angle);
            }
            var expected = new float[x.Length];
            var y = new float[x.Length];
            RefOps.Rope(x, HX, T, d, cos, sin, expected);
            Gpu.Rope(x, HX, T, d, cos, sin, y);
            AssertClose(y, expected, GpuTolerance("rope"), $"rope D={d}");
        }
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
