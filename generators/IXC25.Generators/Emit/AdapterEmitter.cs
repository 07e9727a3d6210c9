using System.Collections.Generic;
using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits, per backend, the glue between the graph contract and the hand-written kernels:
/// <list type="bullet">
/// <item><c>I&lt;Backend&gt;Kernels</c>: one span-level method per op the backend implements (its lowering
/// table says so): activation inputs as read-only spans (an absent optional one is empty), weights as stored
/// (<c>NamedTensor</c>), KV caches as the backend's <c>KvLayer</c>, the bound shape symbols
/// (<c>&lt;Op&gt;Dims</c>), the attributes, and the outputs as spans to fill. The backend's kernel class
/// (CpuOps, RefKernels, GpuOps) implements it by hand.</item>
/// <item>the <c>IOracleOps</c> adapter (<c>&lt;Backend&gt;GraphOps</c>, partial): per implemented op, shapes bound
/// once (<c>OpShapes</c>), outputs allocated through the backend (<c>Alloc</c>), one kernel call; every other op
/// goes through the one generic fallback route (<c>FallbackRoute</c>: tensors moved to the fallback backend
/// when it does not own them, results moved back). The hand-written half declares <c>Kernels</c>,
/// <c>Route</c> (when there is a fallback) and the tensor members; it may implement the hook
/// <c>OnKernel(op)</c> (called after each kernel; removed by the compiler when not implemented).</item>
/// </list>
/// Span-level adapters are for backends whose tensors are host memory (<c>HostAct</c>); a backend with its own
/// tensor type (<see cref="Backend.Act"/>: the ILGPU backend's device-resident <c>GpuAct</c>) gets tensor-level
/// kernels instead, so no activation leaves the device inside an op.
/// </summary>
internal static class AdapterEmitter
{
    /// <param name="Act">The backend's own tensor type when its kernels take tensors rather than host spans (a device
    /// backend: <c>GpuAct</c>); null for host backends (span-level kernels over <c>HostAct</c>).</param>
    internal sealed record Backend(string Namespace, string Name, string Doc, System.Func<OpSpec, bool> Native, bool HasFallback, string Lowering, string? Act = null);

    public static readonly Backend Cpu = new("IXC25.Backends.Cpu", "Cpu", "the CPU backend (CpuOps: generated SIMD kernels and hand-written drivers)",
        op => op.CpuLowering != "reference", HasFallback: true, "the CPU lowering \"simd\" or \"driver\" (CpuLowering); \"reference\" goes to the fallback");
    public static readonly Backend Ref = new("IXC25.Backends.Reference", "Ref", "the reference backend (RefKernels over the scalar references RefOps)",
        _ => true, HasFallback: false, "every op");
    public static readonly Backend Gpu = new("IXC25.Backends.Gpu", "Gpu", "the ILGPU backend (GpuOps: generated ILGPU kernels and hand-written ILGPU drivers over device-resident tensors)",
        op => op.GpuLowering != "none", HasFallback: true, "the GPU lowering \"ilgpu\" or \"driver\" (GpuLowering); \"none\" goes to the fallback",
        Act: "global::IXC25.Backends.Gpu.GpuAct");

    public static IEnumerable<(string HintName, string Source)> Emit(OpSet ops, Backend b)
    {
        yield return ($"I{b.Name}Kernels.g.cs", EmitKernels(ops, b));
        yield return ($"{b.Name}GraphOps.g.cs", EmitAdapter(ops, b));
    }

    private const string Nt = "global::IXC25.Runtime.Tensors.NamedTensor";
    private const string Host = "global::IXC25.Graph.HostAct";

    private static string Elem(PortSpec p) => p.DTypes[0] switch { "u8" or "bool" => "byte", "i64" => "long", _ => "float" };
    private static string HostSpan(PortSpec p) => Elem(p) switch { "byte" => "Bytes", "long" => "Longs", _ => "Span" };
    private static string DTypeOf(PortSpec p) => "global::IXC25.Runtime.Tensors.DType." + Elem(p) switch { "byte" => "U8", "long" => "I64", _ => "F32" };

    private static string KernelParam(PortSpec p, Backend b) =>
        p.IsCache ? "global::IXC25.Graph.KvLayer" + (p.Optional ? "?" : "")
        : OpsEmitter.IsWeightPort(p) ? Nt + (p.Optional ? "?" : "")
        : b.Act is { } act ? act + (p.Optional ? "?" : "")
        : $"global::System.ReadOnlySpan<{Elem(p)}>";

    private static string OutputParam(PortSpec o, Backend b) => b.Act ?? $"global::System.Span<{Elem(o)}>";

    private static string EmitKernels(OpSet ops, Backend b)
    {
        var w = new CodeWriter();
        w.Doc(b.Act is null
            ? $"The span-level kernels of {b.Doc}: one method per op of spec/ops.json with {b.Lowering}. Generated from the spec; the adapter {b.Name}GraphOps checks shapes, allocates the outputs and calls these."
            : $"The tensor-level kernels of {b.Doc}: one method per op of spec/ops.json with {b.Lowering}, over the backend's own tensors (inputs and the allocated outputs stay where the backend keeps them). Generated from the spec; the adapter {b.Name}GraphOps checks shapes, allocates the outputs and calls these.");
        w.Open($"public partial interface I{b.Name}Kernels");
        foreach (var op in ops.Ops.Where(b.Native))
        {
            string pascal = ModelParser.Pascal(op.Name);
            w.Doc(op.Doc);
            var ps = op.Inputs.Select(p => $"{KernelParam(p, b)} {OpsEmitter.Ident(p.Name)}")
                .Concat(new[] { $"in global::IXC25.Graph.{pascal}Dims d", $"global::IXC25.Graph.{pascal}Attrs attrs" })
                .Concat(op.Outputs.Select(o => $"{OutputParam(o, b)} {OpsEmitter.Ident(o.Name)}"));
            w.Line($"void {pascal}({string.Join(", ", ps)});");
        }
        w.Close();
        return CodeWriter.Header(b.Namespace) + w;
    }

    private static void Signature(CodeWriter w, OpSpec op)
    {
        var ps = op.Inputs.Select(p => $"{OpsEmitter.PortType(p)} {OpsEmitter.Ident(p.Name)}").Concat(new[] { $"global::IXC25.Graph.{ModelParser.Pascal(op.Name)}Attrs attrs" });
        w.Open($"public {OpsEmitter.ReturnType(op)} {ModelParser.Pascal(op.Name)}({string.Join(", ", ps)})");
    }

    private static string EmitAdapter(OpSet ops, Backend b)
    {
        var w = new CodeWriter();
        w.Doc($"The graph ops of {b.Doc}, generated from spec/ops.json: the ops with {b.Lowering}.");
        w.Open($"public sealed partial class {b.Name}GraphOps : global::IXC25.Graph.IOracleOps");
        w.Doc("Called after each kernel with the op's name (implement it to count or trace; removed when not implemented).");
        w.Line("partial void OnKernel(string op);");
        foreach (var op in ops.Ops)
        {
            w.Line();
            w.Doc(op.Doc);
            Signature(w, op);
            if (b.Native(op)) Native(w, op, b);
            else if (b.HasFallback) Fallback(w, op);
            else w.Line($"throw new global::IXC25.Runtime.IxcException(\"op '{op.Name}' is not implemented by this backend\");");
            w.Close();
        }
        w.Close();
        return CodeWriter.Header(b.Namespace) + w;
    }

    private static void Native(CodeWriter w, OpSpec op, Backend b)
    {
        string own = b.Act ?? Host;
        string pascal = ModelParser.Pascal(op.Name);
        var shapeArgs = op.Inputs.Where(p => !p.IsCache).Select(p => OpsEmitter.Ident(p.Name) + (p.Optional ? "?.Shape" : ".Shape"));
        w.Line($"var d = global::IXC25.Graph.OpShapes.{pascal}({string.Join(", ", shapeArgs.Concat(new[] { "attrs" }))});");
        foreach (var o in op.Outputs)
            w.Line($"var o_{o.Name} = {own}.Of(Alloc({DTypeOf(o)}, global::IXC25.Graph.OpShapes.{pascal}{ModelParser.Pascal(o.Name)}(in d)));");
        var args = op.Inputs.Select(p =>
        {
            string v = OpsEmitter.Ident(p.Name);
            if (p.IsCache || OpsEmitter.IsWeightPort(p)) return v;
            if (b.Act is { } act) return p.Optional ? $"{v} is null ? null : {act}.Of({v})" : $"{act}.Of({v})";
            return p.Optional ? $"{v} is null ? default : {Host}.Of({v}).{HostSpan(p)}" : $"{Host}.Of({v}).{HostSpan(p)}";
        }).Concat(new[] { "in d", "attrs" }).Concat(op.Outputs.Select(o => b.Act is null ? $"o_{o.Name}.{HostSpan(o)}" : $"o_{o.Name}"));
        w.Line($"Kernels.{pascal}({string.Join(", ", args)});");
        w.Line($"OnKernel({CodeWriter.Str(op.Name)});");
        w.Line(op.Outputs.Count == 1 ? $"return o_{op.Outputs[0].Name};"
            : $"return new global::IXC25.Graph.{pascal}Outputs({string.Join(", ", op.Outputs.Select(o => "o_" + o.Name))});");
    }

    private static void Fallback(CodeWriter w, OpSpec op)
    {
        string pascal = ModelParser.Pascal(op.Name);
        var acts = op.Inputs.Where(p => !p.IsCache && !OpsEmitter.IsWeightPort(p)).ToList();
        w.Line("var r = Route;");
        foreach (var p in acts)
            w.Line($"var f_{p.Name} = r.In({OpsEmitter.Ident(p.Name)});");
        var args = op.Inputs.Select(p => acts.Contains(p) ? "f_" + p.Name : OpsEmitter.Ident(p.Name)).Concat(new[] { "attrs" });
        w.Line($"var result = r.Target.{pascal}({string.Join(", ", args)});");
        foreach (var p in acts)
            w.Line($"r.Done({OpsEmitter.Ident(p.Name)}, f_{p.Name});");
        w.Line(op.Outputs.Count == 1 ? "return r.Out(result);"
            : $"return new global::IXC25.Graph.{pascal}Outputs({string.Join(", ", op.Outputs.Select(o => $"r.Out(result.{ModelParser.Pascal(o.Name)})"))});");
    }
}
