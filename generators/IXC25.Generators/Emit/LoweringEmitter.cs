using System.Collections.Generic;
using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits the per-backend lowering tables from the ops' "lowering" field: <c>CpuLowering</c> (target
/// <c>cpu</c>, IXC25.Backends.Cpu) maps every op to "simd:&lt;pattern&gt;" (a generated kernel driven by
/// CpuOps), "driver" (a hand-written fast path) or "reference" (the scalar reference); <c>GpuLowering</c>
/// (target <c>gpu</c>, IXC25.Backends.Gpu) maps every op to "ilgpu:&lt;pattern&gt;", "driver" or "none".
/// </summary>
internal static class LoweringEmitter
{
    public static string EmitCpu(OpSet ops) =>
        Emit(ops, "IXC25.Backends.Cpu", "CpuLowering", "How the CPU backend (CpuOps) implements each op of spec/ops.json",
            op => op.CpuLowering == "simd" ? "simd:" + op.Kernel!.Pattern : op.CpuLowering,
            new[] { ("Simd", "simd", "a generated SIMD kernel (IXC25.Backends.Cpu.Simd.<Op>Kernel), rows driven by CpuOps; the value is \"simd:<pattern>\""),
                    ("Driver", "driver", "a hand-written fast driver"),
                    ("Reference", "reference", "the scalar reference (RefOps)") });

    public static string EmitGpu(OpSet ops) =>
        Emit(ops, "IXC25.Backends.Gpu", "GpuLowering", "How the ILGPU backend (GpuOps) implements each op of spec/ops.json",
            op => op.GpuLowering == "ilgpu" ? "ilgpu:" + op.Kernel!.Pattern : op.GpuLowering,
            new[] { ("Ilgpu", "ilgpu", "a generated ILGPU kernel (IXC25.Backends.Gpu.Kernels.<Op>GpuKernel); the value is \"ilgpu:<pattern>\""),
                    ("Driver", "driver", "hand-written ILGPU kernels driven by GpuOps (IXC25.Backends.Gpu.Drivers)"),
                    ("None", "none", "not available on this backend: the fallback runs it") });

    private static string Emit(OpSet ops, string ns, string cls, string doc, System.Func<OpSpec, string> value, (string Const, string Value, string Doc)[] kinds)
    {
        var w = new CodeWriter();
        w.Doc(doc + " (the op's \"lowering\" field; spec/README.md, Kernels).");
        w.Open($"public static partial class {cls}");
        foreach (var (c, v, d) in kinds)
        {
            w.Doc(d);
            w.Line($"public const string {c} = {CodeWriter.Str(v)};");
        }
        w.Line();
        w.Doc("Op name -> lowering, in spec order.");
        w.Line("public static readonly global::System.Collections.Generic.IReadOnlyList<global::System.Collections.Generic.KeyValuePair<string, string>> All =");
        w.Line("[");
        foreach (var op in ops.Ops)
            w.Line($"    new({CodeWriter.Str(op.Name)}, {CodeWriter.Str(value(op))}),");
        w.Line("];");
        w.Line();
        w.Doc("The lowering of an op (\"simd:map\", \"driver\", ...), or null for an op the spec does not define.");
        w.Open("public static string? Of(string op)");
        w.Line("foreach (var kv in All) if (kv.Key == op) return kv.Value;");
        w.Line("return null;");
        w.Close();
        w.Line();
        w.Doc("The lowering kind without the pattern (\"simd\", \"driver\", ...), or null for an unknown op.");
        w.Line("public static string? KindOf(string op) => Of(op) is { } l ? l.Split(':')[0] : null;");
        w.Close();
        return CodeWriter.Header(ns) + w;
    }
}
