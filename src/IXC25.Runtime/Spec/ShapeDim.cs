using System.Globalization;

namespace IXC25.Runtime.Spec;

/// <summary>One expected dimension of a parameter: a known size, or a free symbol (e.g. a task LoRA
/// rank) whose value is read from the checkpoint and must agree everywhere it appears.</summary>
public readonly record struct ShapeDim(long Value, string? Free)
{
    public static ShapeDim Of(long value) => new(value, null);
    public static ShapeDim FreeSymbol(string name) => new(-1, name);
    public bool IsFree => Free is not null;
    public override string ToString() => IsFree ? Free! : Value.ToString(CultureInfo.InvariantCulture);

    public static string Format(IReadOnlyList<ShapeDim> dims) => "[" + string.Join(", ", dims.Select(d => d.ToString())) + "]";
}

/// <summary>A parameter the spec expects, resolved for one configuration.</summary>
/// <param name="Path">Position in the typed tree, e.g. "llm.layers[3].wqkv.weight".</param>
/// <param name="Key">Checkpoint tensor name, e.g. "model.layers.3.attention.wqkv.weight".</param>
/// <param name="Shape">Expected shape.</param>
/// <param name="ShapeText">The shape in spec symbols, e.g. "[QKV, C]", for error messages.</param>
/// <param name="Group">Optional group the parameter belongs to (all or none of a group must be present), or null.</param>
/// <param name="Unused">Present in the checkpoint but never used by the forward pass (e.g. post_layernorm).</param>
public sealed record ParamInfo(string Path, string Key, ShapeDim[] Shape, string ShapeText, string? Group, bool Unused)
{
    public long? Numel
    {
        get
        {
            long n = 1;
            foreach (var d in Shape)
            {
                if (d.IsFree) return null;
                n = checked(n * d.Value);
            }
            return n;
        }
    }
}

/// <summary>Integer arithmetic for spec shape expressions: division must be exact.</summary>
public static class SpecMath
{
    public static long Div(long a, long b, string what)
    {
        if (b == 0 || a % b != 0) throw new IxcException($"model config is inconsistent: {what} needs {a} to be divisible by {b}");
        return a / b;
    }

    public static int Div(int a, int b, string what) => checked((int)Div((long)a, b, what));

    /// <summary>
    /// A derived dimension of the config (<paramref name="what"/> is "NAME = expression"): the value of
    /// <paramref name="value"/>, evaluated in checked 64-bit arithmetic, which must fit a 32-bit dimension.
    /// An overflow is the config's fault (huge sizes), so it is an <see cref="IxcException"/>, not an OverflowException.
    /// </summary>
    public static int Dim(Func<long> value, string what)
    {
        long v;
        try { v = value(); }
        catch (OverflowException) { throw new IxcException($"model config is inconsistent: {what} overflows 64-bit arithmetic"); }
        if (v is < int.MinValue or > int.MaxValue) throw new IxcException($"model config is inconsistent: {what} = {v} does not fit a 32-bit dimension");
        return (int)v;
    }
}
