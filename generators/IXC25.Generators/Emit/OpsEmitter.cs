using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits the op registry of spec/ops.json (<c>OpNames</c>, <c>OpCatalog</c>), one typed attribute
/// record per op with a parser for `--attr key=value` strings, and the tolerance table of
/// spec/tolerances.json (<c>ToleranceTable</c>).
/// </summary>
internal static class OpsEmitter
{
    public const string Namespace = "IXC25.Graph";

    /// <summary>Everything of target <c>ops</c> but the tolerance table (<see cref="EmitTolerances"/>, its own output).</summary>
    public static IEnumerable<(string HintName, string Source)> Emit(OpSet ops)
    {
        yield return ("OpCatalog.g.cs", EmitCatalog(ops));
        yield return ("OpAttrs.g.cs", EmitAttrs(ops));
        yield return ("OpShapes.g.cs", EmitShapes(ops));
        yield return ("IGraphOps.g.cs", EmitGraphOps(ops));
        yield return ("OpInvoker.g.cs", EmitInvoker(ops));
    }

    private static string EmitCatalog(OpSet ops)
    {
        var w = new CodeWriter();
        w.Doc("Names of the ops of spec/ops.json.");
        w.Open("public static partial class OpNames");
        foreach (var op in ops.Ops)
        {
            w.Doc(op.Doc);
            w.Line($"public const string {ModelParser.Pascal(op.Name)} = {CodeWriter.Str(op.Name)};");
        }
        w.Close();
        w.Line();
        w.Doc("The registry of ops: ports with dtypes and symbolic shapes, attributes, accumulation dtype, tolerance class, kernel pattern.");
        w.Open("public static partial class OpCatalog");
        w.Line("public static readonly global::System.Collections.Generic.IReadOnlyList<global::IXC25.Runtime.Spec.OpInfo> All =");
        w.Line("[");
        foreach (var op in ops.Ops)
        {
            w.Line($"    new({CodeWriter.Str(op.Name)}, {CodeWriter.Str(op.Doc)},");
            w.Line($"        [{string.Join(", ", op.Inputs.Select(Port))}],");
            w.Line($"        [{string.Join(", ", op.Outputs.Select(Port))}],");
            w.Line($"        [{string.Join(", ", op.Attrs.Select(a => $"new global::IXC25.Runtime.Spec.AttrInfo({CodeWriter.Str(a.Name)}, {CodeWriter.Str(a.Type)}, {(a.Default is null ? "null" : CodeWriter.Str(a.Default))}, {CodeWriter.Str(a.Doc)})"))}],");
            w.Line($"        new global::System.Collections.Generic.Dictionary<string, string> {{ {string.Join(", ", op.SymbolBindings.Select(b => $"[{CodeWriter.Str(b.Symbol)}] = {CodeWriter.Str(b.Attr)}"))} }},");
            w.Line($"        {CodeWriter.Str(op.Accum)}, {CodeWriter.Str(op.Tolerance)}, {(op.Kernel is null ? "null" : CodeWriter.Str(op.Kernel.Pattern))}),");
        }
        w.Line("];");
        w.Line();
        w.Doc("The op with this name, or null.");
        w.Line("public static global::IXC25.Runtime.Spec.OpInfo? Find(string name) => global::System.Linq.Enumerable.FirstOrDefault(All, o => o.Name == name);");
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    private static string Port(PortSpec p) =>
        $"new global::IXC25.Runtime.Spec.PortInfo({CodeWriter.Str(p.Name)}, [{string.Join(", ", p.DTypes.Where(d => d != "kv").Select(d => "global::IXC25.Runtime.Tensors.DType." + TapsEmitter.DType(d)))}], [{string.Join(", ", p.Shape.Select(CodeWriter.Str))}], {(p.Optional ? "true" : "false")}, {(p.Inout ? "true" : "false")}, {(p.IsCache ? "true" : "false")})";

    private static string ClrType(string t) => t switch { "int" => "int", "float" => "float", "bool" => "bool", _ => "string" };

    private static string DefaultLiteral(AttrSpec a) => a.Type switch
    {
        "float" => double.Parse(a.Default!, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture) + "f",
        "string" => CodeWriter.Str(a.Default!),
        _ => a.Default!,
    };

    private static string EmitAttrs(OpSet ops)
    {
        var w = new CodeWriter();
        foreach (var op in ops.Ops)
        {
            string type = ModelParser.Pascal(op.Name) + "Attrs";
            w.Doc($"Attributes of op '{op.Name}'.");
            w.Open($"public sealed partial record {type}");
            foreach (var a in op.Attrs)
            {
                w.Doc(a.Doc.Length > 0 ? a.Doc : a.Name);
                w.Line($"public {(a.Default is null ? "required " : "")}{ClrType(a.Type)} {ModelParser.Pascal(a.Name)} {{ get; init; }}{(a.Default is null ? "" : " = " + DefaultLiteral(a) + ";")}");
            }
            w.Line();
            w.Doc("Parses `key=value` attributes (invariant culture); unknown keys, bad values and missing required attributes are errors.");
            w.Open($"public static {type} Parse(global::System.Collections.Generic.IReadOnlyDictionary<string, string> attrs)");
            w.Line($"var p = new global::IXC25.Runtime.Spec.AttrParser({CodeWriter.Str(op.Name)}, attrs, [{string.Join(", ", op.Attrs.Select(a => CodeWriter.Str(a.Name)))}]);");
            w.Open($"return new {type}");
            foreach (var a in op.Attrs)
            {
                string read = a.Type switch { "int" => "Int", "float" => "Float", "bool" => "Bool", _ => "String" };
                string fallback = a.Default is null ? "" : ", " + DefaultLiteral(a);
                w.Line($"{ModelParser.Pascal(a.Name)} = p.{read}({CodeWriter.Str(a.Name)}{fallback}),");
            }
            w.Close(";");
            w.Close();
            w.Close();
            w.Line();
        }
        return CodeWriter.Header(Namespace) + w;
    }

    public static string EmitTolerances(IReadOnlyList<ToleranceSpec> tolerances)
    {
        var w = new CodeWriter();
        w.Doc("The tolerance classes of spec/tolerances.json, compiled in (compare --tolerances FILE reads another table at run time).");
        w.Open("public static partial class ToleranceTable");
        w.Line("public static readonly global::System.Collections.Generic.IReadOnlyList<global::IXC25.Runtime.Spec.ToleranceInfo> Classes =");
        w.Line("[");
        foreach (var t in tolerances.Where(t => t.Class is null))
            w.Line($"    new({CodeWriter.Str(t.Name)}, {R(t.Atol)}, {R(t.Rtol)}, {R(t.Nmse)}, {CodeWriter.Str(t.Reason)}){(t.AtolPerPosition > 0 ? $" {{ AtolPerPosition = {R(t.AtolPerPosition)} }}" : "")},");
        w.Line("];");
        w.Line();
        w.Doc("Overrides refining a class for a weight dtype and/or backend.");
        w.Line("public static readonly global::System.Collections.Generic.IReadOnlyList<(string Class, string? DType, string? Backend, global::IXC25.Runtime.Spec.ToleranceInfo Value)> Overrides =");
        w.Line("[");
        foreach (var t in tolerances.Where(t => t.Class is not null))
            w.Line($"    ({CodeWriter.Str(t.Class!)}, {(t.DType is null ? "null" : CodeWriter.Str(t.DType))}, {(t.Backend is null ? "null" : CodeWriter.Str(t.Backend))}, new({CodeWriter.Str(t.Name)}, {R(t.Atol)}, {R(t.Rtol)}, {R(t.Nmse)}, {CodeWriter.Str(t.Reason)})),");
        w.Line("];");
        w.Line();
        w.Doc("The class with this name (without overrides), or null.");
        w.Line("public static global::IXC25.Runtime.Spec.ToleranceInfo? Find(string name) => global::System.Linq.Enumerable.FirstOrDefault(Classes, t => t.Name == name);");
        w.Line();
        w.Doc("The whole table, overrides included.");
        w.Line("public static global::IXC25.Runtime.Compare.ToleranceSet Set { get; } = new(Classes, Overrides);");
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    /// <summary>
    /// Per op: a <c>&lt;Op&gt;Dims</c> record struct (the op's shape symbols as ints, and for each symbol that
    /// an input's leading "..." folds into, the input dimensions it folds), <c>OpShapes.&lt;Op&gt;</c> (unify the
    /// symbolic input shapes with actual shapes: bare symbols bind, expressions are checked) and
    /// <c>OpShapes.&lt;Op&gt;&lt;Output&gt;</c> (an output's shape from the bound symbols).
    /// </summary>
    private static string EmitShapes(OpSet ops)
    {
        var w = new CodeWriter();
        foreach (var op in ops.Ops)
        {
            string pascal = ModelParser.Pascal(op.Name);
            var symbols = Symbols(op);
            var folds = Folds(op);
            w.Doc($"The shape symbols of '{op.Name}' bound by OpShapes.{pascal} (0 for a symbol only an absent optional input binds){(folds.Count > 0 ? "; " + string.Join(", ", folds.Select(f => $"{f.Symbol}Shape: the dimensions of input '{f.Port.Name}' that {f.Symbol} is the product of")) : "")}.");
            var fields = symbols.Select(x => "int " + x).Concat(folds.Select(f => $"global::System.ReadOnlyMemory<long> {f.Symbol}Shape"));
            w.Line($"public readonly record struct {pascal}Dims({string.Join(", ", fields)});");
            w.Line();
        }
        w.Doc("Shape checking generated from the symbolic shapes of spec/ops.json.");
        w.Open("public static partial class OpShapes");
        foreach (var op in ops.Ops)
        {
            string pascal = ModelParser.Pascal(op.Name);
            string name = CodeWriter.Str(op.Name);
            var ports = op.Inputs.Where(p => !p.IsCache).ToList();
            var folds = Folds(op);
            w.Doc($"Binds the shape symbols of '{op.Name}' from its inputs' shapes (and int attributes); throws naming the port and dimension on a mismatch.");
            var ps = ports.Select(p => $"long[]{(p.Optional ? "?" : "")} {Ident(p.Name)}").Concat(new[] { $"{pascal}Attrs attrs" });
            w.Open($"public static {pascal}Dims {pascal}({string.Join(", ", ps)})");
            w.Line($"var shapes = new global::System.Collections.Generic.Dictionary<string, long[]>({ports.Count}, global::System.StringComparer.Ordinal);");
            foreach (var p in ports)
            {
                string v = IsFolded(p) ? $"global::IXC25.Runtime.Spec.ShapeUnifier.Fold({name}, {CodeWriter.Str(p.Name)}, {Ident(p.Name)}, {p.Shape.Count - 1})" : Ident(p.Name);
                w.Line($"{(p.Optional ? $"if ({Ident(p.Name)} is not null) " : "")}shapes[{CodeWriter.Str(p.Name)}] = {v};");
            }
            // ports folding into the same symbol fold the same dimensions
            foreach (var f in folds)
                foreach (var other in ports.Where(p => p != f.Port && IsFolded(p) && p.Shape[1] == f.Symbol))
                    w.Line($"{(other.Optional ? $"if ({Ident(other.Name)} is not null) " : "")}global::IXC25.Runtime.Spec.ShapeUnifier.SameFold({name}, {CodeWriter.Str(other.Name)}, {Ident(other.Name)}, {other.Shape.Count - 1}, {CodeWriter.Str(f.Port.Name)}, {Ident(f.Port.Name)}{(f.Port.Optional ? "!" : "")}, {f.Port.Shape.Count - 1});");
            w.Line($"var u = new global::IXC25.Runtime.Spec.ShapeUnifier({name}, shapes);");
            foreach (var b in op.SymbolBindings)
                w.Line($"u.BindAttr({CodeWriter.Str(b.Symbol)}, attrs.{ModelParser.Pascal(b.Attr)}, {CodeWriter.Str(b.Attr)});");
            var present = new Dictionary<string, string>();
            foreach (var p in ports)
            {
                string flag = "has_" + p.Name;
                present[p.Name] = flag;
                w.Line($"bool {flag} = u.Port({CodeWriter.Str(p.Name)}, {Dims(p).Count}, {(p.Optional ? "true" : "false")});");
            }
            // pass 1: bare symbols (required ports first so optional ones are checked against them)
            foreach (var p in ports.OrderBy(p => p.Optional))
            {
                var dims = Dims(p);
                for (int d = 0; d < dims.Count; d++)
                    if (Expr.Parse(dims[d]) is Ident id)
                        w.Line($"if ({present[p.Name]}) u.Bind({CodeWriter.Str(p.Name)}, {d}, {CodeWriter.Str(id.Name)});");
            }
            // pass 2: numbers and expressions
            foreach (var p in ports)
            {
                var dims = Dims(p);
                for (int d = 0; d < dims.Count; d++)
                {
                    var e = Expr.Parse(dims[d]);
                    if (e is Ident) continue;
                    w.Line($"if ({present[p.Name]}) u.Check({CodeWriter.Str(p.Name)}, {d}, {CodeWriter.Str(dims[d])}, () => {Long(e, dims[d])});");
                }
            }
            var args = Symbols(op).Select(x => $"u.Int({CodeWriter.Str(x)})")
                .Concat(folds.Select(f => $"{(f.Port.Optional ? $"{Ident(f.Port.Name)} is null ? default : " : "")}global::IXC25.Runtime.Spec.ShapeUnifier.Folded({Ident(f.Port.Name)}, {f.Port.Shape.Count - 1})"));
            w.Line($"return new {pascal}Dims({string.Join(", ", args)});");
            w.Close();
            var known = Symbols(op);
            foreach (var o in op.Outputs)
            {
                w.Doc($"Shape of output '{o.Name}' of '{op.Name}' from the bound symbols.");
                w.Open($"public static long[] {pascal}{ModelParser.Pascal(o.Name)}(in {pascal}Dims d)");
                var dims = Dims(o);
                if (!dims.All(x => Expr.Parse(x).Identifiers().All(known.Contains)))
                    w.Line($"throw new global::IXC25.Runtime.IxcException(\"op '{op.Name}': the spec does not determine the shape of output '{o.Name}'\");");
                else
                {
                    var parts = dims.Select(x => DimLong(Expr.Parse(x), x, op.Name)).ToList();
                    if (IsFolded(o)) parts[0] = $".. d.{o.Shape[1]}Shape.Span";
                    w.Line("return [" + string.Join(", ", parts) + "];");
                }
                w.Close();
            }
        }
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    /// <summary>A port whose shape starts with "..." (its leading dimensions fold into the next one).</summary>
    public static bool IsFolded(PortSpec p) => p.Shape.Count > 1 && p.Shape[0] == SpecReader.FoldDim;

    /// <summary>The dimensions a port is checked with: without its leading "...".</summary>
    public static IReadOnlyList<string> Dims(PortSpec p) => IsFolded(p) ? p.Shape.Skip(1).ToList() : p.Shape.ToList();

    /// <summary>The op's shape symbols: bound by attributes, or bare in its (non-cache) input shapes, in first-seen order.</summary>
    public static List<string> Symbols(OpSpec op)
    {
        var list = new List<string>();
        foreach (var b in op.SymbolBindings) if (!list.Contains(b.Symbol)) list.Add(b.Symbol);
        foreach (var p in op.Inputs.Where(p => !p.IsCache))
            foreach (var d in Dims(p))
                if (Expr.Parse(d) is Ident id && !list.Contains(id.Name)) list.Add(id.Name);
        return list;
    }

    /// <summary>Per symbol that an input's "..." folds into: the first such input (required ones first).</summary>
    public static List<(string Symbol, PortSpec Port)> Folds(OpSpec op)
    {
        var list = new List<(string, PortSpec)>();
        foreach (var p in op.Inputs.Where(p => !p.IsCache && IsFolded(p)).OrderBy(p => p.Optional))
            if (Expr.Parse(p.Shape[1]) is Ident id && !list.Any(f => f.Item1 == id.Name)) list.Add((id.Name, p));
        return list;
    }

    private static string DimLong(Expr e, string text, string op) => e switch
    {
        Num n => n.Raw + "L",
        Ident id => $"(long)d.{id.Name}",
        Unary u => "(-" + DimLong(u.Operand, text, op) + ")",
        Binary { Op: '/' } b => $"global::IXC25.Runtime.Spec.ShapeUnifier.Divide({CodeWriter.Str(op)}, {DimLong(b.Left, text, op)}, {DimLong(b.Right, text, op)}, {CodeWriter.Str(text)})",
        Binary b => $"checked({DimLong(b.Left, text, op)} {b.Op} {DimLong(b.Right, text, op)})",
        _ => throw new System.InvalidOperationException("functions are not allowed in shapes"),
    };

    /// <summary>A port that takes stored weights (any dtype list with bf16 or f16) rather than an activation.</summary>
    public static bool IsWeightPort(PortSpec p) => p.DTypes.Contains("bf16") || p.DTypes.Contains("f16");

    public static string PortType(PortSpec p) =>
        (p.IsCache ? "global::IXC25.Graph.KvLayer" : IsWeightPort(p) ? "global::IXC25.Runtime.Tensors.NamedTensor" : "global::IXC25.Graph.Act") + (p.Optional ? "?" : "");

    public static string ReturnType(OpSpec op) =>
        op.Outputs.Count == 1 ? "global::IXC25.Graph.Act" : "global::IXC25.Graph." + ModelParser.Pascal(op.Name) + "Outputs";

    /// <summary>
    /// The interfaces of the backends: <c>IGraphOps</c> (the ops the generated graph calls: "graph" not
    /// false; the tensor and cache members are hand-written in IXC25.Graph), <c>IOracleOps</c> (adds the
    /// oracle-only ops, which the reference backend and the op table run), the <c>*Outputs</c> records,
    /// and <c>DelegatingGraphOps</c> (a decorator base forwarding every op to an inner backend).
    /// </summary>
    private static string EmitGraphOps(OpSet ops)
    {
        var w = new CodeWriter();
        w.Doc("What a backend provides to run the forward pass generated from spec/model.json's graph: one method per op of spec/ops.json that the graph may call (\"graph\" not false). Weight ports take the stored tensor (bf16/f16/f32), activation ports an Act owned by this backend, cache ports a KvLayer of this backend; outputs are new activations owned by the caller (give them back with Release).");
        w.Open("public partial interface IGraphOps");
        foreach (var op in ops.Ops.Where(o => o.Graph)) Signature(w, op, ";");
        w.Close();
        w.Line();
        w.Doc("A backend that also runs the oracle-only ops of spec/ops.json (\"graph\": false): the reference backend, and every backend the op table checks.");
        w.Open("public partial interface IOracleOps : IGraphOps");
        foreach (var op in ops.Ops.Where(o => !o.Graph)) Signature(w, op, ";");
        w.Close();
        foreach (var op in ops.Ops.Where(o => o.Outputs.Count > 1))
        {
            w.Line();
            w.Doc($"Outputs of op '{op.Name}'.");
            w.Line($"public sealed record {ModelParser.Pascal(op.Name)}Outputs({string.Join(", ", op.Outputs.Select(o => $"global::IXC25.Graph.Act {ModelParser.Pascal(o.Name)}"))});");
        }
        w.Line();
        w.Doc("Forwards every op of IGraphOps to Inner (the tensor and cache members are in DelegatingGraphOps.cs); a decorator overrides what it changes.");
        w.Open("public abstract partial class DelegatingGraphOps : IGraphOps");
        foreach (var op in ops.Ops.Where(o => o.Graph))
        {
            var args = op.Inputs.Select(p => Ident(p.Name)).Concat(new[] { "attrs" });
            Signature(w, op, $" => Inner.{ModelParser.Pascal(op.Name)}({string.Join(", ", args)});", "public virtual ");
        }
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    private static void Signature(CodeWriter w, OpSpec op, string body, string modifiers = "")
    {
        w.Doc(op.Doc);
        var ps = op.Inputs.Select(p => $"{PortType(p)} {Ident(p.Name)}").Concat(new[] { $"{ModelParser.Pascal(op.Name)}Attrs attrs" });
        w.Line($"{modifiers}{ReturnType(op)} {ModelParser.Pascal(op.Name)}({string.Join(", ", ps)}){body}");
    }

    /// <summary>
    /// <c>OpInvoker.Invoke</c>: one op of spec/ops.json by name on named host tensors, on any backend
    /// (`ixc25 op`, the op table): attributes parsed, activations uploaded to the backend, weights passed as
    /// stored, a cache port filled from its contents (&lt;port&gt;.k, &lt;port&gt;.v) and read back after the
    /// call (&lt;port&gt;.k_after, &lt;port&gt;.v_after), outputs read back as named tensors.
    /// </summary>
    private static string EmitInvoker(OpSet ops)
    {
        var w = new CodeWriter();
        w.Doc("Runs one op of spec/ops.json by name on named host tensors (generated from the spec: no per-op code is hand-written).");
        w.Open("public static partial class OpInvoker");
        w.Doc("Runs <paramref name=\"name\"/> on <paramref name=\"ops\"/>; inputs are checked against the spec first (names, dtypes), shapes by the backend.");
        w.Open("public static global::System.Collections.Generic.IReadOnlyList<global::IXC25.Runtime.Tensors.NamedTensor> Invoke(IGraphOps ops, string name, global::System.Collections.Generic.IReadOnlyDictionary<string, global::IXC25.Runtime.Tensors.NamedTensor> inputs, global::System.Collections.Generic.IReadOnlyDictionary<string, string> attrs)");
        w.Line("var info = Require(name);");
        w.Line("CheckInputs(info, inputs);");
        w.Line("var io = new OpIo(ops, inputs);");
        w.Open("try");
        w.Open("switch (name)");
        foreach (var op in ops.Ops)
        {
            string pascal = ModelParser.Pascal(op.Name);
            w.Open($"case {CodeWriter.Str(op.Name)}:");
            w.Line($"var a = {pascal}Attrs.Parse(attrs);");
            var args = new List<string>();
            foreach (var p in op.Inputs)
            {
                string v = "p_" + p.Name;
                string opt = p.Optional ? "true" : "false";
                if (p.IsCache) w.Line($"var {v} = io.Cache({CodeWriter.Str(p.Name)});");
                else if (IsWeightPort(p)) w.Line($"var {v} = io.Weight({CodeWriter.Str(p.Name)}, {opt});");
                else w.Line($"var {v} = io.Activation({CodeWriter.Str(p.Name)}, {opt});");
                args.Add(p.Optional || p.IsCache ? v : v + "!");
            }
            args.Add("a");
            string call = $"{(op.Graph ? "ops" : "Oracle(ops, name)")}.{pascal}({string.Join(", ", args)})";
            w.Line($"var r = {call};");
            if (op.Outputs.Count == 1) w.Line($"io.Output({CodeWriter.Str(op.Outputs[0].Name)}, r);");
            else foreach (var o in op.Outputs) w.Line($"io.Output({CodeWriter.Str(o.Name)}, r.{ModelParser.Pascal(o.Name)});");
            w.Line("return io.Results();");
            w.Close();
        }
        w.Line("default: throw new global::IXC25.Runtime.IxcException($\"op '{name}' has no invoker\");");
        w.Close();
        w.Close();
        w.Open("finally");
        w.Line("io.Dispose();");
        w.Close();
        w.Close();
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    /// <summary>A C# parameter name for a port.</summary>
    public static string Ident(string name)
    {
        var parts = name.Split('_');
        var s = parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? "" : char.ToUpperInvariant(p[0]) + p.Substring(1)));
        return s is "class" or "in" or "out" or "base" ? "@" + s : s;
    }

    private static string Long(Expr e, string text, string table = "u") => e switch
    {
        Num n => n.Raw + "L",
        Ident id => $"{table}[{CodeWriter.Str(id.Name)}]",
        Unary u => "(-" + Long(u.Operand, text, table) + ")",
        Binary { Op: '/' } b => $"u.Div({Long(b.Left, text, table)}, {Long(b.Right, text, table)}, {CodeWriter.Str(text)})",
        Binary b => $"checked({Long(b.Left, text, table)} {b.Op} {Long(b.Right, text, table)})",
        _ => throw new System.InvalidOperationException("functions are not allowed in shapes"),
    };

    private static string R(double d) => d.ToString("R", CultureInfo.InvariantCulture) + "d";
}
