using IXC25.Conformance.Protocol;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Spec;

namespace IXC25.Conformance.Kit;

/// <summary>Tolerance classes of spec/tolerances.json as the surfaces name them (compiled in: <see cref="ToleranceTable"/>).</summary>
public static class ToleranceLookup
{
    public static ToleranceInfo Class(string name, string? dtype = null) =>
        ToleranceTable.Find(name) is null ? throw new IxcException($"tolerance class '{name}' is not in spec/tolerances.json")
            : ToleranceTable.Set.Get(name, dtype);

    /// <summary>The class spec/port.json names for an output tensor ({..} in a name matches any text).</summary>
    public static ToleranceInfo ForSchemaTensor(SurfaceSchema schema, string tensor)
    {
        foreach (var t in schema.Tensors)
            if (Matches(t.Name, tensor)) return Class(t.Tolerance);
        throw new IxcException($"surface {schema.Name}: spec/port.json lists no tensor '{tensor}'");
    }

    public static bool Matches(string pattern, string name)
    {
        if (!pattern.Contains('{')) return pattern == name;
        var rx = "^" + System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Escape(pattern), @"\\\{[A-Za-z_]+}", ".+") + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(name, rx);
    }
}
