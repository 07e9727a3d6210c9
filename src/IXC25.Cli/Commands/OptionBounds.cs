using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace IXC25.Cli.Commands;

/// <summary>The documented range of one numeric option: for help, docs/CLI-LIMITS.md and the table-driven test.</summary>
/// <param name="Text">The range in words ("at least 1 and at most 256"), as help and errors print it.</param>
/// <param name="Outside">Values just outside each bound (and each excluded value), as command-line tokens.</param>
/// <param name="Check">The error for a token (null when it is inside).</param>
internal sealed record OptionRange(string Text, IReadOnlyList<string> Outside, Func<string, string?> Check);

/// <summary>
/// Numeric options with documented bounds (issue 15): <c>.Within(min, max)</c> parses the token itself (any integer
/// or number, so one past the type's range is a bound error too), appends the range to the option's help and
/// registers it; a value outside is a parse error that <see cref="Cli.Run"/> prints as one line and exits 1 with,
/// never a clamp. <see cref="RangeOf"/> is how tests find every numeric option's bounds.
/// </summary>
internal static class OptionBounds
{
    private static readonly ConditionalWeakTable<Option, OptionRange> Ranges = new();

    public static OptionRange? RangeOf(Option o) => Ranges.TryGetValue(o, out var r) ? r : null;

    /// <summary>The numeric types an option may have (bare or nullable); an option of one of them must have a range.</summary>
    public static bool IsNumeric(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(int) || t == typeof(long) || t == typeof(ulong) || t == typeof(uint) || t == typeof(short)
            || t == typeof(double) || t == typeof(float) || t == typeof(decimal) || t == typeof(byte);
    }

    /// <summary>An integer option in [min, max], minus <paramref name="except"/>.</summary>
    public static Option<T> Within<T>(this Option<T> o, T min, T max, params T[] except) where T : struct, IBinaryInteger<T>
    {
        var b = new IntBound<T>(min, max, except);
        o.CustomParser = r => b.Parse(r, o.Name) ?? default;
        return Register(o, b.Text, b.Outside(), t => b.Error(t, o.Name));
    }

    /// <summary>An optional integer option (no value: the command's own default).</summary>
    /// <param name="upstream">The setting's name upstream (e.g. num_beams), named in the error.</param>
    public static Option<T?> WithinIfGiven<T>(this Option<T?> o, T min, T max, string? upstream = null) where T : struct, IBinaryInteger<T>
    {
        var b = new IntBound<T>(min, max, []);
        o.CustomParser = r => b.Parse(r, o.Name, upstream);
        return Register(o, b.Text, b.Outside(), t => b.Error(t, o.Name, upstream));
    }

    /// <summary>A number option between <paramref name="min"/> and <paramref name="max"/>, each bound included unless open; NaN is never inside.</summary>
    public static Option<double> Within(this Option<double> o, double min, double max, bool minOpen = false, bool maxOpen = false)
    {
        var b = new RealBound(min, max, minOpen, maxOpen);
        o.CustomParser = r => b.Parse(r, o.Name) ?? default;
        return Register(o, b.Text, b.Outside(), t => b.Error(t, o.Name));
    }

    public static Option<double?> WithinIfGiven(this Option<double?> o, double min, double max, bool minOpen = false, bool maxOpen = false, string? upstream = null)
    {
        var b = new RealBound(min, max, minOpen, maxOpen);
        o.CustomParser = r => b.Parse(r, o.Name, upstream);
        return Register(o, b.Text, b.Outside(), t => b.Error(t, o.Name, upstream));
    }

    /// <summary>
    /// The first token of a bounded option in <paramref name="parse"/> that is outside its range, as its error line;
    /// checked before any other parse error (the parser converts values lazily and may report a missing option first).
    /// </summary>
    public static string? FirstRangeError(ParseResult parse)
    {
        for (CommandResult? c = parse.CommandResult; c is not null; c = c.Parent as CommandResult)
            foreach (var o in c.Children.OfType<OptionResult>())
                if (RangeOf(o.Option) is { } range)
                    foreach (var t in o.Tokens)
                        if (range.Check(t.Value) is { } error) return error;
        return null;
    }

    private static TOption Register<TOption>(TOption o, string text, IReadOnlyList<string> outside, Func<string, string?> check) where TOption : Option
    {
        Ranges.AddOrUpdate(o, new OptionRange(text, outside, check));
        o.Description = (o.Description ?? "").TrimEnd() + $" [{text}]";
        return o;
    }

    private static string Upstream(string? name) => name is null ? "" : $"; upstream's {name}";

    private static string Token(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    private static string Num<T>(T v) where T : IFormattable => v.ToString(null, CultureInfo.InvariantCulture);

    private sealed class IntBound<T>(T min, T max, T[] except) where T : struct, IBinaryInteger<T>
    {
        public string Text => $"{(min == max ? $"exactly {Num(min)}" : $"at least {Num(min)} and at most {Num(max)}")}"
            + (except.Length > 0 ? $", not {string.Join(" or ", except.Select(e => Num(e)))}" : "");

        public IReadOnlyList<string> Outside() =>
            [(BigInteger.CreateChecked(min) - 1).ToString(CultureInfo.InvariantCulture), (BigInteger.CreateChecked(max) + 1).ToString(CultureInfo.InvariantCulture), .. except.Select(e => Num(e))];

        public string? Error(string s, string name, string? upstream = null)
        {
            if (!BigInteger.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                return $"{name} must be an integer {Text} (got '{s}'{Upstream(upstream)})";
            if (v < BigInteger.CreateChecked(min) || v > BigInteger.CreateChecked(max) || except.Any(e => BigInteger.CreateChecked(e) == v))
                return $"{name} must be {Text} (got {v.ToString(CultureInfo.InvariantCulture)}{Upstream(upstream)})";
            return null;
        }

        public T? Parse(ArgumentResult r, string name, string? upstream = null)
        {
            string s = Token(r);
            if (Error(s, name, upstream) is { } e)
            {
                r.AddError(e);
                return null;
            }
            return T.CreateChecked(BigInteger.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture));
        }
    }

    private sealed class RealBound(double min, double max, bool minOpen, bool maxOpen)
    {
        public string Text => $"{(minOpen ? "above" : "at least")} {Num(min)} and " + (max == double.MaxValue && !maxOpen ? "finite" : $"{(maxOpen ? "below" : "at most")} {Num(max)}");

        public IReadOnlyList<string> Outside() =>
            [Num(minOpen ? min : Math.BitDecrement(min)), Num(maxOpen ? max : Math.BitIncrement(max)), "NaN"];

        public string? Error(string s, string name, string? upstream = null)
        {
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                return $"{name} must be a number {Text} (got '{s}'{Upstream(upstream)})";
            bool aboveMin = minOpen ? v > min : v >= min, belowMax = maxOpen ? v < max : v <= max;
            return aboveMin && belowMax ? null : $"{name} must be {Text} (got {Num(v)}{Upstream(upstream)})";
        }

        public double? Parse(ArgumentResult r, string name, string? upstream = null)
        {
            string s = Token(r);
            if (Error(s, name, upstream) is { } e)
            {
                r.AddError(e);
                return null;
            }
            return double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
    }
}
