using System;
using System.Collections.Generic;
using System.Globalization;
using IXC25.Generators.Json;

namespace IXC25.Generators.Spec;

/// <summary>Typed access to JSON members that reports problems as located diagnostics.</summary>
internal sealed class SpecReader
{
    public SpecReader(string path) { Path = path; }

    public string Path { get; }
    public List<DiagnosticInfo> Diagnostics { get; } = new();
    public bool HasErrors => Diagnostics.Count > 0;

    public static readonly HashSet<string> DTypes = new(StringComparer.Ordinal)
        { "f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool" };

    public void Report(string id, string message, SourceSpan span) =>
        Diagnostics.Add(new DiagnosticInfo(id, message, Path, span.Start, span.Length, span.Line, span.Column, span.EndLine, span.EndColumn));

    public void Report(string id, string message, JsonValue at) => Report(id, message, at.Span);

    public JsonValue? Member(JsonValue obj, string key, string context, bool required = true)
    {
        var v = obj[key];
        if (v is null && required) Report("IXC0002", $"{context}: missing '{key}'", obj);
        return v;
    }

    public string? String(JsonValue obj, string key, string context, bool required = true)
    {
        var v = Member(obj, key, context, required);
        if (v is null) return null;
        if (v.Kind != JsonKind.String) { Report("IXC0003", $"{context}: '{key}' must be a string, found {v.Describe()}", v); return null; }
        return v.StringValue;
    }

    public List<JsonValue> Array(JsonValue obj, string key, string context, bool required = true)
    {
        var v = Member(obj, key, context, required);
        if (v is null) return new List<JsonValue>();
        if (v.Kind != JsonKind.Array) { Report("IXC0003", $"{context}: '{key}' must be an array, found {v.Describe()}", v); return new List<JsonValue>(); }
        return v.Items;
    }

    public JsonValue? Object(JsonValue obj, string key, string context, bool required = true)
    {
        var v = Member(obj, key, context, required);
        if (v is null) return null;
        if (v.Kind != JsonKind.Object) { Report("IXC0003", $"{context}: '{key}' must be an object, found {v.Describe()}", v); return null; }
        return v;
    }

    public bool Bool(JsonValue obj, string key, string context, bool fallback)
    {
        var v = Member(obj, key, context, required: false);
        if (v is null) return fallback;
        if (v.Kind != JsonKind.Bool) { Report("IXC0003", $"{context}: '{key}' must be true or false, found {v.Describe()}", v); return fallback; }
        return v.BoolValue;
    }

    public double? Number(JsonValue obj, string key, string context, bool required = true)
    {
        var v = Member(obj, key, context, required);
        if (v is null) return null;
        if (v.Kind != JsonKind.Number) { Report("IXC0003", $"{context}: '{key}' must be a number, found {v.Describe()}", v); return null; }
        return v.NumberValue;
    }

    public bool ExpectObject(JsonValue v, string context)
    {
        if (v.Kind == JsonKind.Object) return true;
        Report("IXC0003", $"{context} must be an object, found {v.Describe()}", v);
        return false;
    }

    /// <summary>Checks "schema": 1 at the top of a spec file.</summary>
    public void Schema(JsonValue root, string file)
    {
        var v = Member(root, "schema", file);
        if (v is null) return;
        if (v.Kind != JsonKind.Number || !v.IsInteger || v.NumberValue != 1)
            Report("IXC0015", $"{file}: schema {(v.Kind == JsonKind.Number ? v.RawNumber : v.Describe())} is not supported (this generator reads schema 1)", v);
    }

    /// <summary>A shape: array of integers and expression strings. Returns the dimension texts.</summary>
    /// <param name="allowFold">op ports: a string "..." (<see cref="FoldDim"/>) is kept as is (OpsParser checks where it stands).</param>
    /// <summary>The leading dimension of an op port that folds any leading dimensions into the next one (spec/README.md).</summary>
    public const string FoldDim = "...";

    public List<string> Shape(JsonValue owner, string key, string context, Func<string, bool> symbolKnown, bool allowFold = false)
    {
        var dims = new List<string>();
        foreach (var d in Array(owner, key, context))
        {
            if (d.Kind == JsonKind.Number)
            {
                if (!d.IsInteger || d.NumberValue < 0) { Report("IXC0003", $"{context}: shape dimension {d.RawNumber} must be a non-negative integer", d); continue; }
                dims.Add(d.RawNumber!);
            }
            else if (d.Kind == JsonKind.String)
            {
                var text = d.StringValue!;
                if (allowFold && text == FoldDim) { dims.Add(text); continue; }
                if (ParseExpr(text, d, context) is { } e)
                {
                    foreach (var id in e.Identifiers())
                        if (!symbolKnown(id)) Report("IXC0005", $"{context}: shape uses unknown symbol '{id}'", d);
                    foreach (var c in e.Calls())
                        Report("IXC0009", $"{context}: shape expression '{text}' may not call functions ('{c.Name}')", d);
                }
                dims.Add(text);
            }
            else Report("IXC0003", $"{context}: shape dimensions must be integers or expression strings, found {d.Describe()}", d);
        }
        return dims;
    }

    public Expr? ParseExpr(string text, JsonValue at, string context)
    {
        try { return Expr.Parse(text); }
        catch (FormatException e)
        {
            Report("IXC0009", $"{context}: cannot parse expression '{text}': {e.Message}", at);
            return null;
        }
    }

    /// <summary>dtype: a string or an array of strings, each a known dtype.</summary>
    public List<string> DTypeList(JsonValue owner, string key, string context, bool allowKv = false)
    {
        var result = new List<string>();
        var v = Member(owner, key, context);
        if (v is null) return result;
        var items = v.Kind == JsonKind.Array ? v.Items : new List<JsonValue> { v };
        foreach (var item in items)
        {
            if (item.Kind != JsonKind.String) { Report("IXC0003", $"{context}: dtype must be a string or an array of strings", item); continue; }
            if (allowKv && item.StringValue == "kv") { result.Add("kv"); continue; }
            if (!DTypes.Contains(item.StringValue!)) { Report("IXC0004", $"{context}: unknown dtype '{item.StringValue}' (known: {string.Join(", ", DTypes)})", item); continue; }
            result.Add(item.StringValue!);
        }
        if (v.Kind == JsonKind.Array && v.Items.Count == 0) Report("IXC0003", $"{context}: dtype list is empty", v);
        return result;
    }

    public static string Invariant(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
