using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits <c>Ixc25Graph</c> (target <c>graph</c>): one method per block of spec/model.json's graph. Each
/// step becomes a call of the backend's <c>IGraphOps</c> method (op steps) or of another block's method
/// (call steps, looped when repeated); parameters are read from the typed weight tree by their spec path,
/// attributes from the config, the dimension symbols or the caller; every tap of the spec is recorded
/// under its name; each temporary activation is released right after its last use.
/// </summary>
internal static class GraphEmitter
{
    private static readonly Regex Placeholder = new(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);

    public static string Emit(ModelSpec m, OpSet ops)
    {
        var w = new CodeWriter();
        w.Doc("The forward pass generated from spec/model.json's graph (one method per block), run on any backend implementing IGraphOps. Loops that carry state across passes (the decoder layers with their KV caches) and the input assembly are the drivers' (src/IXC25.Model/Inference).");
        w.Open("public sealed partial class Ixc25Graph");
        w.Line("public Ixc25Graph(global::IXC25.Graph.IGraphOps ops, Ixc25Weights weights, Ixc25Config config, global::IXC25.Model.ITapSink? taps = null)");
        w.Line("{");
        w.Line("    Ops = ops;");
        w.Line("    W = weights;");
        w.Line("    Config = config;");
        w.Line("    Taps = taps;");
        w.Line("}");
        w.Line();
        w.Line("public global::IXC25.Graph.IGraphOps Ops { get; }");
        w.Line("public Ixc25Weights W { get; }");
        w.Line("public Ixc25Config Config { get; }");
        w.Line("public Ixc25Dims Dims => W.Dims;");
        w.Line("public global::IXC25.Model.ITapSink? Taps { get; }");
        foreach (var b in m.Graph)
        {
            w.Line();
            EmitBlock(m, ops, b, w);
        }
        w.Close();
        return CodeWriter.Header(ModelEmitter.Namespace) + w;
    }

    /// <summary>The index variables of a scope such as "llm.layers[i]".</summary>
    private static List<string> ScopeIndices(string scope) =>
        Regex.Matches(scope, @"\[([A-Za-z_][A-Za-z0-9_]*)\]").Cast<Match>().Select(x => x.Groups[1].Value).ToList();

    /// <summary>
    /// Every variable a block's method takes besides its inputs, with its C# type: scope indices and tap indices (int),
    /// runtime attributes (<c>%name</c>, typed as the op attribute they set), and the runtime values of the blocks it
    /// calls (passed through by name; a repeated call's index variable is the loop's own).
    /// </summary>
    public static List<(string Name, string Type)> ExtraParams(ModelSpec m, OpSet ops, BlockSpec b)
    {
        var list = ScopeIndices(b.Scope).Select(x => (Name: x, Type: "int")).ToList();
        void Add(string name, string type)
        {
            if (!list.Any(p => p.Name == name)) list.Add((name, type));
        }
        foreach (var s in b.Steps)
        {
            if (s.Tap is not null)
                foreach (Match x in Placeholder.Matches(s.Tap))
                    if (x.Groups[1].Value != s.IndexVar) Add(x.Groups[1].Value, "int");
            if (s.Op is not null)
            {
                var op = ops.Ops.First(o => o.Name == s.Op);
                foreach (var a in s.Attrs)
                    if (a.Value.StartsWith("%", StringComparison.Ordinal))
                        Add(a.Value.Substring(1), CsType(op.Attrs.First(x => x.Name == a.Key).Type));
            }
            else if (s.Call is not null)
                foreach (var p in ExtraParams(m, ops, m.Graph.First(x => x.Name == s.Call)))
                    if (p.Name != s.IndexVar) Add(p.Name, p.Type);
        }
        return list;
    }

    private static string CsType(string attrType) => attrType switch { "float" => "float", "bool" => "bool", "string" => "string", _ => "int" };

    private static string MethodName(BlockSpec b) => ModelParser.Pascal(b.Name);

    private static void EmitBlock(ModelSpec m, OpSet ops, BlockSpec b, CodeWriter w)
    {
        var extra = ExtraParams(m, ops, b);
        var inputNames = new HashSet<string>(b.Inputs.Select(i => i.Name));
        string Var(string name) => "v_" + name;
        var ps = extra.Select(e => e.Type + " " + e.Name).Concat(b.Inputs.Select(i =>
            (i.Kind == "kv" ? "global::IXC25.Graph.KvLayer" : "global::IXC25.Graph.Act") + (i.Optional ? "?" : "") + " " + Var(i.Name)));
        string ret = b.Outputs.Count == 1 ? "global::IXC25.Graph.Act" : "(" + string.Join(", ", b.Outputs.Select(o => "global::IXC25.Graph.Act " + ModelParser.Pascal(o))) + ")";
        w.Doc(b.Doc);
        foreach (var i in b.Inputs)
            w.Line($"/// <param name=\"{Var(i.Name)}\">{(i.Kind == "kv" ? "KV cache" : CodeWriter.Xml("[" + string.Join(", ", i.Shape) + "]"))}</param>");
        w.Open($"public {ret} {MethodName(b)}({string.Join(", ", ps)})");

        // last use of every local, to release temporaries as early as possible
        var lastUse = new Dictionary<string, int>();
        for (int si = 0; si < b.Steps.Count; si++)
            foreach (var kv in b.Steps[si].In)
                if (!kv.Value.StartsWith("@", StringComparison.Ordinal)) lastUse[kv.Value] = si;
        var declared = new HashSet<string>(inputNames);

        for (int si = 0; si < b.Steps.Count; si++)
        {
            var s = b.Steps[si];
            if (s.Op is not null) EmitOpStep(m, ops.Ops.First(o => o.Name == s.Op), b, s, si, w, declared, Var);
            else EmitCallStep(m, ops, b, s, w, declared, inputNames, Var);

            // release temporaries whose last use was this step (never inputs or outputs)
            foreach (var kv in lastUse.Where(kv => kv.Value == si))
            {
                string name = kv.Key;
                if (inputNames.Contains(name) || b.Outputs.Contains(name)) continue;
                // a repeated call rebinding its input keeps the name alive
                if (s.Call is not null && s.Out.Any(o => o.Value == name)) continue;
                if (b.Steps.Skip(si + 1).Any(x => x.Out.Any(o => o.Value == name))) continue;
                w.Line($"Ops.Release({Var(name)});");
            }
            // outputs nobody reads
            foreach (var o in s.Out)
                if (!lastUse.ContainsKey(o.Value) && !b.Outputs.Contains(o.Value) && !(s.Call is not null && s.RepeatSymbol is not null))
                    w.Line($"Ops.Release({Var(o.Value)});");
        }
        w.Line(b.Outputs.Count == 1 ? $"return {Var(b.Outputs[0])};" : "return (" + string.Join(", ", b.Outputs.Select(Var)) + ");");
        w.Close();
    }

    private static void Tap(StepSpec s, string value, CodeWriter w)
    {
        if (s.Tap is null) return;
        w.Line($"Taps?.Record($\"{s.Tap}\", {value});");
    }

    private static void EmitOpStep(ModelSpec m, OpSpec op, BlockSpec b, StepSpec s, int si, CodeWriter w, HashSet<string> declared, Func<string, string> Var)
    {
        var args = new List<string>();
        foreach (var p in op.Inputs)
        {
            var bound = s.In.FirstOrDefault(kv => kv.Key == p.Name);
            if (bound is null) { args.Add("null"); continue; }
            args.Add(bound.Value.StartsWith("@", StringComparison.Ordinal) ? ParamPath(m, b.Scope, bound.Value.Substring(1)) : Var(bound.Value));
        }
        string attrType = ModelParser.Pascal(op.Name) + "Attrs";
        var inits = s.Attrs.Select(a => $"{ModelParser.Pascal(a.Key)} = {AttrValue(m, op.Attrs.First(x => x.Name == a.Key), a.Value)}");
        args.Add($"new global::IXC25.Graph.{attrType} {{ {string.Join(", ", inits)} }}");
        string call = $"Ops.{ModelParser.Pascal(op.Name)}({string.Join(", ", args)})";
        if (op.Outputs.Count == 1)
        {
            var o = s.Out.FirstOrDefault(kv => kv.Key == op.Outputs[0].Name);
            string target = o?.Value ?? "unused_" + si;
            w.Line($"{(declared.Add(target) ? "var " : "")}{Var(target)} = {call};");
            Tap(s, Var(target), w);
            if (o is null) w.Line($"Ops.Release({Var(target)});");
        }
        else
        {
            string r = "r_" + si;
            w.Line($"var {r} = {call};");
            foreach (var po in op.Outputs)
            {
                var o = s.Out.FirstOrDefault(kv => kv.Key == po.Name);
                if (o is null) w.Line($"Ops.Release({r}.{ModelParser.Pascal(po.Name)});");
                else w.Line($"{(declared.Add(o.Value) ? "var " : "")}{Var(o.Value)} = {r}.{ModelParser.Pascal(po.Name)};");
            }
            if (s.Tap is not null) Tap(s, Var(s.Out[0].Value), w);
        }
    }

    private static void EmitCallStep(ModelSpec m, OpSet ops, BlockSpec b, StepSpec s, CodeWriter w, HashSet<string> declared, HashSet<string> inputNames, Func<string, string> Var)
    {
        var callee = m.Graph.First(x => x.Name == s.Call);
        var extra = ExtraParams(m, ops, callee).Select(p => p.Name);
        string Args() => string.Join(", ", extra.Concat(callee.Inputs.Select(i =>
        {
            var bound = s.In.FirstOrDefault(kv => kv.Key == i.Name);
            return bound is null ? "null" : Var(bound.Value);
        })));
        if (callee.Outputs.Count != 1) throw new InvalidOperationException($"call of multi-output block {callee.Name}");
        var outBinding = s.Out.FirstOrDefault();
        string target = outBinding?.Value ?? "unused_" + callee.Name;
        if (s.RepeatSymbol is null)
        {
            w.Line($"{(declared.Add(target) ? "var " : "")}{Var(target)} = {MethodName(callee)}({Args()});");
            Tap(s, Var(target), w);
            return;
        }
        // repeated: the output rebinds a name (typically the same one that is passed in)
        var inName = s.In.FirstOrDefault(kv => kv.Value == target)?.Value;
        if (declared.Add(target)) w.Line($"global::IXC25.Graph.Act {Var(target)} = null!;");
        w.Open($"for (int {s.IndexVar} = 0; {s.IndexVar} < Dims.{s.RepeatSymbol}; {s.IndexVar}++)");
        w.Line($"var next = {MethodName(callee)}({Args()});");
        if (inName is not null)
        {
            // the first iteration may read a block input, which is the caller's: never release it
            var inputsAliased = inputNames.Select(Var).ToList();
            string guard = inputsAliased.Count == 0 ? "" : string.Join(" && ", inputsAliased.Select(v => $"!ReferenceEquals({Var(target)}, {v})"));
            w.Line(guard.Length == 0 ? $"Ops.Release({Var(target)});" : $"if ({guard}) Ops.Release({Var(target)});");
        }
        w.Line($"{Var(target)} = next;");
        Tap(s, Var(target), w);
        w.Close();
    }

    /// <summary>"@attention_norm.weight" in scope "llm.layers[i]" -> W.Llm.Layers[i].AttentionNorm.Weight.</summary>
    private static string ParamPath(ModelSpec m, string scope, string path)
    {
        var parts = new List<string>();
        if (scope.Length > 0)
            foreach (var seg in scope.Split('.'))
            {
                int br = seg.IndexOf('[');
                parts.Add(br < 0 ? ModelParser.Pascal(seg) : ModelParser.Pascal(seg.Substring(0, br)) + seg.Substring(br));
            }
        parts.AddRange(path.Split('.').Select(ModelParser.Pascal));
        return "W." + string.Join(".", parts);
    }

    private static string AttrValue(ModelSpec m, AttrSpec a, string v)
    {
        string cast = a.Type switch { "float" => "(float)", "int" => "", _ => "" };
        if (v.StartsWith("$", StringComparison.Ordinal))
        {
            var key = m.Config.First(c => c.Key == v.Substring(1));
            return $"{cast}Config.{ModelEmitter.PropertyName(key.Key)}";
        }
        if (v.StartsWith("#", StringComparison.Ordinal)) return $"{cast}Dims.{v.Substring(1)}";
        if (v.StartsWith("%", StringComparison.Ordinal)) return v.Substring(1);
        if (v.StartsWith("=", StringComparison.Ordinal))
        {
            var e = Expr.Parse(v.Substring(1));
            if (a.Type == "int") return ModelEmitter.IntExpr(v.Substring(1), n => "Dims." + n, $"attribute {a.Name} = {v.Substring(1)}");
            return "(float)" + e.Render(n => "(double)Dims." + n, n => n.Value.ToString("R", CultureInfo.InvariantCulture) + "d", (f, xs) => f switch
            {
                "rsqrt" => $"(1.0 / global::System.Math.Sqrt({xs[0]}))",
                "sqrt" => $"global::System.Math.Sqrt({xs[0]})",
                "exp" => $"global::System.Math.Exp({xs[0]})",
                "abs" => $"global::System.Math.Abs({xs[0]})",
                "max" => $"global::System.Math.Max({xs[0]}, {xs[1]})",
                "min" => $"global::System.Math.Min({xs[0]}, {xs[1]})",
                _ => throw new InvalidOperationException($"function {f} in an attribute"),
            });
        }
        return a.Type switch
        {
            "float" => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture).ToString("R", CultureInfo.InvariantCulture) + "f",
            "string" => CodeWriter.Str(v),
            _ => v,
        };
    }
}
