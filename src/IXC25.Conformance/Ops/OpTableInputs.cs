using System.Globalization;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Ops;

/// <summary>One case of the op table: symbol values, attributes, dtypes per port, and how to fill each port.</summary>
public sealed record OpTableCase(OpInfo Op, string Text, IReadOnlyDictionary<string, long> Symbols,
    IReadOnlyDictionary<string, string> Attrs, IReadOnlyDictionary<string, DType?> DTypes,
    IReadOnlyDictionary<string, string> Fill, IReadOnlyDictionary<string, string> Specials, int Seed)
{
    public override string ToString() => $"{Op.Name} [{Text}]";

    /// <summary>The weight dtype the tolerance table refines by: the first multi-dtype port's, or f32.</summary>
    public string WeightDType => Op.Inputs.Where(p => p.DTypes.Length > 1 && DTypes.GetValueOrDefault(p.Name) is not null)
        .Select(p => DTypes[p.Name]!.Value.SpecName()).FirstOrDefault() ?? "f32";
}

/// <summary>
/// Cases of one op in the op table's syntax (tests/IXC25.Backends.Tests/OpTable/OpTableCases.cs documents it:
/// SYM=values, attr=values, port=dtypes, port~fill, port!specials, each comma list multiplying), expanded into
/// cases, and their inputs made from the spec's port shapes and dtypes. Shared by the op table tests and the
/// conformance kit's op surface (one copy).
/// </summary>
public static class OpTableInputs
{
    /// <summary>The cases of one string in the op table's syntax (a line of the table, or a generated case).</summary>
    public static IReadOnlyList<OpTableCase> Parse(string opName, string text, int firstIndex = 0)
    {
        var op = OpCatalog.Find(opName) ?? throw new IxcException($"'{opName}' is not an op of spec/ops.json");
        var list = new List<OpTableCase>();
        foreach (var assignment in Expand(text.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            list.Add(Build(op, assignment, firstIndex + list.Count));
        return list;
    }

    /// <summary>The cross product of the tokens: each KEY=a,b,c or PORT~a,b token multiplies.</summary>
    private static IEnumerable<List<string>> Expand(string[] tokens)
    {
        IEnumerable<List<string>> acc = [[]];
        foreach (var token in tokens)
        {
            int sep = token.IndexOfAny(['=', '~', '!']);
            string[] options = sep > 0 && token[sep] != '!'
                ? token[(sep + 1)..].Split(',').Select(v => token[..(sep + 1)] + v).ToArray()
                : [token];
            acc = acc.SelectMany(a => options.Select(o => new List<string>(a) { o })).ToList();
        }
        return acc;
    }

    private static OpTableCase Build(OpInfo op, List<string> tokens, int index)
    {
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        var dtypes = new Dictionary<string, DType?>(StringComparer.Ordinal);
        var fill = new Dictionary<string, string>(StringComparer.Ordinal);
        var specials = new Dictionary<string, string>(StringComparer.Ordinal);
        var ports = op.Inputs.ToDictionary(p => p.Name);
        string? allDType = null;
        string Where() => $"op table, {op.Name} [{string.Join(' ', tokens)}]";
        foreach (var token in tokens)
        {
            int sep = token.IndexOfAny(['=', '~', '!']);
            int tilde = sep > 0 && token[sep] == '~' ? sep : -1, bang = sep > 0 && token[sep] == '!' ? sep : -1, eq = sep > 0 && token[sep] == '=' ? sep : -1;
            if (tilde > 0) { Port(token[..tilde]); fill[token[..tilde]] = token[(tilde + 1)..]; continue; }
            if (bang > 0) { Port(token[..bang]); specials[token[..bang]] = token[(bang + 1)..]; continue; }
            if (eq <= 0) throw new IxcException($"{Where()}: token '{token}' is not KEY=VALUE, PORT~VALUE or PORT!");
            string key = token[..eq], value = token[(eq + 1)..];
            if (key == "dtype") allDType = value;
            else if (ports.ContainsKey(key))
                dtypes[key] = value == "none" ? (ports[key].Optional ? null : throw new IxcException($"{Where()}: port '{key}' is not optional"))
                    : ParseDType(value, ports[key], Where());
            else if (op.Attrs.Any(a => a.Name == key)) attrs[key] = value;
            else symbols[key] = ShapeExpr.Eval(value, symbols, Where());
        }
        foreach (var (symbol, attr) in op.SymbolAttrs)
            if (symbols.TryGetValue(symbol, out var v) && !attrs.ContainsKey(attr)) attrs[attr] = v.ToString(CultureInfo.InvariantCulture);
        foreach (var a in op.Attrs)
        {
            if (attrs.TryGetValue(a.Name, out var v))
            {
                if (a.Type == "int" && !long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                    attrs[a.Name] = ShapeExpr.Eval(v, symbols, Where()).ToString(CultureInfo.InvariantCulture);
            }
            else if (a.Default is null) throw new IxcException($"{Where()}: required attribute '{a.Name}' has no value");
        }
        foreach (var p in op.Inputs.Where(p => !p.IsCache))
            if (!dtypes.ContainsKey(p.Name))
                dtypes[p.Name] = allDType is not null && p.DTypes.Length > 1 && p.DTypes.Contains(ParseDType(allDType, null, Where())) ? ParseDType(allDType, null, Where()) : p.DTypes[0];
        foreach (var p in op.Inputs.Where(p => p.IsCache || dtypes[p.Name] is not null).Concat(op.Outputs))
            foreach (var dim in p.Shape)
                foreach (var s in ShapeExpr.Symbols(dim))
                    if (!symbols.ContainsKey(s)) throw new IxcException($"{Where()}: shape symbol {s} of port '{p.Name}' has no value");
        return new OpTableCase(op, string.Join(' ', tokens), symbols, attrs, dtypes, fill, specials, op.Name.Aggregate(17, (h, ch) => h * 31 + ch) & 0xFFFF ^ index * 7919);

        void Port(string name)
        {
            if (!ports.ContainsKey(name)) throw new IxcException($"{Where()}: '{name}' is not an input port");
        }
    }

    private static DType ParseDType(string text, PortInfo? port, string where)
    {
        if (!Enum.TryParse<DType>(text, ignoreCase: true, out var d)) throw new IxcException($"{where}: unknown dtype '{text}'");
        if (port is not null && !port.DTypes.Contains(d)) throw new IxcException($"{where}: port '{port.Name}' does not take {text} ({port})");
        return d;
    }

    /// <summary>The concrete shape of a port in a case.</summary>
    /// <remarks>A leading "..." (any leading dimensions folded into the next one, spec/README.md) is the case's
    /// symbol <c>LEAD</c> as one dimension when the case gives it, else no dimension.</remarks>
    public static long[] ShapeOf(PortInfo p, OpTableCase c) => p.Shape
        .SelectMany(d => d != ShapeExpr.Leading ? [ShapeExpr.Eval(d, c.Symbols, $"{c} port '{p.Name}'")]
            : c.Symbols.TryGetValue("LEAD", out var lead) ? [lead] : Array.Empty<long>())
        .ToArray();

    /// <summary>The named inputs of a case: seeded random data of the spec's shape and the case's dtype.</summary>
    public static Dictionary<string, NamedTensor> Make(OpTableCase c)
    {
        var rng = new Random(c.Seed);
        var inputs = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        float[]? angles = null;
        foreach (var p in c.Op.Inputs)
        {
            if (!p.IsCache && c.DTypes[p.Name] is null) continue; // an optional port the case leaves out
            var shape = ShapeOf(p, c);
            int n = checked((int)Shape.Numel(shape));
            if (p.IsCache)
            {
                inputs[p.Name + ".k"] = NamedTensor.F32(p.Name + ".k", shape, OpData.Normal(n, rng.Next()));
                inputs[p.Name + ".v"] = NamedTensor.F32(p.Name + ".v", (long[])shape.Clone(), OpData.Normal(n, rng.Next()));
                continue;
            }
            if (c.DTypes[p.Name] is not { } dtype) continue;
            c.Fill.TryGetValue(p.Name, out var fill);
            switch (dtype)
            {
                case DType.U8:
                    {
                        if (fill is not null && MaskPatterns.Contains(fill))
                        {
                            inputs[p.Name] = NamedTensor.U8(p.Name, shape, MaskPattern(fill, n, rng));
                            break;
                        }
                        double p1 = fill is null ? 0.5 : Num(fill, c, p.Name);
                        inputs[p.Name] = NamedTensor.U8(p.Name, shape, Enumerable.Range(0, n).Select(_ => (byte)(rng.NextDouble() < p1 ? 1 : 0)).ToArray());
                        break;
                    }
                case DType.I64 or DType.I32:
                    {
                        if (fill is null) throw new IxcException($"{c}: integer port '{p.Name}' needs an upper bound ({p.Name}~SYMBOL)");
                        long bound = (long)Num(fill, c, p.Name);
                        var ids = Enumerable.Range(0, n).Select(_ => rng.NextInt64(bound)).ToArray();
                        inputs[p.Name] = dtype == DType.I64 ? NamedTensor.I64(p.Name, shape, ids) : NamedTensor.I32(p.Name, shape, ids.Select(i => (int)i).ToArray());
                        break;
                    }
                default:
                    {
                        float[] values;
                        if (p.Name is "cos" or "sin")
                        {
                            // rotary tables: cos and sin of one set of angles
                            angles ??= Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 100)).ToArray();
                            values = angles.Select(a => p.Name == "cos" ? MathF.Cos(a) : MathF.Sin(a)).ToArray();
                        }
                        else
                        {
                            double scale = fill is not null ? Num(fill, c, p.Name)
                                : p.DTypes.Length > 1 && shape.Length >= 2 ? 1 / Math.Sqrt(Math.Max(1, Shape.Numel(shape[1..]))) : 1;
                            values = OpData.Normal(n, rng.Next(), scale);
                        }
                        if (c.Specials.TryGetValue(p.Name, out var mode)) Sprinkle(rng, values, shape, mode);
                        inputs[p.Name] = OpData.Weight(p.Name, dtype, shape, values);
                        break;
                    }
            }
        }
        return inputs;
    }

    /// <summary>Fills of a u8 port by pattern instead of a probability: every element 1, none, alternating (1 at even indices), a single 1 at a random index.</summary>
    public static readonly string[] MaskPatterns = ["all", "none", "alt", "single"];

    /// <summary>The u8 values of a mask pattern (<see cref="MaskPatterns"/>) over <paramref name="n"/> elements.</summary>
    public static byte[] MaskPattern(string pattern, int n, Random rng)
    {
        var m = new byte[n];
        switch (pattern)
        {
            case "all": Array.Fill(m, (byte)1); break;
            case "none": break;
            case "alt": for (int i = 0; i < n; i += 2) m[i] = 1; break;
            case "single": if (n > 0) m[rng.Next(n)] = 1; break;
            default: throw new IxcException($"mask pattern '{pattern}' is not one of {string.Join(", ", MaskPatterns)}");
        }
        return m;
    }

    private static double Num(string text, OpTableCase c, string port) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : ShapeExpr.Eval(text, c.Symbols, $"{c} port '{port}'");

    /// <summary>NaN/+inf/-inf in row 1 (rows: the last dimension); with "-inf" row 2 partly and row 3 wholly -inf.</summary>
    private static void Sprinkle(Random rng, float[] x, long[] shape, string mode)
    {
        int w = shape.Length >= 2 ? checked((int)shape[^1]) : x.Length, rows = w == 0 ? 0 : x.Length / w;
        if (rows > 1) OpData.Specials(rng, x.AsSpan(w, w), 0.1);
        else OpData.Specials(rng, x, 0.1);
        if (mode != "-inf") return;
        if (rows > 2)
            for (int i = 0; i < w; i++) if (rng.NextDouble() < 0.4 && i != w / 2) x[2 * w + i] = float.NegativeInfinity;
        if (rows > 3) x.AsSpan(3 * w, w).Fill(float.NegativeInfinity);
    }
}
