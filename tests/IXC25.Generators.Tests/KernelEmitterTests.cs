using System.Collections.Immutable;
using System.Reflection;
using System.Text.Json.Nodes;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using IXC25.Backends.Cpu.Simd;
using IXC25.Backends.Gpu;
using IXC25.Runtime;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace IXC25.Generators.Tests;

/// <summary>
/// The CPU SIMD and ILGPU kernel emitters and the lowering tables: what the cpu/gpu targets emit, that it
/// compiles against the backends' hand-written parts, and that a new op added to the spec becomes a
/// running kernel at every tier (compiled here, in memory).
/// </summary>
public class KernelEmitterTests
{
    private static readonly ImmutableArray<MetadataReference> BackendReferences =
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat([typeof(IxcException).Assembly.Location, typeof(VMath).Assembly.Location, typeof(GpuMath).Assembly.Location,
                     typeof(Context).Assembly.Location, typeof(ILGPU.Algorithms.XMath).Assembly.Location])
            .Distinct()
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();

    private static GeneratorRunResult Generate(Dictionary<string, string> spec, string emit)
    {
        var (result, _, _) = GeneratorHarness.Run(spec, emit);
        Assert.Empty(result.Diagnostics);
        return result;
    }

    private static string Source(GeneratorRunResult r, string hint) => r.GeneratedSources.Single(s => s.HintName == hint).SourceText.ToString();

    /// <summary>
    /// Compiles generated sources against the real backends; returns the loaded assembly. The GEMM microkernels
    /// (GemmKernels.g.cs) implement IXC25.Backends.Cpu's internal <c>IGemmKernels</c>, so the repository's own
    /// declaration of that interface is compiled with them (unsafe, as in the backend project).
    /// </summary>
    private static Assembly Compile(GeneratorRunResult r, string name)
    {
        // the graph adapters and kernel interfaces need their backend's hand-written half: they compile in the
        // backend projects themselves (AdapterEmissionTests checks what they contain)
        var trees = r.GeneratedSources.Where(s => !IsAdapter(s.HintName)).Select(s => CSharpSyntaxTree.ParseText(s.SourceText, GeneratorHarness.ParseOptions, s.HintName)).ToList();
        if (r.GeneratedSources.Any(s => s.HintName == "GemmKernels.g.cs"))
        {
            var iface = RepoLayout.Path("src", "IXC25.Backends.Cpu", "Gemm", "IGemmKernels.cs");
            trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(iface), GeneratorHarness.ParseOptions, iface));
            trees.Add(CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.Linq;", GeneratorHarness.ParseOptions));
        }
        if (r.GeneratedSources.Any(s => s.HintName == "QuantKernels.g.cs"))
        {
            // the quantized dot kernels implement the backend's internal IQuantKernels likewise
            var iface = RepoLayout.Path("src", "IXC25.Backends.Cpu", "Quant", "IQuantKernels.cs");
            trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(iface), GeneratorHarness.ParseOptions, iface));
        }
        var compilation = CSharpCompilation.Create(name, trees,
            BackendReferences,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: Microsoft.CodeAnalysis.OptimizationLevel.Release,
                nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        using var pe = new MemoryStream();
        var emitted = compilation.Emit(pe);
        var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(10)));
        return Assembly.Load(pe.ToArray());
    }

    /// <summary>The hint names of the generated graph adapters and kernel interfaces (AdapterEmitter).</summary>
    public static bool IsAdapter(string hint) => hint.EndsWith("GraphOps.g.cs", StringComparison.Ordinal) || hint is "ICpuKernels.g.cs" or "IGpuKernels.g.cs" or "IRefKernels.g.cs";

    private static JsonObject Op(JsonNode ops, string name) => ops["ops"]!.AsArray().Select(o => o!.AsObject()).Single(o => (string)o["name"]! == name);

    [Fact]
    public void CpuTargetEmitsAKernelPerSimdOpAndTheLoweringTable()
    {
        var r = Generate(GeneratorHarness.RealSpec(), "cpu");
        Assert.Equal(["AddKernel.g.cs", "CpuGraphOps.g.cs", "CpuLowering.g.cs", "GeluKernel.g.cs", "GemmKernels.g.cs", "ICpuKernels.g.cs", "LayerNormKernel.g.cs", "QuantKernels.g.cs", "QuickGeluKernel.g.cs", "RmsNormKernel.g.cs",
            "RopeKernel.g.cs", "SiluGateKernel.g.cs", "SoftmaxKernel.g.cs"], r.GeneratedSources.Select(s => s.HintName).Order());
        var lowering = Source(r, "CpuLowering.g.cs");
        Assert.Contains("new(\"rms_norm\", \"simd:row_norm\"),", lowering);
        Assert.Contains("new(\"rope\", \"simd:rotate_half\"),", lowering);
        Assert.Contains("new(\"linear\", \"driver\"),", lowering);
        Assert.Contains("new(\"split_qkv\", \"reference\"),", lowering);
        foreach (var s in r.GeneratedSources) Assert.StartsWith("// <auto-generated/>", s.SourceText.ToString());
        Compile(r, "CpuKernelsCompile");
    }

    [Fact]
    public void GpuTargetEmitsAKernelPerIlgpuOpAndTheLoweringTable()
    {
        var r = Generate(GeneratorHarness.RealSpec(), "gpu");
        Assert.Equal(["AddGpuKernel.g.cs", "GeluGpuKernel.g.cs", "GpuGraphOps.g.cs", "GpuLowering.g.cs", "IGpuKernels.g.cs", "LayerNormGpuKernel.g.cs", "QuickGeluGpuKernel.g.cs", "RmsNormGpuKernel.g.cs",
            "RopeGpuKernel.g.cs", "SiluGateGpuKernel.g.cs", "SoftmaxGpuKernel.g.cs"], r.GeneratedSources.Select(s => s.HintName).Order());
        var lowering = Source(r, "GpuLowering.g.cs");
        Assert.Contains("new(\"silu_gate\", \"ilgpu:map\"),", lowering);
        Assert.Contains("new(\"linear\", \"driver\"),", lowering);
        Assert.Contains("new(\"sdpa\", \"none\"),", lowering);
        var rms = Source(r, "RmsNormGpuKernel.g.cs");
        Assert.Contains("var shared = SharedMemory.GetDynamic<float>();", rms);
        Assert.Contains("for (int s = g / 2; s > 0; s >>= 1)", rms);
        Assert.DoesNotContain("Atomic", rms);
        Compile(r, "GpuKernelsCompile");
    }

    [Fact]
    public void ExpressionsBecomeVectorCodeWithHoistedConstantsAndFixedOrderSums()
    {
        var r = Generate(GeneratorHarness.RealSpec(), "cpu");
        var quick = Source(r, "QuickGeluKernel.g.cs");
        Assert.Contains("var c0 = Vector512.Create(1.702f);", quick);
        Assert.Contains("(v_x * VMath.Sigmoid((c0 * v_x))).StoreUnsafe(ref p_out, (nuint)i);", quick);
        Assert.Contains("y[i] = (v_x * VMath.Sigmoid((1.702f * v_x)));", quick);
        Assert.Contains("Partial.Store((v_x * VMath.Sigmoid((c0 * v_x))), y.Slice(i));", quick);
        Assert.Contains("if (Vector512.IsHardwareAccelerated) V512(x, y);", quick);
        var rms = Source(r, "RmsNormKernel.g.cs");
        Assert.Contains("float r_ss = VMath.Sum((acc_ss_0 + acc_ss_1) + (acc_ss_2 + acc_ss_3));", rms);
        Assert.Contains("acc_ss_0 += Vector256.ConditionalSelect(mask, (v_x * v_x), Vector256<float>.Zero);", rms);
        Assert.Contains("float r_inv = VMath.Rsqrt(((r_ss / s_n) + a_eps));", rms);
        Assert.Contains("public static void Run(global::System.ReadOnlySpan<float> x, int n, global::System.ReadOnlySpan<float> weight, float eps, global::System.Span<float> y)", rms);
    }

    // ------------------------------------------------------------------ end to end: a new op in the spec

    private const string LeakyRelu = """
        {
          "name": "leaky_relu_test", "doc": "test op: max(x, 0) + slope * min(x, 0)",
          "inputs": [{ "name": "x", "dtype": "f32", "shape": ["T", "C"] }],
          "outputs": [{ "name": "y", "dtype": "f32", "shape": ["T", "C"] }],
          "attrs": [{ "name": "slope", "type": "float", "default": 0.01 }],
          "accum": "f32", "tolerance": "elementwise",
          "lowering": { "cpu": "simd", "gpu": "ilgpu" },
          "kernel": { "pattern": "map", "expr": "max(x, 0) + slope * min(x, 0)" }
        }
        """;

    private const string OnePassNorm = """
        {
          "name": "one_pass_norm_test", "doc": "test op: two sums in one reduce section",
          "inputs": [{ "name": "x", "dtype": "f32", "shape": ["T", "C"] }],
          "outputs": [{ "name": "y", "dtype": "f32", "shape": ["T", "C"] }],
          "attrs": [{ "name": "eps", "type": "float", "default": 1e-5 }],
          "accum": "f32", "tolerance": "reduction",
          "lowering": { "cpu": "simd", "gpu": "ilgpu" },
          "kernel": {
            "pattern": "row_norm",
            "reduce": [{ "name": "s", "expr": "x" }, { "name": "ss", "expr": "x * x" }],
            "row": [{ "name": "mean", "expr": "s / n" }, { "name": "inv", "expr": "rsqrt(max(ss / n - mean * mean, 0) + eps)" }],
            "map": "(x - mean) * inv"
          }
        }
        """;

    private static Dictionary<string, string> WithTestOps() => GeneratorHarness.Mutate("ops.json", n =>
    {
        n["ops"]!.AsArray().Add(JsonNode.Parse(LeakyRelu));
        n["ops"]!.AsArray().Add(JsonNode.Parse(OnePassNorm));
    });

    private delegate void LeakyKernel(KernelTier tier, ReadOnlySpan<float> x, float slope, Span<float> y);
    private delegate void NormKernel(KernelTier tier, ReadOnlySpan<float> x, int n, float eps, Span<float> y);

    private static float[] Data(int n, int seed)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 8 - 4);
        if (n > 3) { a[1] = float.NaN; a[2] = -0f; a[3] = float.NegativeInfinity; }
        return a;
    }

    private static T RunMethod<T>(Assembly asm, string type) where T : Delegate =>
        asm.GetType("IXC25.Backends.Cpu.Simd." + type, throwOnError: true)!.GetMethods()
            .Single(m => m.Name == "Run" && m.GetParameters()[0].ParameterType == typeof(KernelTier)).CreateDelegate<T>();

    [Fact]
    public void ANewMapOpBecomesARunningKernelAtEveryTier()
    {
        var asm = Compile(Generate(WithTestOps(), "cpu"), "LeakyReluCpu");
        var run = RunMethod<LeakyKernel>(asm, "LeakyReluTestKernel");
        foreach (var tier in KernelTiers.Accelerated)
            foreach (int n in new[] { 0, 1, 15, 16, 17, 37 })
            {
                var x = Data(n, n);
                var y = new float[n];
                run(tier, x, 0.25f, y);
                for (int i = 0; i < n; i++)
                {
                    float expected = MathF.Max(x[i], 0f) + 0.25f * MathF.Min(x[i], 0f);
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]), $"{tier} n={n} x={x[i]}: {y[i]} != {expected}");
                }
            }
    }

    private static double[] OnePassNormReference(float[] x, int n, float eps)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / n; r++)
        {
            double mean = 0, sq = 0;
            for (int i = 0; i < n; i++) mean += x[r * n + i];
            mean /= n;
            for (int i = 0; i < n; i++) sq += (x[r * n + i] - mean) * (x[r * n + i] - mean);
            double inv = 1 / Math.Sqrt(sq / n + eps);
            for (int i = 0; i < n; i++) y[r * n + i] = (x[r * n + i] - mean) * inv;
        }
        return y;
    }

    [Fact]
    public void ARowNormWithTwoSumsInOneSectionRunsAtEveryTier()
    {
        var asm = Compile(Generate(WithTestOps(), "cpu"), "OnePassNormCpu");
        var run = RunMethod<NormKernel>(asm, "OnePassNormTestKernel");
        foreach (var tier in KernelTiers.Accelerated)
            foreach (int n in new[] { 1, 7, 16, 33, 100 })
            {
                var x = new float[3 * n];
                var rng = new Random(n);
                for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 4 - 1);
                var y = new float[x.Length];
                run(tier, x, n, 1e-5f, y);
                var expected = OnePassNormReference(x, n, 1e-5f);
                for (int i = 0; i < x.Length; i++)
                    Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"{tier} n={n} [{i}]: {y[i]} vs {expected[i]}");
            }
    }

    [Fact]
    public void TheNewOpsAlsoRunOnIlgpusCpuAccelerator()
    {
        var asm = Compile(Generate(WithTestOps(), "gpu"), "TestOpsGpu");
        using var context = Context.Create(b => b.CPU(CPUDeviceKind.Default).EnableAlgorithms());
        using var accelerator = context.CreateCPUAccelerator(0);
        Delegate Load(string type) => (Delegate)asm.GetType("IXC25.Backends.Gpu.Kernels." + type, throwOnError: true)!.GetMethod("Load")!.Invoke(null, [accelerator])!;

        var x = Data(37, 5);
        using var bx = accelerator.Allocate1D(x);
        using var by = accelerator.Allocate1D<float>(x.Length);
        var leaky = (Action<Index1D, ArrayView<float>, ArrayView<float>, float>)Load("LeakyReluTestGpuKernel");
        leaky(new Index1D(x.Length), bx.View, by.View, 0.25f);
        accelerator.Synchronize();
        var y = by.GetAsArray1D();
        for (int i = 0; i < x.Length; i++)
        {
            float expected = MathF.Max(x[i], 0f) + 0.25f * MathF.Min(x[i], 0f);
            Assert.True(float.IsNaN(expected) ? float.IsNaN(y[i]) : expected == y[i], $"gpu leaky x={x[i]}: {y[i]} != {expected}");
        }

        const int n = 33, rows = 3;
        var rng = new Random(3);
        var xn = new float[rows * n];
        for (int i = 0; i < xn.Length; i++) xn[i] = (float)(rng.NextDouble() * 4 - 1);
        using var bxn = accelerator.Allocate1D(xn);
        using var byn = accelerator.Allocate1D<float>(xn.Length);
        var norm = (Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float>)Load("OnePassNormTestGpuKernel");
        var config = (KernelConfig)asm.GetType("IXC25.Backends.Gpu.Kernels.OnePassNormTestGpuKernel")!.GetMethod("Config")!.Invoke(null, [rows, 16])!;
        norm(config, bxn.View, byn.View, n, 1e-5f);
        accelerator.Synchronize();
        var yn = byn.GetAsArray1D();
        var expectedN = OnePassNormReference(xn, n, 1e-5f);
        for (int i = 0; i < xn.Length; i++)
            Assert.True(Math.Abs(yn[i] - expectedN[i]) <= 1e-5 + 1e-5 * Math.Abs(expectedN[i]), $"gpu norm [{i}]: {yn[i]} vs {expectedN[i]}");
    }

    // ------------------------------------------------------------------ kernel validation (IXC0018 details)

    [Fact]
    public void KernelPortLayoutsAndScopesAreChecked()
    {
        static string Message(Dictionary<string, string> spec) =>
            string.Join(" | ", GeneratorHarness.Run(spec, "ops,cpu").Result.Diagnostics.Where(d => d.Id == "IXC0018").Select(d => d.GetMessage()));

        // a row expression cannot read the row element
        Assert.Contains("uses 'x', which is not", Message(GeneratorHarness.Mutate("ops.json", n => Op(n, "rms_norm")["kernel"]!["row"]![0]!["expr"] = "rsqrt(x + eps)")));
        // a reduce result is visible only after its section
        Assert.Contains("uses 'ss', which is not", Message(GeneratorHarness.Mutate("ops.json", n =>
            Op(n, "rms_norm")["kernel"]!["reduce"]!.AsArray().Add(new JsonObject { ["name"] = "t", ["expr"] = "ss * x" }))));
        // b needs a third input
        Assert.Contains("uses 'b', which is not", Message(GeneratorHarness.Mutate("ops.json", n => Op(n, "rms_norm")["kernel"]!["map"] = "w * x + b")));
        // map inputs must be shaped like the output
        Assert.Contains("shaped like the output", Message(GeneratorHarness.Mutate("ops.json", n => Op(n, "add")["inputs"]![1]!["shape"] = new JsonArray("C"))));
        // string attributes cannot appear in expressions
        Assert.Contains("uses 'mode'", Message(GeneratorHarness.Mutate("ops.json", n =>
        {
            Op(n, "gelu")["attrs"]!.AsArray().Add(new JsonObject { ["name"] = "mode", ["type"] = "string", ["default"] = "exact" });
            Op(n, "gelu")["kernel"]!["expr"] = "x * mode";
        })));
    }
}
