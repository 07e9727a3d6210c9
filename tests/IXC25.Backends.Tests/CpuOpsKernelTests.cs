using IXC25.Backends.Cpu;
using IXC25.Conformance.Ops;
using IXC25.Graph;
using IXC25.Backends.Cpu.Simd;
using static IXC25.Backends.Tests.KernelTestData;

namespace IXC25.Backends.Tests;

/// <summary>
/// The CPU backend's elementwise and row ops (generated kernels at the best tier, rows split over threads):
/// a generated kernel with every tier per op lowered to simd, and bit-identical results for any thread count
/// and across runs. Their agreement with the reference is the op table's (OpTable/), with PyTorch the goldens'
/// (ReferenceGoldenTests.CpuMatchesPyTorch).
/// </summary>
[Trait("Category", "Isa")]
public class CpuOpsKernelTests
{
    /// <summary>Per op lowered to simd, a case big enough that CpuOps splits it over threads (ragged on purpose; syntax of OpTableCases).</summary>
    private static readonly Dictionary<string, string> BigCases = new()
    {
        ["rms_norm"] = "T=37 C=4099 x~3",
        ["layer_norm"] = "T=37 C=4099 x~3",
        ["gelu"] = "T=1 C=300007 x~4",
        ["quick_gelu"] = "T=1 C=300007 x~4",
        ["silu_gate"] = "T=1 F=300007 a~4 b~2",
        ["add"] = "T=1 C=300007 a~4 b~2",
        ["softmax"] = "T=29 K=5003 x~8",
        ["rope"] = "HX=5 T=211 D=128 x~2",
    };

    [Fact]
    public void EveryOpLoweredToSimdHasAGeneratedKernelAndIsCoveredHere()
    {
        var lowered = CpuLowering.All.Where(kv => kv.Value.StartsWith(CpuLowering.Simd + ":", StringComparison.Ordinal)).Select(kv => kv.Key).ToList();
        Assert.Equal(BigCases.Keys.Order(), lowered.Order());
        foreach (var op in lowered)
        {
            var type = typeof(CpuOps).Assembly.GetType("IXC25.Backends.Cpu.Simd." + string.Concat(op.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..])) + "Kernel");
            Assert.True(type is not null, $"no generated kernel class for '{op}'");
            foreach (var tier in new[] { "Scalar", "V128", "V256", "V512", "Run" })
                Assert.True(type!.GetMethods().Any(m => m.Name == tier), $"{type.Name} lacks {tier}");
            Assert.Equal(CpuLowering.Of(op), "simd:" + OpCatalog.Find(op)!.KernelPattern);
        }
    }

    [Theory]
    [InlineData("rms_norm")]
    [InlineData("layer_norm")]
    [InlineData("gelu")]
    [InlineData("quick_gelu")]
    [InlineData("silu_gate")]
    [InlineData("add")]
    [InlineData("softmax")]
    [InlineData("rope")]
    public void BitIdenticalForAnyThreadCountAndAcrossRuns(string op)
    {
        var c = OpTableInputs.Parse(op, BigCases[op]).Single();
        var inputs = OpTableInputs.Make(c);
        Assert.True(Workers.Worth(new CpuOps(2).Threads, checked((int)inputs.Values.First().Numel)), "the input is too small to be split over threads");
        float[] Run(int threads)
        {
            using var cpu = BackendFactory.Create("cpu", threads);
            return OpInvoker.Invoke(cpu, op, inputs, c.Attrs).Single().ToFloat32();
        }
        var first = Run(1);
        foreach (int threads in new[] { 2, 3, 8, 1, 2 })
            Assert.True(BitEqual(first, Run(threads)), $"{op}: {threads} threads differ from 1 thread ({KernelTiers.Best})");
    }
}
