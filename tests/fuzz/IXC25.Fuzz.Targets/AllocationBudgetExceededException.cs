namespace IXC25.Fuzz.Targets;

/// <summary>
/// One execution allocated more than its target's <see cref="AllocationBudget"/>: the contract's allocation
/// clause is broken. Deliberately not an IxcException, so it escapes <see cref="FuzzTargets.Run"/> (afl-fuzz
/// records a crash, the replay test fails) whether the input was accepted or refused.
/// </summary>
public sealed class AllocationBudgetExceededException(string target, long inputLength, Allocation measured, AllocationBudget budget)
    : Exception($"{target}: an input of {inputLength:N0} bytes allocated {measured.Bytes:N0} bytes ({measured}), " +
                $"over its budget of {budget.For(inputLength):N0} bytes ({budget})")
{
    public string Target { get; } = target;
    public long InputLength { get; } = inputLength;
    public Allocation Measured { get; } = measured;
    public long Budget { get; } = budget.For(inputLength);
}
