using System.Globalization;
using IXC25.Runtime;

namespace IXC25.GpuCheck;

/// <summary>
/// The <c>--key value</c> options after a command. Each read names its default and, for numbers, its range; a value
/// that does not parse or lies outside, an option given twice or without a value, and an option the command does
/// not read (<see cref="Done"/>) are one-line errors (<see cref="IxcException"/>), never a clamp.
/// </summary>
internal sealed class CheckArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public CheckArgs(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) throw new IxcException($"unexpected argument '{a}' (options are --name value)");
            string key = a[2..];
            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal)) throw new IxcException($"option --{key} needs a value");
            if (!_values.TryAdd(key, args[++i])) throw new IxcException($"option --{key} given twice");
        }
    }

    /// <summary>A string option; when <paramref name="allowed"/> is given, one of them.</summary>
    public string Text(string key, string fallback, params string[] allowed)
    {
        _read.Add(key);
        if (!_values.TryGetValue(key, out var v)) return fallback;
        if (allowed.Length > 0 && !allowed.Contains(v, StringComparer.Ordinal))
            throw new IxcException($"--{key} {v}: expected one of {string.Join(", ", allowed)}");
        return v;
    }

    /// <summary>An optional string option (null when absent).</summary>
    public string? TextOrNull(string key)
    {
        _read.Add(key);
        return _values.GetValueOrDefault(key);
    }

    /// <summary>An integer option in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Int(string key, int fallback, int min, int max)
    {
        _read.Add(key);
        if (!_values.TryGetValue(key, out var v)) return fallback;
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n))
            throw new IxcException($"--{key} {v}: not an integer");
        if (n < min || n > max) throw new IxcException($"--{key} {v}: must be at least {min} and at most {max}");
        return (int)n;
    }

    /// <summary>An optional number option in (<paramref name="min"/>, <paramref name="max"/>] (null when absent).</summary>
    public double? PositiveOrNull(string key, double min, double max)
    {
        _read.Add(key);
        if (!_values.TryGetValue(key, out var v)) return null;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
            throw new IxcException($"--{key} {v}: not a number");
        if (x <= min || x > max) throw new IxcException($"--{key} {v}: must be greater than {min.ToString(CultureInfo.InvariantCulture)} and at most {max.ToString(CultureInfo.InvariantCulture)}");
        return x;
    }

    /// <summary>Throws for an option the command did not read.</summary>
    public void Done(string command)
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new IxcException($"{command}: unknown option --{unknown[0]} (see --help)");
    }
}
