namespace IXC25.Fuzz.Targets;

/// <summary>
/// The most bytes one execution of a target may allocate, as a function of the input's length n:
/// <c>Floor + PerInputByte * n + LimitBytes</c>. <see cref="Floor"/> covers the fixed work (messages, small tables,
/// the scratch file's path), <see cref="PerInputByte"/> what the parser may copy or build from each input byte,
/// and <see cref="LimitBytes"/> output that a documented limit bounds rather than the input (the image target
/// decodes up to its pixel limit from a few hundred bytes of PNG); <see cref="LimitReason"/> names that limit.
/// An execution over the budget breaks the contract (<see cref="AllocationBudgetExceededException"/>).
/// </summary>
public readonly record struct AllocationBudget(long Floor, long PerInputByte, long LimitBytes = 0, string? LimitReason = null)
{
    /// <summary>The budget in bytes for an input of <paramref name="inputLength"/> bytes.</summary>
    public long For(long inputLength) => checked(Floor + PerInputByte * inputLength + LimitBytes);

    /// <summary>The formula with its numbers, for messages and the README's table.</summary>
    public override string ToString() =>
        $"{Floor:N0} + {PerInputByte} x n" + (LimitBytes > 0 ? $" + {LimitBytes:N0} ({LimitReason})" : "");
}
