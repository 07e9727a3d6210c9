using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits, from spec/model.json: the typed config (<c>Ixc25Config</c>), the dimension symbols
/// (<c>Ixc25Dims</c>), the typed parameter tree with its checkpoint catalog and binding
/// (<c>Ixc25Weights</c> and one class per module type), and the task modes.
/// </summary>
internal static class ModelEmitter
{
    public const string Namespace = "IXC25.Model";
    private static readonly Regex Placeholder = new(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);

    public static IEnumerable<(string HintName, string Source)> Emit(ModelSpec m)
    {
        yield return ("Ixc25Config.g.cs", EmitConfig(m));
        yield return ("Ixc25Dims.g.cs", EmitDims(m));
        yield return ("Ixc25Weights.g.cs", EmitWeights(m));
    }

    // ------------------------------------------------------------------ config

    public static string PropertyName(string key) => ModelParser.Pascal(key);

    private static string ClrType(string specType) => specType switch
    {
        "int" => "int",
        "float" => "double",
        "bool" => "bool",
        _ => "string",
    };

    private static string Reader(string specType) => specType switch
    {
        "int" => "Int",
        "float" => "Double",
        "bool" => "Bool",
        _ => "String",
    };

    private static string Literal(string specType, string text) => specType switch
    {
        "float" => text.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0 ? text : text + ".0",
        _ => text,
    };

    private static string EmitConfig(ModelSpec m)
    {
        var w = new CodeWriter();
        w.Doc($"config.json of {m.Name}, typed from spec/model.json 'config'. Unknown keys are ignored, as transformers does.");
        w.Open("public sealed partial class Ixc25Config");
        foreach (var k in m.Config)
        {
            string t = ClrType(k.Type) + (k.Optional ? "?" : "");
            w.Doc($"'{k.Key}'{(k.Doc.Length > 0 ? ": " + k.Doc : "")}{(k.Default is not null ? " (default " + k.Default + ")" : "")}");
            w.Line($"public {(k.Optional ? "" : "required ")}{t} {PropertyName(k.Key)} {{ get; init; }}");
        }
        w.Line();
        w.Doc("Reads and validates a config.json file.");
        w.Open("public static Ixc25Config Load(string path)");
        w.Line("using var doc = global::IXC25.Runtime.Spec.ConfigReader.ParseFile(path);");
        w.Line("return FromJson(doc.RootElement, path);");
        w.Close();
        w.Line();
        w.Doc("Reads and validates a parsed config; <paramref name=\"source\"/> names it in error messages.");
        w.Open("public static Ixc25Config FromJson(global::System.Text.Json.JsonElement root, string source)");
        w.Line("var r = new global::IXC25.Runtime.Spec.ConfigReader(root, source);");
        foreach (var k in m.Config)
        {
            string local = "v_" + k.Key.Replace('.', '_');
            string read;
            if (k.Optional) read = $"r.{Reader(k.Type)}Optional({CodeWriter.Str(k.Key)})";
            else if (k.DefaultFrom is not null) read = $"r.{Reader(k.Type)}({CodeWriter.Str(k.Key)}, v_{k.DefaultFrom.Replace('.', '_')})";
            else if (k.Default is not null) read = $"r.{Reader(k.Type)}({CodeWriter.Str(k.Key)}, {Literal(k.Type, k.Default)})";
            else read = $"r.{Reader(k.Type)}({CodeWriter.Str(k.Key)})";
            if (k.Allowed.Count > 0)
            {
                string allowed = string.Join(", ", k.Allowed.Select(a => Literal(k.Type, a)));
                read = k.Optional
                    ? $"{read} is {{ }} {local}_raw ? r.Allowed({CodeWriter.Str(k.Key)}, {local}_raw, {allowed}) : null"
                    : $"r.Allowed({CodeWriter.Str(k.Key)}, {read}, {allowed})";
            }
            if (k.Range.Count == 2)
            {
                read = k.Optional
                    ? $"{read} is {{ }} {local}_ranged ? r.Within({CodeWriter.Str(k.Key)}, {local}_ranged, {k.Range[0]}, {k.Range[1]}) : null"
                    : $"r.Within({CodeWriter.Str(k.Key)}, {read}, {k.Range[0]}, {k.Range[1]})";
            }
            w.Line($"var {local} = {read};");
        }
        w.Open("return new Ixc25Config");
        foreach (var k in m.Config) w.Line($"{PropertyName(k.Key)} = v_{k.Key.Replace('.', '_')},");
        w.Close(";");
        w.Close();
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    // ------------------------------------------------------------------ dims

    /// <summary>C# for an integer expression over dimension symbols; <paramref name="sym"/> renders a symbol.</summary>
    public static string IntExpr(string text, Func<string, string> sym, string what)
    {
        var e = Expr.Parse(text);
        return Render(e, sym, what);
    }

    private static string Render(Expr e, Func<string, string> sym, string what) => e switch
    {
        Num n => n.Raw,
        Ident id => sym(id.Name),
        Unary u => "(-" + Render(u.Operand, sym, what) + ")",
        Binary { Op: '/' } b => $"global::IXC25.Runtime.Spec.SpecMath.Div({Render(b.Left, sym, what)}, {Render(b.Right, sym, what)}, {CodeWriter.Str(what)})",
        Binary b => $"checked({Render(b.Left, sym, what)} {b.Op} {Render(b.Right, sym, what)})",
        _ => throw new InvalidOperationException("functions are not allowed in shapes"),
    };

    private static string EmitDims(ModelSpec m)
    {
        var w = new CodeWriter();
        w.Doc("The dimension symbols of spec/model.json for one configuration. Free symbols (task LoRA ranks) are null until a checkpoint is bound.");
        w.Open("public sealed partial record Ixc25Dims");
        foreach (var s in m.Symbols)
        {
            string how = s.Kind switch
            {
                "config" => $"config '{s.Source}'",
                "expr" => s.Source,
                "value" => "fixed " + s.Source,
                _ => "read from the checkpoint",
            };
            w.Doc($"{s.Name}: {s.Doc} ({how})");
            w.Line($"public {(s.Kind == "free" ? "int?" : "int")} {s.Name} {{ get; init; }}");
        }
        w.Line();
        w.Doc("Names of every symbol, in spec order.");
        w.Line("public static readonly string[] SymbolNames = [" + string.Join(", ", m.Symbols.Select(s => CodeWriter.Str(s.Name))) + "];");
        w.Line();
        w.Doc("Evaluates the symbols for a config; inconsistent configs (e.g. hidden_size not divisible by the heads) are errors.");
        w.Open("public static Ixc25Dims FromConfig(Ixc25Config c)");
        foreach (var s in m.Symbols)
        {
            switch (s.Kind)
            {
                case "config": w.Line($"int {s.Name} = c.{PropertyName(s.Source)};"); break;
                case "expr": w.Line($"int {s.Name} = global::IXC25.Runtime.Spec.SpecMath.Dim(() => {IntExpr(s.Source, n => "(long)" + n, $"{s.Name} = {s.Source}")}, {CodeWriter.Str($"{s.Name} = {s.Source}")});"); break;
                case "value": w.Line($"int {s.Name} = {s.Source};"); break;
            }
        }
        w.Line("return new Ixc25Dims { " + string.Join(", ", m.Symbols.Where(s => s.Kind != "free").Select(s => $"{s.Name} = {s.Name}")) + " };");
        w.Close();
        w.Line();
        w.Doc("A symbol's value by name, or null (unknown name or unbound free symbol).");
        w.Open("public int? Get(string symbol) => symbol switch");
        foreach (var s in m.Symbols) w.Line($"{CodeWriter.Str(s.Name)} => {s.Name},");
        w.Line("_ => null,");
        w.Close(";");
        w.Line();
        w.Doc("These dims with the free symbols read from a checkpoint.");
        w.Line("public Ixc25Dims WithFree(global::System.Collections.Generic.IReadOnlyDictionary<string, int> values) => this with");
        w.Line("{");
        foreach (var s in m.Symbols.Where(s => s.Kind == "free"))
            w.Line($"    {s.Name} = values.TryGetValue({CodeWriter.Str(s.Name)}, out var v_{s.Name}) ? v_{s.Name} : {s.Name},");
        w.Line("};");
        w.Close();
        return CodeWriter.Header(Namespace) + w;
    }

    // ------------------------------------------------------------------ weights

    private static string Interp(string pattern) =>
        "$" + CodeWriter.Str(Placeholder.Replace(pattern, mm => "{ix_" + mm.Groups[1].Value + "}"));

    private static string ShapeCode(ModelSpec m, ParamSpec p)
    {
        var free = new HashSet<string>(m.Symbols.Where(s => s.Kind == "free").Select(s => s.Name));
        var dims = p.Shape.Select(d =>
        {
            var e = Expr.Parse(d);
            if (e is Ident id && free.Contains(id.Name)) return $"global::IXC25.Runtime.Spec.ShapeDim.FreeSymbol({CodeWriter.Str(id.Name)})";
            return $"global::IXC25.Runtime.Spec.ShapeDim.Of({IntExpr(d, n => "(long)d." + n, $"{p.Key} shape {d}")})";
        });
        return "[" + string.Join(", ", dims) + "]";
    }

    private static string EmitWeights(ModelSpec m)
    {
        var w = new CodeWriter();
        // one class per class template and per container type, emitted once each
        var emitted = new HashSet<string>(StringComparer.Ordinal);
        EmitTypes(m, m.Root, w, emitted);

        // catalog and binding on the root type
        w.Open("public sealed partial class Ixc25Weights");
        w.Doc("The dimensions the weights were bound with, including free symbols read from the checkpoint.");
        w.Line("public required Ixc25Dims Dims { get; init; }");
        w.Doc("Optional groups present in the checkpoint (e.g. lora_sft).");
        w.Line("public required global::System.Collections.Generic.IReadOnlySet<string> Groups { get; init; }");
        w.Line();
        w.Doc("Optional parameter groups declared by the spec.");
        w.Line("public static readonly string[] GroupNames = [" + string.Join(", ", m.Groups.Select(g => CodeWriter.Str(g.Name))) + "];");
        w.Line();
        w.Doc("Every parameter the spec expects for these dimensions: tree path, checkpoint name, shape, group.");
        w.Open("public static global::System.Collections.Generic.IReadOnlyList<global::IXC25.Runtime.Spec.ParamInfo> Catalog(Ixc25Dims d)");
        w.Line("var list = new global::System.Collections.Generic.List<global::IXC25.Runtime.Spec.ParamInfo>();");
        EmitCatalog(m, m.Root, w);
        w.Line("return list;");
        w.Close();
        w.Line();
        w.Doc("Validates <paramref name=\"source\"/> against the catalog (missing, unexpected, mis-shaped tensors, incomplete groups are errors naming the tensor) and builds the typed tree. Tensors stay where the source keeps them (memory-mapped).");
        w.Open("public static Ixc25Weights Bind(global::IXC25.Runtime.Spec.IWeightSource source, Ixc25Dims dims)");
        w.Line("var b = global::IXC25.Runtime.Spec.WeightBinder.Bind(Catalog(dims), source);");
        w.Line("var d = dims.WithFree(b.FreeSymbols);");
        w.Line("return new Ixc25Weights");
        w.Line("{");
        w.Line("    Dims = d,");
        w.Line("    Groups = b.Groups,");
        foreach (var c in m.Root.Children) w.Line($"    {ModelParser.Pascal(c.Name)} = {Construct(m, c, "    ")},");
        w.Line("};");
        w.Close();
        w.Close();

        w.Line();
        w.Doc("Task modes of spec/model.json: which optional groups each merges into the base weights.");
        w.Open("public static partial class Ixc25Modes");
        foreach (var mode in m.Modes)
        {
            w.Doc(mode.Doc);
            w.Line($"public const string {ModelParser.Pascal(mode.Name)} = {CodeWriter.Str(mode.Name)};");
        }
        w.Doc("Mode name to the groups it merges, in spec order.");
        w.Line("public static readonly global::System.Collections.Generic.IReadOnlyDictionary<string, string[]> Merges = new global::System.Collections.Generic.Dictionary<string, string[]>");
        w.Line("{");
        foreach (var mode in m.Modes) w.Line($"    [{CodeWriter.Str(mode.Name)}] = [{string.Join(", ", mode.Merge.Select(CodeWriter.Str))}],");
        w.Line("};");
        w.Close();
        return CodeWriter.Header(Namespace) + "using global::IXC25.Runtime.Tensors;\n\n" + w;
    }

    private static void EmitTypes(ModelSpec m, ModuleNode node, CodeWriter w, HashSet<string> emitted)
    {
        foreach (var c in node.Children) EmitTypes(m, c, w, emitted);
        if (node.Kind == "param" || !emitted.Add(node.TypeName)) return;
        w.Doc(node.Kind == "class" ? $"Parameters of a {node.TypeName.Substring(0, node.TypeName.Length - "Params".Length)} module." : node.Doc.Length > 0 ? node.Doc : $"The '{node.Name}' part of the parameter tree.");
        w.Open($"public sealed partial class {node.TypeName}");
        foreach (var c in node.Children)
        {
            string prop = ModelParser.Pascal(c.Name);
            switch (c.Kind)
            {
                case "param":
                    var p = m.Params[c.ParamIndex];
                    w.Doc($"{p.Key} {Shape(p)}{(p.Group is not null ? " (optional group " + p.Group + ")" : "")}{(p.Unused ? " (unused by the forward pass)" : "")}");
                    w.Line(p.Group is not null ? $"public NamedTensor? {prop} {{ get; init; }}" : $"public required NamedTensor {prop} {{ get; init; }}");
                    break;
                case "repeat":
                    w.Doc($"{c.Doc} ({c.RepeatSymbol} of them)");
                    w.Line($"public required {c.TypeName}[] {prop} {{ get; init; }}");
                    break;
                default:
                    if (c.Doc.Length > 0) w.Doc(c.Doc + (c.Unused ? " (unused by the forward pass)" : ""));
                    w.Line($"public required {c.TypeName} {prop} {{ get; init; }}");
                    break;
            }
        }
        var grouped = node.Children.Where(c => c.Kind == "param" && m.Params[c.ParamIndex].Group is not null).ToList();
        if (grouped.Count > 0)
        {
            w.Line();
            w.Doc("The tensors of an optional group in spec order (empty when the checkpoint lacks the group).");
            w.Open("public global::System.Collections.Generic.IReadOnlyList<NamedTensor> GroupTensors(string group) => group switch");
            foreach (var g in grouped.GroupBy(c => m.Params[c.ParamIndex].Group!))
                w.Line($"{CodeWriter.Str(g.Key)} => {string.Join(" && ", g.Select(c => ModelParser.Pascal(c.Name) + " is not null"))} ? [{string.Join(", ", g.Select(c => ModelParser.Pascal(c.Name) + "!"))}] : [],");
            w.Line("_ => throw new global::System.ArgumentException($\"unknown group '{group}'\", nameof(group)),");
            w.Close(";");
        }
        w.Close();
        w.Line();
    }

    private static string Shape(ParamSpec p) => "[" + string.Join(", ", p.Shape) + "]";

    private static void EmitCatalog(ModelSpec m, ModuleNode node, CodeWriter w)
    {
        foreach (var c in node.Children)
        {
            if (c.Kind == "param")
            {
                var p = m.Params[c.ParamIndex];
                w.Line($"list.Add(new global::IXC25.Runtime.Spec.ParamInfo({Interp(p.Path)}, {Interp(p.Key)}, {ShapeCode(m, p)}, {CodeWriter.Str(Shape(p))}, {(p.Group is null ? "null" : CodeWriter.Str(p.Group))}, {(p.Unused ? "true" : "false")}));");
            }
            else if (c.Kind == "repeat")
            {
                w.Open($"for (int ix_{c.IndexVar} = 0; ix_{c.IndexVar} < d.{c.RepeatSymbol}; ix_{c.IndexVar}++)");
                EmitCatalog(m, c, w);
                w.Close();
            }
            else EmitCatalog(m, c, w);
        }
    }

    private static string Construct(ModelSpec m, ModuleNode node, string indent)
    {
        switch (node.Kind)
        {
            case "param":
                var p = m.Params[node.ParamIndex];
                return p.Group is null ? $"b.Get({Interp(p.Key)})" : $"b.GetOptional({Interp(p.Key)}, {CodeWriter.Str(p.Group)})";
            case "repeat":
                {
                    string inner = ConstructObject(m, node, indent + "    ");
                    return $"global::System.Linq.Enumerable.ToArray(global::System.Linq.Enumerable.Select(global::System.Linq.Enumerable.Range(0, d.{node.RepeatSymbol}), ix_{node.IndexVar} => {inner}))";
                }
            default:
                return ConstructObject(m, node, indent);
        }
    }

    private static string ConstructObject(ModelSpec m, ModuleNode node, string indent)
    {
        var parts = node.Children.Select(c => $"{indent}    {ModelParser.Pascal(c.Name)} = {Construct(m, c, indent + "    ")},");
        return $"new {node.TypeName}\n{indent}{{\n{string.Join("\n", parts)}\n{indent}}}";
    }
}
