using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Cpu.Simd;
using static IXC25.Backends.Tests.KernelTestData;

namespace IXC25.Backends.Tests;

/// <summary>
/// The CPU backend's elementwise and row ops (generated kernels at the best tier, rows split over threads)
/// against the PyTorch op goldens, and bit-identical results for any thread count and across runs.
/// </summary>
[Trait("Category", "Isa")]
public class CpuOpsKernelTests
{
    private static readonly string[] SimdOps = ["rms_norm", "layer_norm", "gelu", "quick_gelu", "silu_gate", "add", "softmax", "rope"];

    [Fact]
    public void EveryOpLoweredToSimdHasAGeneratedKernelAndIsCoveredHere()
    {
        var lowered = CpuLowering.All.Where(kv => kv.Value.StartsWith(CpuLowering.Simd + ":", StringComparison.Ordinal)).Select(kv => kv.Key).ToList();
        Assert.Equal(SimdOps.Order(), lowered.Order());
        foreach (var op in lowered)
        {
            var type = typeof(CpuOps).Assembly.GetType("IXC25.Backends.Cpu.Simd." + string.Concat(op.Split('_').Select(p => char.ToUpperInvariant(p[0]) + p[1..])) + "Kernel");
            Assert.True(type is not null, $"no generated kernel class for '{op}'");
            foreach (var tier in new[] { "Scalar", "V128", "V256", "V512", "Run" })
                Assert.True(type!.GetMethods().Any(m => m.Name == tier), $"{type.Name} lacks {tier}");
            Assert.Equal(CpuLowering.Of(op), "simd:" + OpCatalog.Find(op)!.KernelPattern);
        }
    }

    public static TheoryData<string, int> GoldenCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var op in SimdOps)
            for (int i = 0; i < OpGolden.Cases(op).Count; i++) data.Add(op, i);
        return data;
    }

    /// <summary>Runs an op through CpuOps on named float32 inputs; returns y.</summary>
    private static float[] Run(CpuOps ops, string op, Func<string, float[]> input, Func<string, long[]> shape, IReadOnlyDictionary<string, string> attrs)
    {
        int Dim(string name, int d) => checked((int)shape(name)[d]);
        float[] y;
        switch (op)
        {
            case "rms_norm":
                y = new float[input("x").Length];
                ops.RmsNorm(input("x"), Dim("x", 0), Dim("x", 1), input("weight"), RmsNormAttrs.Parse(attrs).Eps, y);
                break;
            case "layer_norm":
                y = new float[input("x").Length];
                ops.LayerNorm(input("x"), Dim("x", 0), Dim("x", 1), input("weight"), input("bias"), LayerNormAttrs.Parse(attrs).Eps, y);
                break;
            case "gelu": y = new float[input("x").Length]; ops.Gelu(input("x"), y); break;
            case "quick_gelu": y = new float[input("x").Length]; ops.QuickGelu(input("x"), y); break;
            case "silu_gate": y = new float[input("a").Length]; ops.SiluGate(input("a"), input("b"), y); break;
            case "add": y = new float[input("a").Length]; ops.Add(input("a"), input("b"), y); break;
            case "softmax":
                y = new float[input("x").Length];
                ops.Softmax(input("x"), Dim("x", 0), Dim("x", 1), y);
                break;
            case "rope":
                y = new float[input("x").Length];
                ops.Rope(input("x"), Dim("x", 0), Dim("x", 1), Dim("x", 2), input("cos"), input("sin"), y);
                break;
            default: throw new ArgumentException(op);
        }
        return y;
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void CpuOpsMatchPyTorch(string op, int index)
    {
        var c = OpGolden.Cases(op)[index];
        var y = Run(new CpuOps(), op, n => c.Tensors[n].ToFloat32(), n => c.Tensors[n].Shape, c.Attrs);
        AssertClose(y, c.Tensors["y"].ToFloat32(), Tolerance(op), $"{c} via CpuOps ({KernelTiers.Best})");
    }

    /// <summary>Inputs big enough that CpuOps splits them over threads (shapes ragged on purpose).</summary>
    private static (Dictionary<string, float[]> Inputs, Dictionary<string, long[]> Shapes) BigInputs(string op)
    {
        var rng = new Random(op.Length * 101);
        var inputs = new Dictionary<string, float[]>();
        var shapes = new Dictionary<string, long[]>();
        void Add(string name, double scale, params long[] shape)
        {
            inputs[name] = Random(rng, checked((int)shape.Aggregate(1L, (a, b) => a * b)), scale);
            shapes[name] = shape;
        }
        switch (op)
        {
            case "rms_norm": Add("x", 3, 37, 4099); Add("weight", 1, 4099); break;
            case "layer_norm": Add("x", 3, 37, 4099); Add("weight", 1, 4099); Add("bias", 1, 4099); break;
            case "softmax": Add("x", 8, 29, 5003); break;
            case "rope":
                Add("x", 2, 5, 211, 128);
                Add("cos", 1, 211, 128);
                Add("sin", 1, 211, 128);
                break;
            case "silu_gate" or "add": Add("a", 4, 300_007); Add("b", 2, 300_007); break;
            default: Add("x", 4, 300_007); break;
        }
        return (inputs, shapes);
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
        var (inputs, shapes) = BigInputs(op);
        Assert.True(Workers.Worth(new CpuOps(2).Threads, inputs.Values.First().Length), "the input is too small to be split over threads");
        var attrs = new Dictionary<string, string>();
        var first = Run(new CpuOps(1), op, n => inputs[n], n => shapes[n], attrs);
        foreach (int threads in new[] { 2, 3, 8, 1, 2 })
        {
            var again = Run(new CpuOps(threads), op, n => inputs[n], n => shapes[n], attrs);
            Assert.True(BitEqual(first, again), $"{op}: {threads} threads differ from 1 thread");
        }
    }
}
