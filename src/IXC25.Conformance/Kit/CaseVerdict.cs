using IXC25.Runtime.Compare;

namespace IXC25.Conformance.Kit;

/// <summary>How one case ended.</summary>
public enum Outcome
{
    /// <summary>The port agrees with the reference (same outputs within tolerance, or both refuse).</summary>
    Pass,
    /// <summary>The port disagrees, refuses where the reference answers, fails, hangs or writes garbage.</summary>
    Fail,
    /// <summary>The port answers where the reference refuses (reported, not a failure unless --strict).</summary>
    Lenient,
}

/// <summary>One output tensor's comparison.</summary>
public sealed record TensorStat(string Tensor, string Class, CompareResult Stats);

/// <summary>The verdict of one case: outcome, the lines that say why, the tensors compared, the outputs the port did not produce.</summary>
public sealed record CaseVerdict(Outcome Outcome, IReadOnlyList<string> Problems, IReadOnlyList<TensorStat> Tensors, IReadOnlyList<string> NotCovered)
{
    public string Summary => Problems.Count == 0 ? "ok" : Problems[0] + (Problems.Count > 1 ? $" (and {Problems.Count - 1} more)" : "");

    /// <summary>
    /// The surface's own name for this failure's kind (<see cref="Surfaces.ISurface.FailureKind"/>), when it
    /// tells failures apart more finely than the problem text (tokenize: every difference reads "ids differs").
    /// </summary>
    public string? SurfaceKind { get; init; }

    /// <summary>The kind of failure, for grouping: the surface's kind, else the first problem with numbers and quoted text removed.</summary>
    public string Kind => SurfaceKind ?? (Problems.Count == 0 ? "" : System.Text.RegularExpressions.Regex.Replace(Problems[0], @"(\d+(\.\d+)?(e[-+]?\d+)?)|('[^']*')|(\[[^\]]*\])", "#").Split(':')[0]);
}
