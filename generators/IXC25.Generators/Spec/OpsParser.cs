using System;
using System.Collections.Generic;
using System.Linq;
using IXC25.Generators.Json;

namespace IXC25.Generators.Spec;

/// <summary>Reads spec/ops.json.</summary>
internal static class OpsParser
{
    public static readonly HashSet<string> AttrTypes = new(StringComparer.Ordinal) { "int", "float", "bool", "string" };
    public static readonly HashSet<string> Patterns = new(StringComparer.Ordinal) { "map", "row_norm", "row_softmax", "rotate_half", "gemm" };
    public static readonly HashSet<string> KernelFunctions = new(StringComparer.Ordinal) { "exp", "sigmoid", "erf", "erfc", "rsqrt", "sqrt", "tanh", "max", "min", "abs" };

    /// <summary>Kernel patterns the CPU SIMD emitter and the ILGPU emitter compile (gemm is a hand-written driver).</summary>
    public static readonly HashSet<string> GeneratedPatterns = new(StringComparer.Ordinal) { "map", "row_norm", "row_softmax", "rotate_half" };

    /// <summary>Per backend, how an op may be lowered (spec/README.md, "Lowering"); the first value is the default.</summary>
    public static readonly (string Backend, string[] Values)[] Lowerings =
    {
        ("cpu", new[] { "reference", "simd", "driver" }),
        ("gpu", new[] { "none", "ilgpu", "driver" }),
    };

    public static OpSet? Parse(JsonValue root, SpecReader r, ISet<string> toleranceNames, bool checkTolerances)
    {
        if (!r.ExpectObject(root, "ops.json")) return null;
        r.Schema(root, "ops.json");
        var ops = new List<OpSpec>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in r.Array(root, "ops", "ops.json"))
        {
            if (!r.ExpectObject(o, "an op")) continue;
            string? name = r.String(o, "name", "op");
            if (name is null) continue;
            string ctx = $"op '{name}'";
            if (!names.Add(name)) r.Report("IXC0006", $"op '{name}' is defined twice", o["name"]!);
            string doc = r.String(o, "doc", ctx) ?? "";
            var attrs = ParseAttrs(o, r, ctx);
            var attrNames = new HashSet<string>(attrs.Select(a => a.Name), StringComparer.Ordinal);

            var bindings = new List<SymbolBinding>();
            if (r.Object(o, "symbols", ctx, required: false) is { } symObj)
            {
                foreach (var (key, _, value) in symObj.Members)
                {
                    if (value.Kind != JsonKind.String) { r.Report("IXC0003", $"{ctx}: symbols.{key} must name an int attribute", value); continue; }
                    var attr = attrs.FirstOrDefault(a => a.Name == value.StringValue);
                    if (attr is null || attr.Type != "int") r.Report("IXC0012", $"{ctx}: symbol '{key}' is bound to '{value.StringValue}', which is not an int attribute of the op", value);
                    bindings.Add(new SymbolBinding(key, value.StringValue!));
                }
            }

            // op shape symbols are local and unified across ports: any identifier is allowed
            var inputs = ParsePorts(o, "inputs", r, ctx, isOutput: false);
            var outputs = ParsePorts(o, "outputs", r, ctx, isOutput: true);
            CheckFolds(o, r, ctx, inputs, outputs);
            var portNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in inputs.Concat(outputs))
                if (!portNames.Add(p.Name)) r.Report("IXC0006", $"{ctx}: port '{p.Name}' is defined twice", o);

            string accum = r.String(o, "accum", ctx) ?? "f32";
            if (accum != "f32" && accum != "f64" && accum != "none")
                r.Report("IXC0003", $"{ctx}: accum must be f32, f64 or none, found '{accum}'", o["accum"]!);

            string tol = r.String(o, "tolerance", ctx) ?? "";
            if (checkTolerances && tol.Length > 0 && !toleranceNames.Contains(tol))
                r.Report("IXC0008", $"{ctx}: tolerance class '{tol}' is not defined in tolerances.json", o["tolerance"]!);

            KernelSpec? kernel = null;
            if (r.Object(o, "kernel", ctx, required: false) is { } k)
                kernel = ParseKernel(k, r, ctx, inputs, outputs, attrs);

            var (cpu, gpu) = ParseLowering(o, r, ctx, kernel);
            bool graph = r.Bool(o, "graph", ctx, true);
            ops.Add(new OpSpec(name, doc, inputs.ToEquatable(), outputs.ToEquatable(), attrs.ToEquatable(), bindings.ToEquatable(), accum, tol, kernel, cpu, gpu, graph));
        }
        return new OpSet(ops.ToEquatable());
    }

    private static List<PortSpec> ParsePorts(JsonValue op, string key, SpecReader r, string ctx, bool isOutput)
    {
        var list = new List<PortSpec>();
        var items = r.Array(op, key, ctx);
        if (isOutput && items.Count == 0 && op[key] is { } empty) r.Report("IXC0002", $"{ctx}: an op needs at least one output", empty);
        foreach (var p in items)
        {
            if (!r.ExpectObject(p, $"{ctx}: {key} entry")) continue;
            string? name = r.String(p, "name", $"{ctx} {key}");
            if (name is null) continue;
            string pctx = $"{ctx} {(isOutput ? "output" : "input")} '{name}'";
            var dtypes = r.DTypeList(p, "dtype", pctx, allowKv: !isOutput);
            var shape = r.Shape(p, "shape", pctx, _ => true, allowFold: true);
            bool optional = r.Bool(p, "optional", pctx, false);
            bool inout = r.Bool(p, "inout", pctx, false);
            if (isOutput && optional) r.Report("IXC0003", $"{pctx}: outputs cannot be optional", p["optional"]!);
            if (isOutput && inout) r.Report("IXC0003", $"{pctx}: 'inout' is for inputs", p["inout"]!);
            bool isKv = dtypes.Contains("kv");
            if (isKv && (dtypes.Count != 1 || !inout)) r.Report("IXC0004", $"{pctx}: dtype 'kv' (a KV cache object) stands alone and needs \"inout\": true", p["dtype"]!);
            list.Add(new PortSpec(name, dtypes.ToEquatable(), shape.ToEquatable(), optional, inout));
        }
        return list;
    }

    /// <summary>
    /// A leading "..." folds any leading dimensions of an input into the next dimension (spec/README.md,
    /// "Folded leading dimensions"): it stands first and is followed by at least one dimension, never on a
    /// cache port; an output's "..." must be followed by a bare symbol that an input's "..." folds into
    /// (the output takes that input's dimensions back). Anything else is IXC0022.
    /// </summary>
    private static void CheckFolds(JsonValue op, SpecReader r, string ctx, List<PortSpec> inputs, List<PortSpec> outputs)
    {
        var folded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (list, key, isOutput) in new[] { (inputs, "inputs", false), (outputs, "outputs", true) })
        {
            var items = op[key] is { Kind: JsonKind.Array } arr ? arr.Items : new List<JsonValue>();
            for (int i = 0; i < list.Count; i++)
            {
                var p = list[i];
                int at = p.Shape.ToList().IndexOf(SpecReader.FoldDim);
                if (at < 0) continue;
                var where = items.FirstOrDefault(it => it["name"]?.StringValue == p.Name)?["shape"] ?? op;
                string pctx = $"{ctx} {(isOutput ? "output" : "input")} '{p.Name}'";
                if (at != 0 || p.Shape.Count(d => d == SpecReader.FoldDim) > 1 || p.Shape.Count < 2)
                    r.Report("IXC0022", $"{pctx}: \"...\" stands once, first, and is followed by the dimension it folds into", where);
                else if (p.IsCache)
                    r.Report("IXC0022", $"{pctx}: a KV cache port has no \"...\"", where);
                else if (!isOutput)
                {
                    if (Expr.TryParse(p.Shape[1]) is Ident id) folded.Add(id.Name);
                }
                else if (Expr.TryParse(p.Shape[1]) is not Ident oid || !folded.Contains(oid.Name))
                    r.Report("IXC0022", $"{pctx}: an output's \"...\" must be followed by a symbol that an input's \"...\" folds into (it takes that input's dimensions back), found '{p.Shape[1]}'", where);
            }
        }
    }

    private static List<AttrSpec> ParseAttrs(JsonValue op, SpecReader r, string ctx)
    {
        var list = new List<AttrSpec>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in r.Array(op, "attrs", ctx, required: false))
        {
            if (!r.ExpectObject(a, $"{ctx}: attribute")) continue;
            string? name = r.String(a, "name", $"{ctx} attribute");
            if (name is null) continue;
            string actx = $"{ctx} attribute '{name}'";
            if (!seen.Add(name)) r.Report("IXC0006", $"{ctx}: attribute '{name}' is defined twice", a["name"]!);
            string? type = r.String(a, "type", actx);
            if (type is not null && !AttrTypes.Contains(type)) { r.Report("IXC0012", $"{actx}: type '{type}' is not one of int, float, bool, string", a["type"]!); type = null; }
            string? def = null;
            if (a["default"] is { } d && type is not null)
            {
                def = LiteralText(d, type);
                if (def is null) r.Report("IXC0012", $"{actx}: default {d.Describe()} does not match type {type}", d);
            }
            list.Add(new AttrSpec(name, type ?? "float", def, r.String(a, "doc", actx, required: false) ?? ""));
        }
        return list;
    }

    /// <summary>Invariant text of a JSON literal if it has the given attribute type, else null.</summary>
    public static string? LiteralText(JsonValue v, string type) => type switch
    {
        "int" when v.Kind == JsonKind.Number && v.IsInteger => v.RawNumber,
        "float" when v.Kind == JsonKind.Number => v.RawNumber,
        "bool" when v.Kind == JsonKind.Bool => v.BoolValue ? "true" : "false",
        "string" when v.Kind == JsonKind.String => v.StringValue,
        _ => null,
    };

    /// <summary>
    /// The optional "lowering" object: {"cpu": reference|simd|driver, "gpu": none|ilgpu}. simd and ilgpu
    /// need a kernel whose pattern the emitters compile (IXC0021 otherwise).
    /// </summary>
    private static (string Cpu, string Gpu) ParseLowering(JsonValue op, SpecReader r, string ctx, KernelSpec? kernel)
    {
        string cpu = Lowerings[0].Values[0], gpu = Lowerings[1].Values[0];
        if (r.Object(op, "lowering", ctx, required: false) is not { } low) return (cpu, gpu);
        foreach (var (key, keySpan, value) in low.Members)
        {
            var entry = Lowerings.FirstOrDefault(l => l.Backend == key);
            if (entry.Backend is null)
            {
                r.Report("IXC0021", $"{ctx}: lowering names unknown backend '{key}' (known: {string.Join(", ", Lowerings.Select(l => l.Backend))})", keySpan);
                continue;
            }
            if (value.Kind != JsonKind.String || Array.IndexOf(entry.Values, value.StringValue) < 0)
            {
                r.Report("IXC0021", $"{ctx}: lowering.{key} is {(value.Kind == JsonKind.String ? "'" + value.StringValue + "'" : value.Describe())}, expected one of {string.Join(", ", entry.Values)}", value);
                continue;
            }
            string v = value.StringValue!;
            if ((v == "simd" || v == "ilgpu") && (kernel is null || !GeneratedPatterns.Contains(kernel.Pattern)))
            {
                r.Report("IXC0021", $"{ctx}: lowering.{key} '{v}' needs a kernel with pattern {string.Join(", ", GeneratedPatterns)} (found {(kernel is null ? "no kernel" : "pattern '" + kernel.Pattern + "'")})", value);
                continue;
            }
            if (key == "cpu") cpu = v; else gpu = v;
        }
        return (cpu, gpu);
    }

    private static KernelSpec? ParseKernel(JsonValue k, SpecReader r, string ctx, List<PortSpec> inputs, List<PortSpec> outputs, List<AttrSpec> attrList)
    {
        string kctx = ctx + " kernel";
        string? pattern = r.String(k, "pattern", kctx);
        if (pattern is null) return null;
        if (!Patterns.Contains(pattern))
        {
            r.Report("IXC0018", $"{kctx}: unknown pattern '{pattern}' (known: {string.Join(", ", Patterns)})", k["pattern"]!);
            return null;
        }
        var attrs = new HashSet<string>(attrList.Select(a => a.Name), StringComparer.Ordinal);
        // attributes usable in kernel expressions are numbers (passed to the kernel as float)
        foreach (var a in attrList.Where(a => a.Type != "float" && a.Type != "int")) attrs.Remove(a.Name);
        CheckKernelPorts(pattern, k["pattern"]!, r, kctx, inputs, outputs);
        var inputNames = new HashSet<string>(inputs.Select(i => i.Name), StringComparer.Ordinal);
        string? expr = null, map = null;
        var reduce = new List<NamedExpr>(); var row = new List<NamedExpr>(); var reduce2 = new List<NamedExpr>(); var row2 = new List<NamedExpr>();
        var widen = new List<string>();
        switch (pattern)
        {
            case "map":
                expr = r.String(k, "expr", kctx);
                if (expr is not null) CheckKernelExpr(expr, k["expr"]!, r, kctx, inputNames, attrs);
                break;
            case "row_norm":
                {
                    // names visible in row_norm expressions: per element (reduce, reduce2, map) the row
                    // element x, weight w and bias b (the op's first, second and third inputs); everywhere
                    // the row length n, attributes and the results of earlier sections (a reduce section's
                    // sums become visible after the section, a row section's values one after the other)
                    var elements = new List<string> { "x" };
                    if (inputs.Count >= 2) elements.Add("w");
                    if (inputs.Count >= 3) elements.Add("b");
                    var results = new HashSet<string>(attrs, StringComparer.Ordinal) { "n" };
                    foreach (var (section, list) in new[] { ("reduce", reduce), ("row", row), ("reduce2", reduce2), ("row2", row2) })
                    {
                        bool perElement = section.StartsWith("reduce", StringComparison.Ordinal);
                        var sectionNames = new List<string>();
                        foreach (var e in r.Array(k, section, kctx, required: section is "reduce" or "row"))
                        {
                            if (!r.ExpectObject(e, $"{kctx} {section} entry")) continue;
                            string? n = r.String(e, "name", $"{kctx} {section}");
                            string? x = r.String(e, "expr", $"{kctx} {section}");
                            if (n is null || x is null) continue;
                            var scope = new HashSet<string>(results, StringComparer.Ordinal);
                            if (perElement) scope.UnionWith(elements);
                            CheckKernelExpr(x, e["expr"]!, r, kctx, scope, attrs);
                            if (results.Contains(n) || elements.Contains(n) || sectionNames.Contains(n))
                                r.Report("IXC0018", $"{kctx}: '{n}' is already defined", e["name"]!);
                            if (perElement) sectionNames.Add(n); else results.Add(n);
                            list.Add(new NamedExpr(n, x));
                        }
                        results.UnionWith(sectionNames);
                    }
                    map = r.String(k, "map", kctx);
                    if (map is not null) CheckKernelExpr(map, k["map"]!, r, kctx, new HashSet<string>(results.Concat(elements), StringComparer.Ordinal), attrs);
                    break;
                }
            case "gemm":
                foreach (var w in r.Array(k, "widen", kctx))
                {
                    if (w.Kind != JsonKind.String || !SpecReader.DTypes.Contains(w.StringValue!)) r.Report("IXC0004", $"{kctx}: widen entries must be dtypes", w);
                    else widen.Add(w.StringValue!);
                }
                break;
        }
        return new KernelSpec(pattern, expr, reduce.ToEquatable(), row.ToEquatable(), reduce2.ToEquatable(), row2.ToEquatable(), map, widen.ToEquatable());
    }

    /// <summary>The port layout each generated pattern assumes (spec/README.md, "Kernels").</summary>
    private static void CheckKernelPorts(string pattern, JsonValue at, SpecReader r, string ctx, List<PortSpec> inputs, List<PortSpec> outputs)
    {
        string? problem = null;
        string Shape(PortSpec p) => string.Join(",", p.Shape.Select(d => d.Replace(" ", "")));
        switch (pattern)
        {
            case "map":
                if (outputs.Count != 1) problem = "a map kernel has exactly one output";
                else if (inputs.Count == 0) problem = "a map kernel needs at least one input";
                else if (inputs.Any(i => Shape(i) != Shape(outputs[0]) || i.Optional))
                    problem = "a map kernel needs every input to be required and shaped like the output";
                break;
            case "row_norm":
                if (outputs.Count != 1 || inputs.Count < 1 || inputs.Count > 3) problem = "a row_norm kernel has inputs x [.., n], optionally w [n] and b [n], and one output";
                else if (inputs.Skip(1).Any(i => i.Shape.Count != 1 || i.Optional)) problem = "row_norm inputs after x must be required vectors [n]";
                break;
            case "row_softmax":
                if (inputs.Count != 1 || outputs.Count != 1) problem = "a row_softmax kernel has one input and one output";
                break;
            case "rotate_half":
                if (inputs.Count != 3 || outputs.Count != 1) problem = "a rotate_half kernel has inputs x [.., T, D], cos [T, D], sin [T, D] and one output";
                break;
        }
        if (problem is not null) r.Report("IXC0018", $"{ctx}: {problem}", at);
    }

    private static void CheckKernelExpr(string text, JsonValue at, SpecReader r, string ctx, ISet<string> names, ISet<string> attrs)
    {
        var e = r.ParseExpr(text, at, ctx);
        if (e is null) return;
        foreach (var id in e.Identifiers())
            if (!names.Contains(id) && !attrs.Contains(id))
                r.Report("IXC0018", $"{ctx}: expression '{text}' uses '{id}', which is not an input, an attribute or an earlier result", at);
        foreach (var c in e.Calls())
        {
            if (!KernelFunctions.Contains(c.Name))
                r.Report("IXC0018", $"{ctx}: expression '{text}' calls unknown function '{c.Name}' (known: {string.Join(", ", KernelFunctions)})", at);
            else if (c.Args.Count != (c.Name is "max" or "min" ? 2 : 1))
                r.Report("IXC0018", $"{ctx}: {c.Name} takes {(c.Name is "max" or "min" ? 2 : 1)} argument(s)", at);
        }
    }
}
