using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Spec;

/// <summary>An op input or output as declared in spec/ops.json.</summary>
/// <param name="Shape">Dimensions as spec text ("T", "(H + 2 * HKV) * D").</param>
/// <param name="Inout">Updated in place by the op.</param>
/// <param name="IsCache">A backend KV cache object (dtype "kv"), not a tensor; <see cref="DTypes"/> is empty.</param>
public sealed record PortInfo(string Name, DType[] DTypes, string[] Shape, bool Optional, bool Inout = false, bool IsCache = false)
{
    public override string ToString() =>
        $"{Name}: {(IsCache ? "kv" : string.Join("|", DTypes.Select(d => d.SpecName())))}[{string.Join(", ", Shape)}]{(Optional ? " (optional)" : "")}{(Inout ? " (in/out)" : "")}";
}

/// <summary>An op attribute: type is int, float, bool or string; Default is null when required.</summary>
public sealed record AttrInfo(string Name, string Type, string? Default, string Doc);

/// <summary>An op of spec/ops.json.</summary>
public sealed record OpInfo(string Name, string Doc, PortInfo[] Inputs, PortInfo[] Outputs, AttrInfo[] Attrs,
    IReadOnlyDictionary<string, string> SymbolAttrs, string Accum, string Tolerance, string? KernelPattern);

/// <summary>A trace tap of spec/model.json: a name pattern with {k}/{l}/{i} placeholders.</summary>
public sealed record TapInfo(string Pattern, DType DType, string[] Shape, string Tolerance, string Doc)
{
    /// <summary>True when <paramref name="name"/> is an instance of this pattern (placeholders match digits).</summary>
    public bool Matches(string name) => Patterns.GetOrAdd(Pattern, p => new System.Text.RegularExpressions.Regex(
        "^" + System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Escape(p), @"\\\{[A-Za-z_]+}", "[0-9]+") + "$")).IsMatch(name);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Text.RegularExpressions.Regex> Patterns = new();
}

/// <summary>A tolerance class of spec/tolerances.json.</summary>
public sealed record ToleranceInfo(string Name, double Atol, double Rtol, double Nmse, string Reason)
{
    /// <summary>Extra absolute slack per position for tables indexed by position (rope: the class's atol at
    /// position p is <c>Atol + AtolPerPosition * p</c>); 0 for every other class.</summary>
    public double AtolPerPosition { get; init; }

    /// <summary>This class with the absolute tolerance of position <paramref name="position"/>.</summary>
    public ToleranceInfo AtPosition(long position) => AtolPerPosition == 0 ? this : this with { Atol = Atol + AtolPerPosition * position, AtolPerPosition = 0 };
}
