using System.Globalization;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Ops;
using IXC25.Conformance.Protocol;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Surfaces;

/// <summary>
/// An op case: an op of spec/ops.json and one case line in the op table's syntax (symbol values, dtypes,
/// attributes, fills: <see cref="OpTableInputs"/>), with the seed of its random inputs.
/// </summary>
public sealed record OpCase(string Op, string Line, int Seed)
{
    /// <summary>The parsed case (its inputs are made from the spec's port shapes and dtypes).</summary>
    public OpTableCase Parsed() => OpTableInputs.Parse(Op, Line).Single() with { Seed = Seed };
}

/// <summary>
/// op: every op of spec/ops.json, the oracle-only ("graph": false) ones included. Cases are lines of the op
/// table's syntax with FsCheck-chosen sizes (1, primes, non-multiples of every SIMD width 4/8/16 next to
/// multiples), weights in f32, bf16 and f16, Partial LoRA masks all/none/alternating/single/random, leading
/// dimensions, NaN and infinities in some rows, and for rms_norm rows of small magnitude with eps from 1e-2
/// to 1e-6 (so that where eps goes matters). Outputs are compared under the op's tolerance class refined by
/// the weight dtype. Shrinks every size symbol toward 1, drops leading dimensions, optional ports and special
/// values, and turns weights to f32; a candidate that breaks the spec's constraints is skipped.
/// </summary>
public sealed class OpSurface : Surface<OpCase>
{
    public override string Name => "op";
    public override int DefaultCases => 190; // 10 per op on average

    public override Gen<OpCase> Generator =>
        from op in Gen.Elements(OpCatalog.All.Select(o => o.Name).ToArray())
        from line in OpLines.For(op)
        from seed in Gen.Choose(0, 0xFFFF)
        select new OpCase(op, line, seed);

    public override IEnumerable<OpCase> Shrink(OpCase c)
    {
        var op = OpInvoker.Require(c.Op);
        var tokens = c.Line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (var t in Candidates(op, tokens))
        {
            var candidate = c with { Line = string.Join(' ', t) };
            if (Fits(candidate)) yield return candidate;
        }
    }

    /// <summary>Token lists one step smaller than <paramref name="tokens"/>.</summary>
    private static IEnumerable<string[]> Candidates(OpInfo op, string[] tokens)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            string t = tokens[i];
            int bang = t.IndexOf('!');
            if (t.StartsWith("LEAD=", StringComparison.Ordinal) || bang > 0) { yield return [.. tokens[..i], .. tokens[(i + 1)..]]; continue; }
            int eq = t.IndexOf('=');
            if (eq <= 0) continue;
            string key = t[..eq], value = t[(eq + 1)..];
            var port = op.Inputs.FirstOrDefault(p => p.Name == key);
            if (key == "dtype" || port is not null)
            {
                if (port is { Optional: true } && value != "none") yield return With(tokens, i, $"{key}=none");
                if (value is "bf16" or "f16") yield return With(tokens, i, $"{key}=f32");
                continue;
            }
            if (op.Attrs.Any(a => a.Name == key) || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long v)) continue;
            foreach (long smaller in new[] { 1, v / 2, v - 1 }.Distinct())
                if (smaller >= 1 && smaller < v) yield return With(tokens, i, $"{key}={smaller.ToString(CultureInfo.InvariantCulture)}");
            if (v == 1 && key is "TP" or "TC") yield return With(tokens, i, $"{key}=0");
        }
    }

    private static string[] With(string[] tokens, int i, string token) { var t = (string[])tokens.Clone(); t[i] = token; return t; }

    /// <summary>The line parses against the spec, and a matmul- or attention-class op has more than one output element
    /// (one element's NMSE is its squared relative error, which cancellation can push past the class's bar).</summary>
    public static bool Fits(OpCase c)
    {
        OpTableCase parsed;
        try { parsed = c.Parsed(); }
        catch (IxcException) { return false; }
        if (parsed.Op.Tolerance is not ("matmul" or "attention")) return true;
        return parsed.Op.Outputs.All(p => Shape.Numel(OpTableInputs.ShapeOf(p, parsed)) > 1);
    }

    /// <summary>Input elements (a KV cache counts its keys and values).</summary>
    public override long Size(OpCase c)
    {
        var p = c.Parsed();
        return p.Op.Inputs.Where(i => i.IsCache || p.DTypes[i.Name] is not null)
            .Sum(i => Shape.Numel(OpTableInputs.ShapeOf(i, p)) * (i.IsCache ? 2 : 1));
    }

    public override string Describe(OpCase c) => $"op {c.Op} [{c.Line}] seed {c.Seed} ({Size(c)} input elements)";

    public override JsonNode ToJson(OpCase c) => new JsonObject { ["op"] = c.Op, ["line"] = c.Line, ["seed"] = c.Seed };

    public override OpCase FromJson(JsonNode json)
    {
        var c = new OpCase((string?)json["op"] ?? throw new IxcException("op case: no 'op'"), (string?)json["line"] ?? throw new IxcException("op case: no 'line'"),
            Engine.RequestFields.Int(json["seed"], "seed"));
        OpInvoker.Require(c.Op);
        c.Parsed(); // a line that does not fit the spec is an error naming it
        return c;
    }

    public override PortRequest Prepare(OpCase c, string work)
    {
        var parsed = c.Parsed();
        SafetensorsWriter.Write(Path.Combine(work, "inputs.safetensors"), OpTableInputs.Make(parsed).Values,
            new Dictionary<string, string> { ["op"] = c.Op, ["case"] = c.Line });
        var attrs = new JsonObject();
        foreach (var a in parsed.Op.Attrs)
            if (parsed.Attrs.TryGetValue(a.Name, out var v)) attrs[a.Name] = AttrValue(a, v);
        return new PortRequest("op", work, new JsonObject { ["op"] = c.Op, ["attrs"] = attrs, ["inputs"] = "inputs.safetensors" });
    }

    /// <summary>An attribute as a typed JSON value (int, float, bool; anything else as text).</summary>
    private static JsonNode AttrValue(AttrInfo a, string text) => a.Type switch
    {
        "int" => JsonValue.Create(long.Parse(text, CultureInfo.InvariantCulture)),
        "float" => JsonValue.Create(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)),
        "bool" => JsonValue.Create(bool.Parse(text)),
        _ => JsonValue.Create(text),
    };

    /// <summary>The op's class refined by the case's weight dtype (spec/tolerances.json overrides).</summary>
    public override ToleranceInfo Tolerance(OpCase c, string tensor)
    {
        var p = c.Parsed();
        return Kit.ToleranceLookup.Class(p.Op.Tolerance, p.WeightDType);
    }
}
