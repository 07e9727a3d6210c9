using IXC25.Runtime;

namespace IXC25.Fuzz.Targets;

/// <summary>
/// One parser that reads outside data, driven by arbitrary bytes. The contract every target asserts
/// (issue 15): the input yields a result or an <see cref="IxcException"/>; any other exception escapes
/// <see cref="FuzzTargets.Run"/> (AFL records a crash, the replay test fails). Hangs are caught by the
/// caller's time limit (afl-fuzz -t, the replay test's per-file limit). One execution allocates at most
/// <see cref="Budget"/> for its input's length, else <see cref="FuzzTargets.Run"/> throws
/// <see cref="AllocationBudgetExceededException"/>.
/// </summary>
public interface IFuzzTarget
{
    /// <summary>The name scripts/fuzz.sh and the corpus folders use (tests/fuzz/corpus/NAME).</summary>
    string Name { get; }

    /// <summary>What the input bytes are and which entry points they go through.</summary>
    string Description { get; }

    /// <summary>The most one execution may allocate, by input length; each target's doc says why its numbers.</summary>
    AllocationBudget Budget { get; }

    /// <summary>Parses <paramref name="data"/> and consumes the result fully; throws IxcException on a refused input.</summary>
    void Execute(ReadOnlySpan<byte> data);
}
