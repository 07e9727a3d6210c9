using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using IXC25.Generators.Json;

namespace IXC25.Generators.Spec;

/// <summary>Reads spec/model.json: config keys, symbols, parameter classes and tree, graph, taps.</summary>
internal sealed class ModelParser
{
    private static readonly Regex Placeholder = new(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);
    private static readonly Regex Identifier = new(@"^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

    private readonly SpecReader _r;
    private readonly OpSet? _ops;
    private readonly ISet<string> _tolerances;
    private readonly bool _checkTolerances;
    private readonly Dictionary<string, ConfigKeySpec> _config = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SymbolSpec> _symbols = new(StringComparer.Ordinal);
    private readonly HashSet<string> _runtimeSymbols = new(StringComparer.Ordinal);
    private readonly HashSet<string> _groups = new(StringComparer.Ordinal);
    private readonly HashSet<string> _indices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (List<string> Args, List<(string Name, string Key, List<string> Shape, string? Group, JsonValue At)> Params, string Doc)> _classes = new(StringComparer.Ordinal);
    private readonly List<ParamSpec> _params = new();
    private readonly HashSet<string> _typeNames = new(StringComparer.Ordinal);

    private ModelParser(SpecReader r, OpSet? ops, ISet<string> tolerances, bool checkTolerances)
    {
        _r = r;
        _ops = ops;
        _tolerances = tolerances;
        _checkTolerances = checkTolerances;
    }

    public static ModelSpec? Parse(JsonValue root, SpecReader r, OpSet? ops, ISet<string> tolerances, bool checkTolerances) =>
        new ModelParser(r, ops, tolerances, checkTolerances).Run(root);

    private ModelSpec? Run(JsonValue root)
    {
        if (!_r.ExpectObject(root, "model.json")) return null;
        _r.Schema(root, "model.json");
        string name = _r.String(root, "name", "model.json") ?? "model";
        string doc = _r.String(root, "doc", "model.json", required: false) ?? "";
        ParseConfig(root);
        ParseSymbols(root);
        var runtime = ParseRuntimeSymbols(root);
        var groups = ParseGroups(root);
        var modes = ParseModes(root);
        foreach (var ix in _r.Array(root, "tap_indices", "model.json", required: false))
        {
            if (_r.ExpectObject(ix, "tap index") && _r.String(ix, "name", "tap index") is { } n) _indices.Add(n);
        }
        ParseClasses(root);
        var rootNode = ParseModules(root);
        var taps = ParseTaps(root);
        var graph = ParseGraph(root, rootNode, taps);
        return new ModelSpec(name, doc, _config.Values.ToEquatable(), _symbols.Values.ToEquatable(), runtime.ToEquatable(),
            groups.ToEquatable(), modes.ToEquatable(), rootNode, _params.ToEquatable(), graph.ToEquatable(), taps.ToEquatable());
    }

    // ------------------------------------------------------------ config, symbols

    private void ParseConfig(JsonValue root)
    {
        foreach (var c in _r.Array(root, "config", "model.json"))
        {
            if (!_r.ExpectObject(c, "config entry")) continue;
            string? key = _r.String(c, "key", "config entry");
            if (key is null) continue;
            string ctx = $"config key '{key}'";
            if (_config.ContainsKey(key)) { _r.Report("IXC0006", $"{ctx} is defined twice", c["key"]!); continue; }
            string? type = _r.String(c, "type", ctx);
            if (type is not null && !OpsParser.AttrTypes.Contains(type)) { _r.Report("IXC0003", $"{ctx}: type '{type}' is not one of int, float, bool, string", c["type"]!); type = null; }
            type ??= "string";
            string? def = null;
            if (c["default"] is { } d)
            {
                def = OpsParser.LiteralText(d, type);
                if (def is null) _r.Report("IXC0003", $"{ctx}: default {d.Describe()} does not match type {type}", d);
                else if (type == "string") def = "\"" + def + "\"";
            }
            string? defFrom = _r.String(c, "default_from", ctx, required: false);
            if (defFrom is not null && !_config.ContainsKey(defFrom)) _r.Report("IXC0019", $"{ctx}: default_from '{defFrom}' is not a config key defined before it", c["default_from"]!);
            var allowed = new List<string>();
            foreach (var a in _r.Array(c, "allowed", ctx, required: false))
            {
                var text = OpsParser.LiteralText(a, type);
                if (text is null) _r.Report("IXC0003", $"{ctx}: allowed value {a.Describe()} does not match type {type}", a);
                else allowed.Add(type == "string" ? "\"" + text + "\"" : text);
            }
            var range = new List<string>();
            if (c["range"] is { } rv)
            {
                var items = _r.Array(c, "range", ctx, required: false);
                var bounds = items.Select(b => b.Kind == JsonKind.Number && b.IsInteger && int.TryParse(b.RawNumber, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int x) ? (int?)x : null).ToList();
                if (type != "int" || bounds.Count != 2 || bounds.Any(b => b is null) || bounds[0] > bounds[1])
                    _r.Report("IXC0003", $"{ctx}: range {rv.Describe()} must be [min, max], two 32-bit integers with min <= max, on an int key", rv);
                else range.AddRange(bounds.Select(b => b!.Value.ToString(CultureInfo.InvariantCulture)));
            }
            bool optional = _r.Bool(c, "optional", ctx, false);
            _config[key] = new ConfigKeySpec(key, type, def, defFrom, optional, allowed.ToEquatable(), _r.String(c, "doc", ctx, required: false) ?? "", range.ToEquatable());
        }
    }

    private void ParseSymbols(JsonValue root)
    {
        foreach (var s in _r.Array(root, "symbols", "model.json"))
        {
            if (!_r.ExpectObject(s, "symbol")) continue;
            string? name = _r.String(s, "name", "symbol");
            if (name is null) continue;
            string ctx = $"symbol '{name}'";
            if (!Identifier.IsMatch(name)) { _r.Report("IXC0003", $"{ctx}: a symbol name must be an identifier", s["name"]!); continue; }
            if (_symbols.ContainsKey(name)) { _r.Report("IXC0006", $"{ctx} is defined twice", s["name"]!); continue; }
            string doc = _r.String(s, "doc", ctx, required: false) ?? "";
            int kinds = (s["config"] is null ? 0 : 1) + (s["expr"] is null ? 0 : 1) + (s["value"] is null ? 0 : 1) + (s["free"] is null ? 0 : 1);
            if (kinds != 1) { _r.Report("IXC0002", $"{ctx}: give exactly one of config, expr, value or free", s); continue; }
            if (s["config"] is not null)
            {
                string key = _r.String(s, "config", ctx) ?? "";
                if (!_config.TryGetValue(key, out var ck)) _r.Report("IXC0019", $"{ctx}: config key '{key}' is not defined in 'config'", s["config"]!);
                else if (ck.Type != "int") _r.Report("IXC0003", $"{ctx}: config key '{key}' is not an int", s["config"]!);
                _symbols[name] = new SymbolSpec(name, "config", key, doc);
            }
            else if (s["expr"] is not null)
            {
                string text = _r.String(s, "expr", ctx) ?? "";
                if (_r.ParseExpr(text, s["expr"]!, ctx) is { } e)
                    foreach (var id in e.Identifiers())
                        if (!_symbols.ContainsKey(id) || _symbols[id].Kind == "free")
                            _r.Report("IXC0005", $"{ctx}: expression '{text}' uses '{id}', which is not a symbol defined before it (free symbols are not allowed)", s["expr"]!);
                _symbols[name] = new SymbolSpec(name, "expr", text, doc);
            }
            else if (s["value"] is not null)
            {
                var v = s["value"]!;
                if (v.Kind != JsonKind.Number || !v.IsInteger) _r.Report("IXC0003", $"{ctx}: value must be an integer", v);
                _symbols[name] = new SymbolSpec(name, "value", v.RawNumber ?? "0", doc);
            }
            else
            {
                if (s["free"]!.Kind != JsonKind.Bool || !s["free"]!.BoolValue) _r.Report("IXC0003", $"{ctx}: free must be true", s["free"]!);
                _symbols[name] = new SymbolSpec(name, "free", "", doc);
            }
        }
    }

    private List<RuntimeSymbol> ParseRuntimeSymbols(JsonValue root)
    {
        var list = new List<RuntimeSymbol>();
        foreach (var s in _r.Array(root, "runtime_symbols", "model.json", required: false))
        {
            if (!_r.ExpectObject(s, "runtime symbol")) continue;
            string? name = _r.String(s, "name", "runtime symbol");
            if (name is null) continue;
            if (_symbols.ContainsKey(name) || !_runtimeSymbols.Add(name)) { _r.Report("IXC0006", $"runtime symbol '{name}' is defined twice", s["name"]!); continue; }
            list.Add(new RuntimeSymbol(name, _r.String(s, "doc", $"runtime symbol '{name}'", required: false) ?? ""));
        }
        return list;
    }

    private List<GroupSpec> ParseGroups(JsonValue root)
    {
        var list = new List<GroupSpec>();
        foreach (var g in _r.Array(root, "groups", "model.json", required: false))
        {
            if (!_r.ExpectObject(g, "group")) continue;
            string? name = _r.String(g, "name", "group");
            if (name is null) continue;
            if (!_groups.Add(name)) { _r.Report("IXC0006", $"group '{name}' is defined twice", g["name"]!); continue; }
            list.Add(new GroupSpec(name, _r.String(g, "doc", $"group '{name}'", required: false) ?? ""));
        }
        return list;
    }

    private List<ModeSpec> ParseModes(JsonValue root)
    {
        var list = new List<ModeSpec>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in _r.Array(root, "modes", "model.json", required: false))
        {
            if (!_r.ExpectObject(m, "mode")) continue;
            string? name = _r.String(m, "name", "mode");
            if (name is null) continue;
            if (!seen.Add(name)) { _r.Report("IXC0006", $"mode '{name}' is defined twice", m["name"]!); continue; }
            var merge = new List<string>();
            foreach (var g in _r.Array(m, "merge", $"mode '{name}'"))
            {
                if (g.Kind != JsonKind.String) { _r.Report("IXC0003", $"mode '{name}': merge entries must be group names", g); continue; }
                if (!_groups.Contains(g.StringValue!)) _r.Report("IXC0017", $"mode '{name}': group '{g.StringValue}' is not declared in 'groups'", g);
                merge.Add(g.StringValue!);
            }
            list.Add(new ModeSpec(name, _r.String(m, "doc", $"mode '{name}'", required: false) ?? "", merge.ToEquatable()));
        }
        return list;
    }

    private bool IsModelSymbol(string name) => _symbols.ContainsKey(name);

    // ------------------------------------------------------------ classes and modules

    private void ParseClasses(JsonValue root)
    {
        foreach (var c in _r.Array(root, "classes", "model.json"))
        {
            if (!_r.ExpectObject(c, "class")) continue;
            string? name = _r.String(c, "name", "class");
            if (name is null) continue;
            string ctx = $"class '{name}'";
            if (_classes.ContainsKey(name)) { _r.Report("IXC0006", $"{ctx} is defined twice", c["name"]!); continue; }
            var args = new List<string>();
            foreach (var a in _r.Array(c, "args", ctx))
            {
                if (a.Kind != JsonKind.String || !Identifier.IsMatch(a.StringValue!)) { _r.Report("IXC0003", $"{ctx}: args must be identifiers", a); continue; }
                args.Add(a.StringValue!);
            }
            var ps = new List<(string, string, List<string>, string?, JsonValue)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in _r.Array(c, "params", ctx))
            {
                if (!_r.ExpectObject(p, $"{ctx} param")) continue;
                string? pn = _r.String(p, "name", $"{ctx} param");
                string? key = _r.String(p, "key", $"{ctx} param");
                if (pn is null || key is null) continue;
                string pctx = $"{ctx} param '{pn}'";
                if (!seen.Add(pn)) _r.Report("IXC0006", $"{ctx}: param '{pn}' is defined twice", p["name"]!);
                var shape = _r.Shape(p, "shape", pctx, id => args.Contains(id) || IsModelSymbol(id));
                string? group = _r.String(p, "group", pctx, required: false);
                if (group is not null && !_groups.Contains(group)) _r.Report("IXC0017", $"{pctx}: group '{group}' is not declared in 'groups'", p["group"]!);
                foreach (Match m in Placeholder.Matches(key))
                    if (m.Groups[1].Value != "prefix") _r.Report("IXC0016", $"{pctx}: key '{key}' may only use {{prefix}} inside a class", p["key"]!);
                ps.Add((pn, key, shape, group, p));
            }
            _classes[name] = (args, ps, _r.String(c, "doc", ctx, required: false) ?? "");
            _typeNames.Add(name + "Params");
        }
    }

    private ModuleNode ParseModules(JsonValue root)
    {
        var children = new List<ModuleNode>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in _r.Array(root, "modules", "model.json"))
            if (ParseModule(m, "", new List<(string, string)>(), seen) is { } node) children.Add(node);
        return new ModuleNode("", "root", "Ixc25Weights", "", null, null, -1, false, children.ToEquatable());
    }

    private ModuleNode? ParseModule(JsonValue m, string parentPath, List<(string Var, string Sym)> indices, HashSet<string> siblings)
    {
        if (!_r.ExpectObject(m, "module")) return null;
        string? name = _r.String(m, "name", "module");
        if (name is null) return null;
        string path = parentPath.Length == 0 ? name : parentPath + "." + name;
        string ctx = $"module '{path}'";
        if (!Identifier.IsMatch(name)) { _r.Report("IXC0003", $"{ctx}: module names must be identifiers", m["name"]!); return null; }
        if (!siblings.Add(name)) { _r.Report("IXC0006", $"{ctx} is defined twice", m["name"]!); return null; }
        string doc = _r.String(m, "doc", ctx, required: false) ?? "";
        bool unused = _r.Bool(m, "unused", ctx, false);
        int forms = (m["param"] is null ? 0 : 1) + (m["class"] is null ? 0 : 1) + (m["children"] is null ? 0 : 1);
        if (forms != 1) { _r.Report("IXC0002", $"{ctx}: give exactly one of param, class or children", m); return null; }

        if (m["param"] is not null)
        {
            var p = _r.Object(m, "param", ctx);
            if (p is null) return null;
            string? key = _r.String(p, "key", ctx);
            if (key is null) return null;
            CheckPlaceholders(key, p["key"]!, indices, ctx);
            var shape = _r.Shape(p, "shape", ctx, IsModelSymbol);
            CheckFreeSymbols(shape, p, ctx);
            string? group = _r.String(p, "group", ctx, required: false);
            if (group is not null && !_groups.Contains(group)) _r.Report("IXC0017", $"{ctx}: group '{group}' is not declared in 'groups'", p["group"]!);
            _params.Add(new ParamSpec(path, key, shape.ToEquatable(), group, unused,
                indices.Select(i => i.Var).ToEquatable(), indices.Select(i => i.Sym).ToEquatable()));
            return new ModuleNode(name, "param", "", doc, null, null, _params.Count - 1, unused, EquatableArray<ModuleNode>.Empty);
        }

        if (m["class"] is not null)
        {
            string? cls = _r.String(m, "class", ctx);
            if (cls is null) return null;
            if (!_classes.TryGetValue(cls, out var c)) { _r.Report("IXC0014", $"{ctx}: class '{cls}' is not defined in 'classes'", m["class"]!); return null; }
            string? prefix = _r.String(m, "prefix", ctx);
            if (prefix is null) return null;
            CheckPlaceholders(prefix, m["prefix"]!, indices, ctx);
            var args = new Dictionary<string, string>(StringComparer.Ordinal);
            var argsObj = _r.Object(m, "args", ctx);
            if (argsObj is not null)
            {
                foreach (var (k, ks, v) in argsObj.Members)
                {
                    if (!c.Args.Contains(k)) { _r.Report("IXC0014", $"{ctx}: class '{cls}' has no argument '{k}' (arguments: {string.Join(", ", c.Args)})", ks); continue; }
                    string text = v.Kind == JsonKind.Number && v.IsInteger ? v.RawNumber! : v.Kind == JsonKind.String ? v.StringValue! : "";
                    if (text.Length == 0) { _r.Report("IXC0003", $"{ctx}: argument '{k}' must be an integer or a symbol expression", v); continue; }
                    if (_r.ParseExpr(text, v, ctx) is { } e)
                        foreach (var id in e.Identifiers())
                            if (!IsModelSymbol(id)) _r.Report("IXC0005", $"{ctx}: argument '{k}' uses unknown symbol '{id}'", v);
                    args[k] = text;
                }
                foreach (var a in c.Args)
                    if (!args.ContainsKey(a)) _r.Report("IXC0014", $"{ctx}: class '{cls}' needs argument '{a}'", argsObj);
            }
            var kids = new List<ModuleNode>();
            foreach (var (pn, key, shape, group, _) in c.Params)
            {
                var resolved = shape.Select(d => Substitute(d, args)).ToList();
                _params.Add(new ParamSpec(path + "." + pn, key.Replace("{prefix}", prefix), resolved.ToEquatable(), group, unused,
                    indices.Select(i => i.Var).ToEquatable(), indices.Select(i => i.Sym).ToEquatable()));
                kids.Add(new ModuleNode(pn, "param", "", "", null, null, _params.Count - 1, unused, EquatableArray<ModuleNode>.Empty));
            }
            return new ModuleNode(name, "class", cls + "Params", doc.Length > 0 ? doc : c.Doc, null, null, -1, unused, kids.ToEquatable());
        }

        // a container: plain group or a repeat
        string? repeat = _r.String(m, "repeat", ctx, required: false);
        string? index = null;
        string typeName = Pascal(name) + "Weights";
        var innerIndices = indices;
        if (repeat is not null)
        {
            if (!_symbols.ContainsKey(repeat) || _symbols[repeat].Kind == "free") _r.Report("IXC0005", $"{ctx}: repeat count '{repeat}' is not a symbol", m["repeat"]!);
            index = _r.String(m, "index", ctx);
            string? type = _r.String(m, "type", ctx);
            if (type is not null) typeName = type + "Weights";
            if (index is not null)
            {
                if (indices.Any(x => x.Var == index)) _r.Report("IXC0006", $"{ctx}: index '{index}' is already used by an enclosing repeat", m["index"]!);
                innerIndices = new List<(string, string)>(indices) { (index, repeat) };
            }
        }
        if (!_typeNames.Add(typeName)) _r.Report("IXC0006", $"{ctx}: type name '{typeName}' is used twice", m["name"]!);
        var children = new List<ModuleNode>();
        var kidNames = new HashSet<string>(StringComparer.Ordinal);
        string childPath = repeat is null ? path : path + "[{" + (index ?? "?") + "}]";
        foreach (var child in _r.Array(m, "children", ctx))
            if (ParseModule(child, childPath, innerIndices, kidNames) is { } node) children.Add(node);
        return new ModuleNode(name, repeat is null ? "group" : "repeat", typeName, doc, repeat, index, -1, unused, children.ToEquatable());
    }

    private void CheckPlaceholders(string text, JsonValue at, List<(string Var, string Sym)> indices, string ctx)
    {
        foreach (Match m in Placeholder.Matches(text))
        {
            string v = m.Groups[1].Value;
            if (!indices.Any(i => i.Var == v))
                _r.Report("IXC0016", $"{ctx}: '{text}' uses {{{v}}}, which is not the index of an enclosing repeat", at);
        }
    }

    private void CheckFreeSymbols(List<string> shape, JsonValue at, string ctx)
    {
        foreach (var d in shape)
        {
            Expr e;
            try { e = Expr.Parse(d); } catch (FormatException) { continue; }
            bool hasFree = e.Identifiers().Any(id => _symbols.TryGetValue(id, out var s) && s.Kind == "free");
            if (hasFree && e is not Ident)
                _r.Report("IXC0005", $"{ctx}: a free symbol must be a whole dimension, not part of '{d}'", at);
        }
    }

    private static string Substitute(string dim, Dictionary<string, string> args)
    {
        Expr e;
        try { e = Expr.Parse(dim); } catch (FormatException) { return dim; }
        if (e is Ident id && args.TryGetValue(id.Name, out var whole)) return whole;
        return e.Render(n => args.TryGetValue(n, out var a) ? "(" + a + ")" : n, n => n.Raw, (f, xs) => f + "(" + string.Join(", ", xs) + ")");
    }

    public static string Pascal(string snake)
    {
        var parts = snake.Split(new[] { '_', '.', '-' }, StringSplitOptions.RemoveEmptyEntries);
        return string.Concat(parts.Select(p => char.ToUpperInvariant(p[0]) + p.Substring(1)));
    }

    // ------------------------------------------------------------ taps

    private List<TapSpec> ParseTaps(JsonValue root)
    {
        var list = new List<TapSpec>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in _r.Array(root, "taps", "model.json"))
        {
            if (!_r.ExpectObject(t, "tap")) continue;
            string? name = _r.String(t, "name", "tap");
            if (name is null) continue;
            string ctx = $"tap '{name}'";
            if (!seen.Add(name)) { _r.Report("IXC0006", $"{ctx} is defined twice", t["name"]!); continue; }
            foreach (Match m in Placeholder.Matches(name))
                if (!_indices.Contains(m.Groups[1].Value))
                    _r.Report("IXC0016", $"{ctx}: {{{m.Groups[1].Value}}} is not declared in 'tap_indices'", t["name"]!);
            var dts = _r.DTypeList(t, "dtype", ctx);
            var shape = _r.Shape(t, "shape", ctx, id => IsModelSymbol(id) || _runtimeSymbols.Contains(id));
            string tol = _r.String(t, "tolerance", ctx) ?? "";
            if (_checkTolerances && tol.Length > 0 && !_tolerances.Contains(tol))
                _r.Report("IXC0008", $"{ctx}: tolerance class '{tol}' is not defined in tolerances.json", t["tolerance"]!);
            if (dts.Count > 1) _r.Report("IXC0003", $"{ctx}: a tap has exactly one dtype", t["dtype"]!);
            list.Add(new TapSpec(name, dts.FirstOrDefault() ?? "f32", shape.ToEquatable(), tol, _r.String(t, "doc", ctx, required: false) ?? ""));
        }
        return list;
    }

    // ------------------------------------------------------------ graph

    private List<BlockSpec> ParseGraph(JsonValue root, ModuleNode rootNode, List<TapSpec> taps)
    {
        var blocks = new List<BlockSpec>();
        var raw = _r.Array(root, "graph", "model.json");
        // first pass: names, inputs and outputs, so blocks can call blocks defined later
        var headers = new Dictionary<string, (List<BlockInput> Inputs, List<string> Outputs)>(StringComparer.Ordinal);
        foreach (var b in raw)
        {
            if (b.Kind != JsonKind.Object || b["name"]?.StringValue is not { } bn) continue;
            var ins = new List<BlockInput>();
            foreach (var i in b["inputs"]?.Items ?? new List<JsonValue>())
                if (i.Kind == JsonKind.Object && i["name"]?.StringValue is { } inName)
                    ins.Add(new BlockInput(inName, EquatableArray<string>.Empty, i["optional"]?.BoolValue ?? false, i["kind"]?.StringValue ?? "tensor"));
            var outs = (b["outputs"]?.Items ?? new List<JsonValue>()).Where(o => o.Kind == JsonKind.String).Select(o => o.StringValue!).ToList();
            headers[bn] = (ins, outs);
        }
        var tapNames = new HashSet<string>(taps.Select(t => t.Name), StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var b in raw)
        {
            if (!_r.ExpectObject(b, "graph block")) continue;
            string? name = _r.String(b, "name", "graph block");
            if (name is null) continue;
            string ctx = $"block '{name}'";
            if (!seen.Add(name)) { _r.Report("IXC0006", $"{ctx} is defined twice", b["name"]!); continue; }
            string doc = _r.String(b, "doc", ctx, required: false) ?? "";
            string scope = _r.String(b, "scope", ctx) ?? "";
            var scopeNode = ResolveModule(rootNode, scope, out var scopeIndices);
            if (scopeNode is null) _r.Report("IXC0010", $"{ctx}: scope '{scope}' is not a module path", b["scope"] ?? b);

            var locals = new HashSet<string>(StringComparer.Ordinal);
            var kvLocals = new HashSet<string>(StringComparer.Ordinal);
            var inputs = new List<BlockInput>();
            foreach (var i in _r.Array(b, "inputs", ctx))
            {
                if (!_r.ExpectObject(i, $"{ctx} input")) continue;
                string? inName = _r.String(i, "name", $"{ctx} input");
                if (inName is null) continue;
                string kind = _r.String(i, "kind", $"{ctx} input '{inName}'", required: false) ?? "tensor";
                if (kind != "tensor" && kind != "kv") _r.Report("IXC0003", $"{ctx}: input '{inName}' has kind '{kind}' (tensor or kv)", i["kind"]!);
                var shape = kind == "kv" ? new List<string>() : _r.Shape(i, "shape", $"{ctx} input '{inName}'", id => IsModelSymbol(id) || _runtimeSymbols.Contains(id));
                if (!locals.Add(inName)) _r.Report("IXC0006", $"{ctx}: input '{inName}' is defined twice", i["name"]!);
                if (kind == "kv") kvLocals.Add(inName);
                inputs.Add(new BlockInput(inName, shape.ToEquatable(), _r.Bool(i, "optional", ctx, false), kind));
            }

            var steps = new List<StepSpec>();
            foreach (var s in _r.Array(b, "steps", ctx))
            {
                if (!_r.ExpectObject(s, $"{ctx} step")) continue;
                if (ParseStep(s, ctx, scopeNode, scopeIndices, locals, kvLocals, headers, tapNames) is { } step) steps.Add(step);
            }
            var outputs = new List<string>();
            foreach (var o in _r.Array(b, "outputs", ctx))
            {
                if (o.Kind != JsonKind.String) { _r.Report("IXC0003", $"{ctx}: outputs must be tensor names", o); continue; }
                if (!locals.Contains(o.StringValue!)) _r.Report("IXC0010", $"{ctx}: output '{o.StringValue}' is never produced", o);
                outputs.Add(o.StringValue!);
            }
            blocks.Add(new BlockSpec(name, doc, scope, inputs.ToEquatable(), steps.ToEquatable(), outputs.ToEquatable()));
        }
        return blocks;
    }

    private StepSpec? ParseStep(JsonValue s, string ctx, ModuleNode? scopeNode, List<string> scopeIndices, HashSet<string> locals, HashSet<string> kvLocals,
        Dictionary<string, (List<BlockInput> Inputs, List<string> Outputs)> blocks, HashSet<string> tapNames)
    {
        string? op = _r.String(s, "op", ctx, required: false);
        string? call = _r.String(s, "call", ctx, required: false);
        if ((op is null) == (call is null)) { _r.Report("IXC0002", $"{ctx}: a step has exactly one of 'op' or 'call'", s); return null; }
        string sctx = $"{ctx} step '{op ?? call}'";
        OpSpec? opSpec = null;
        (List<BlockInput> Inputs, List<string> Outputs) callee = (new List<BlockInput>(), new List<string>());
        if (op is not null)
        {
            opSpec = _ops?.Ops.FirstOrDefault(o => o.Name == op);
            if (opSpec is null && _ops is not null) { _r.Report("IXC0007", $"{sctx}: op '{op}' is not defined in ops.json", s["op"]!); return null; }
            if (opSpec is { Graph: false }) { _r.Report("IXC0007", $"{sctx}: op '{op}' is marked \"graph\": false in ops.json (an oracle-only op that backends need not provide to the graph)", s["op"]!); return null; }
        }
        else if (!blocks.TryGetValue(call!, out callee)) { _r.Report("IXC0007", $"{sctx}: block '{call}' is not defined in 'graph'", s["call"]!); return null; }

        string? repeat = _r.String(s, "repeat", sctx, required: false);
        string? index = _r.String(s, "index", sctx, required: false);
        if (repeat is not null && (!_symbols.ContainsKey(repeat) || _symbols[repeat].Kind == "free")) _r.Report("IXC0005", $"{sctx}: repeat count '{repeat}' is not a symbol", s["repeat"]!);
        if (repeat is not null && index is null) _r.Report("IXC0002", $"{sctx}: a repeated step needs an 'index'", s);

        var ins = new List<KeyValue>();
        var inObj = _r.Object(s, "in", sctx);
        var bound = new HashSet<string>(StringComparer.Ordinal);
        if (inObj is not null)
        {
            foreach (var (k, ks, v) in inObj.Members)
            {
                bool known = opSpec is not null ? opSpec.Inputs.Any(p => p.Name == k) : opSpec is null && call is not null ? callee.Inputs.Any(p => p.Name == k) : true;
                if (!known) { _r.Report("IXC0011", $"{sctx}: '{k}' is not an input of {(op is not null ? "op '" + op + "'" : "block '" + call + "'")}", ks); continue; }
                if (v.Kind != JsonKind.String) { _r.Report("IXC0003", $"{sctx}: input '{k}' must name a tensor or a parameter (@path)", v); continue; }
                string refText = v.StringValue!;
                if (refText.StartsWith("@", StringComparison.Ordinal))
                {
                    if (!ResolveParam(scopeNode, refText.Substring(1)))
                        _r.Report("IXC0010", $"{sctx}: parameter '{refText}' does not exist in scope '{ScopeName(scopeNode)}'", v);
                }
                else if (!locals.Contains(refText)) _r.Report("IXC0010", $"{sctx}: tensor '{refText}' is not a block input or an earlier step's output", v);
                else
                {
                    bool wantsKv = opSpec?.Inputs.FirstOrDefault(p => p.Name == k)?.IsCache ?? (call is not null && callee.Inputs.FirstOrDefault(p => p.Name == k)?.Kind == "kv");
                    if (wantsKv != kvLocals.Contains(refText))
                        _r.Report("IXC0011", $"{sctx}: input '{k}' {(wantsKv ? "needs a KV cache (a block input of kind kv)" : "needs a tensor")}, '{refText}' is {(kvLocals.Contains(refText) ? "a KV cache" : "a tensor")}", v);
                }
                bound.Add(k);
                ins.Add(new KeyValue(k, refText));
            }
        }
        if (opSpec is not null)
            foreach (var p in opSpec.Inputs)
                if (!p.Optional && !bound.Contains(p.Name)) _r.Report("IXC0011", $"{sctx}: required input '{p.Name}' of op '{op}' is not bound", inObj ?? s);
        if (call is not null)
            foreach (var p in callee.Inputs)
                if (!p.Optional && !bound.Contains(p.Name)) _r.Report("IXC0011", $"{sctx}: required input '{p.Name}' of block '{call}' is not bound", inObj ?? s);

        var attrs = new List<KeyValue>();
        if (_r.Object(s, "attrs", sctx, required: false) is { } attrObj)
        {
            if (opSpec is null && call is not null) _r.Report("IXC0012", $"{sctx}: block calls take no attributes", attrObj);
            foreach (var (k, ks, v) in attrObj.Members)
            {
                var a = opSpec?.Attrs.FirstOrDefault(x => x.Name == k);
                if (opSpec is not null && a is null) { _r.Report("IXC0012", $"{sctx}: op '{op}' has no attribute '{k}'", ks); continue; }
                string? text = CheckAttrValue(v, a, sctx, k);
                if (text is not null) attrs.Add(new KeyValue(k, text));
            }
        }
        if (opSpec is not null)
            foreach (var a in opSpec.Attrs)
                if (a.Default is null && !attrs.Any(x => x.Key == a.Name)) _r.Report("IXC0012", $"{sctx}: required attribute '{a.Name}' of op '{op}' is not set", s);

        var outs = new List<KeyValue>();
        var outObj = _r.Object(s, "out", sctx);
        if (outObj is not null)
        {
            foreach (var (k, ks, v) in outObj.Members)
            {
                bool known = opSpec is not null ? opSpec.Outputs.Any(p => p.Name == k) : call is not null ? callee.Outputs.Contains(k) : true;
                if (!known) { _r.Report("IXC0011", $"{sctx}: '{k}' is not an output of {(op is not null ? "op '" + op + "'" : "block '" + call + "'")}", ks); continue; }
                if (v.Kind != JsonKind.String || !Identifier.IsMatch(v.StringValue!)) { _r.Report("IXC0003", $"{sctx}: output '{k}' must be bound to a tensor name", v); continue; }
                outs.Add(new KeyValue(k, v.StringValue!));
            }
        }
        foreach (var o in outs) locals.Add(o.Value);

        string? tap = _r.String(s, "tap", sctx, required: false);
        if (tap is not null && !tapNames.Contains(tap)) _r.Report("IXC0013", $"{sctx}: tap '{tap}' is not declared in 'taps'", s["tap"]!);
        return new StepSpec(op, call, repeat, index, ins.ToEquatable(), attrs.ToEquatable(), outs.ToEquatable(), tap);
    }

    /// <summary>Validates an attribute value: a literal, "$config.key", "#SYMBOL", "=expression" or "%runtime".</summary>
    private string? CheckAttrValue(JsonValue v, AttrSpec? a, string ctx, string name)
    {
        if (v.Kind == JsonKind.String)
        {
            string s = v.StringValue!;
            if (s.StartsWith("$", StringComparison.Ordinal))
            {
                string key = s.Substring(1);
                if (!_config.TryGetValue(key, out var ck)) { _r.Report("IXC0019", $"{ctx}: attribute '{name}' refers to unknown config key '{key}'", v); return null; }
                if (a is not null && ck.Type != a.Type && !(a.Type == "float" && ck.Type == "int")) _r.Report("IXC0012", $"{ctx}: attribute '{name}' is {a.Type} but config key '{key}' is {ck.Type}", v);
                return s;
            }
            if (s.StartsWith("#", StringComparison.Ordinal))
            {
                if (!_symbols.ContainsKey(s.Substring(1))) { _r.Report("IXC0005", $"{ctx}: attribute '{name}' refers to unknown symbol '{s.Substring(1)}'", v); return null; }
                if (a is not null && a.Type != "int" && a.Type != "float") _r.Report("IXC0012", $"{ctx}: attribute '{name}' is {a.Type}, a symbol is an integer", v);
                return s;
            }
            if (s.StartsWith("=", StringComparison.Ordinal))
            {
                if (_r.ParseExpr(s.Substring(1), v, ctx) is { } e)
                {
                    foreach (var id in e.Identifiers())
                        if (!_symbols.ContainsKey(id)) _r.Report("IXC0005", $"{ctx}: attribute '{name}' uses unknown symbol '{id}'", v);
                    foreach (var c in e.Calls())
                        if (!OpsParser.KernelFunctions.Contains(c.Name)) _r.Report("IXC0009", $"{ctx}: attribute '{name}' calls unknown function '{c.Name}'", v);
                }
                return s;
            }
            if (s.StartsWith("%", StringComparison.Ordinal)) return s;
            if (a is not null && a.Type != "string") { _r.Report("IXC0012", $"{ctx}: attribute '{name}' is {a.Type}, found the string '{s}' (use $key, #SYMBOL, =expr or %runtime)", v); return null; }
            return s;
        }
        if (a is null) return v.RawNumber ?? (v.Kind == JsonKind.Bool ? (v.BoolValue ? "true" : "false") : null);
        var lit = OpsParser.LiteralText(v, a.Type);
        if (lit is null) _r.Report("IXC0012", $"{ctx}: attribute '{name}' is {a.Type}, found {v.Describe()}", v);
        return lit;
    }

    private static string ScopeName(ModuleNode? n) => n is null ? "?" : n.Name.Length == 0 ? "(root)" : n.Name;

    /// <summary>Finds the module for a scope like "llm.layers[i]" or "" (root).</summary>
    private static ModuleNode? ResolveModule(ModuleNode root, string scope, out List<string> indices)
    {
        indices = new List<string>();
        if (scope.Length == 0) return root;
        var node = root;
        foreach (var rawPart in scope.Split('.'))
        {
            string part = rawPart;
            int br = part.IndexOf('[');
            if (br >= 0)
            {
                indices.Add(part.Substring(br + 1).TrimEnd(']'));
                part = part.Substring(0, br);
            }
            node = node.Children.FirstOrDefault(c => c.Name == part);
            if (node is null) return null;
            if (br >= 0 && node.Kind != "repeat") return null;
        }
        return node;
    }

    private static bool ResolveParam(ModuleNode? scope, string path)
    {
        if (scope is null) return true; // scope error already reported
        var node = scope;
        foreach (var part in path.Split('.'))
        {
            node = node.Children.FirstOrDefault(c => c.Name == part);
            if (node is null) return false;
        }
        return node.Kind == "param";
    }
}
