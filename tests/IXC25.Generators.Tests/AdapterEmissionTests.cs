namespace IXC25.Generators.Tests;

/// <summary>
/// The generated glue of each backend (targets cpu, gpu, ref): the kernel interface lists exactly the ops the
/// lowering table gives the backend, the adapter binds shapes once, allocates outputs through the backend and
/// calls the kernel, and every other op goes through the one fallback route. (The adapters compile in the
/// backend projects with their hand-written halves.)
/// </summary>
public class AdapterEmissionTests
{
    private static string Source(string emit, string hint) =>
        GeneratorHarness.Run(GeneratorHarness.RealSpec(), emit).Result.GeneratedSources.Single(s => s.HintName == hint).SourceText.ToString();

    [Fact]
    public void CpuAdapterCallsTheKernelsOfSimdAndDriverOpsAndRoutesTheRest()
    {
        var kernels = Source("cpu", "ICpuKernels.g.cs");
        Assert.Contains("public partial interface ICpuKernels", kernels);
        Assert.Contains("void Linear(global::System.ReadOnlySpan<float> x, global::IXC25.Runtime.Tensors.NamedTensor weight, global::IXC25.Runtime.Tensors.NamedTensor? bias, in global::IXC25.Graph.LinearDims d, global::IXC25.Graph.LinearAttrs attrs, global::System.Span<float> y);", kernels);
        Assert.Contains("void Embedding(global::System.ReadOnlySpan<long> ids,", kernels);
        Assert.Contains("global::System.ReadOnlySpan<byte> imMask", kernels);
        Assert.Contains("global::IXC25.Graph.KvLayer cache", kernels);
        Assert.DoesNotContain("void SplitQkv(", kernels); // lowered to "reference" on the CPU

        var adapter = Source("cpu", "CpuGraphOps.g.cs");
        Assert.Contains("public sealed partial class CpuGraphOps : global::IXC25.Graph.IOracleOps", adapter);
        Assert.Contains("var d = global::IXC25.Graph.OpShapes.Linear(x.Shape, weight.Shape, bias?.Shape, attrs);", adapter);
        Assert.Contains("var o_y = global::IXC25.Graph.HostAct.Of(Alloc(global::IXC25.Runtime.Tensors.DType.F32, global::IXC25.Graph.OpShapes.LinearY(in d)));", adapter);
        Assert.Contains("Kernels.Linear(global::IXC25.Graph.HostAct.Of(x).Span, weight, bias, in d, attrs, o_y.Span);", adapter);
        Assert.Contains("kPast is null ? default : global::IXC25.Graph.HostAct.Of(kPast).Span", adapter);
        Assert.Contains("return new global::IXC25.Graph.AttentionOutputs(o_y, o_k_new, o_v_new);", adapter);
        // split_qkv, sdpa, merge_gn, drop_first: the one generic route
        Assert.Contains("var result = r.Target.SplitQkv(f_qkv, attrs);", adapter);
        Assert.Contains("return new global::IXC25.Graph.SplitQkvOutputs(r.Out(result.Q), r.Out(result.K), r.Out(result.V));", adapter);
        Assert.Contains("var result = r.Target.MergeGn(f_features, subGn, glbGn, attrs);", adapter);
        Assert.Equal(4, CountOf(adapter, "var r = Route;"));
        Assert.DoesNotContain("Fallback.", adapter);
    }

    [Fact]
    public void GpuAdapterRunsDeviceOpsOnDeviceTensorsAndRoutesTheOracleOps()
    {
        var kernels = Source("gpu", "IGpuKernels.g.cs");
        // tensor-level kernels: inputs and outputs are the backend's device tensors, never host spans
        Assert.Contains("void RmsNorm(global::IXC25.Backends.Gpu.GpuAct x, global::IXC25.Runtime.Tensors.NamedTensor weight, in global::IXC25.Graph.RmsNormDims d, global::IXC25.Graph.RmsNormAttrs attrs, global::IXC25.Backends.Gpu.GpuAct y);", kernels);
        Assert.Contains("void Linear(global::IXC25.Backends.Gpu.GpuAct x, global::IXC25.Runtime.Tensors.NamedTensor weight, global::IXC25.Runtime.Tensors.NamedTensor? bias,", kernels);
        Assert.DoesNotContain("Span<", kernels);
        Assert.DoesNotContain("void Sdpa(", kernels);
        var adapter = Source("gpu", "GpuGraphOps.g.cs");
        Assert.Contains("Kernels.SiluGate(global::IXC25.Backends.Gpu.GpuAct.Of(a), global::IXC25.Backends.Gpu.GpuAct.Of(b), in d, attrs, o_y);", adapter);
        Assert.Contains("var o_y = global::IXC25.Backends.Gpu.GpuAct.Of(Alloc(", adapter);
        Assert.Contains("OnKernel(\"silu_gate\");", adapter);
        Assert.Contains("Kernels.AttentionCached(", adapter);
        Assert.DoesNotContain("HostAct", adapter);
        // the oracle-only ops lowered to "none" take the fallback route
        Assert.Contains("var result = r.Target.Sdpa(", adapter);
        Assert.Contains("r.Done(kPast, f_k_past);", adapter);
    }

    [Fact]
    public void ReferenceAdapterImplementsEveryOpWithoutAFallback()
    {
        var adapter = Source("ref", "RefGraphOps.g.cs");
        Assert.DoesNotContain("Route", adapter);
        foreach (var op in new[] { "SplitQkv", "Sdpa", "MergeGn", "DropFirst", "Linear", "AttentionCached" })
            Assert.Contains($"Kernels.{op}(", adapter);
        var (result, _, _) = GeneratorHarness.Run(GeneratorHarness.RealSpec(), "ref");
        Assert.Equal(["IRefKernels.g.cs", "RefGraphOps.g.cs"], result.GeneratedSources.Select(s => s.HintName).Order());
    }

    [Fact]
    public void FoldedLeadingDimensionsAreCheckedAndGivenBack()
    {
        var shapes = Source("ops", "OpShapes.g.cs");
        Assert.Contains("public readonly record struct LinearDims(int T, int IN, int OUT, global::System.ReadOnlyMemory<long> TShape);", shapes);
        Assert.Contains("shapes[\"x\"] = global::IXC25.Runtime.Spec.ShapeUnifier.Fold(\"linear\", \"x\", x, 2);", shapes);
        Assert.Contains("return [.. d.TShape.Span, (long)d.OUT];", shapes);
        // add: both inputs fold into T, so they must fold the same dimensions
        Assert.Contains("global::IXC25.Runtime.Spec.ShapeUnifier.SameFold(\"add\", \"b\", b, 2, \"a\", a, 2);", shapes);
        // merge_gn: the separators are bound by element count
        Assert.Contains("shapes[\"sub_gn\"] = global::IXC25.Runtime.Spec.ShapeUnifier.Fold(\"merge_gn\", \"sub_gn\", subGn, 1);", shapes);
        // clip_embed: PZ is the patch attribute, checked against patch_weight
        Assert.Contains("u.BindAttr(\"PZ\", attrs.Patch, \"patch\");", shapes);
    }

    private static int CountOf(string s, string part)
    {
        int n = 0;
        for (int i = s.IndexOf(part, StringComparison.Ordinal); i >= 0; i = s.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
