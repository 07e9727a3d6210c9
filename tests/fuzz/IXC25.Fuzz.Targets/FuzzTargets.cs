using IXC25.Runtime;

namespace IXC25.Fuzz.Targets;

/// <summary>Every fuzz target, by name, and the contract check around one input.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<IFuzzTarget> All { get; } =
    [
        new SafetensorsTarget(),
        new TorchZipTarget(),
        new ConfigTarget(),
        new SentencePieceTarget(),
        new ImageTarget(),
        new CompareTarget(),
        new PortRequestTarget(),
        new VideoProbeTarget(),
        new ServerRequestTarget(),
    ];

    public static IFuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>
    /// Runs <paramref name="inputs"/> through <paramref name="target"/> once, unmeasured and with every outcome ignored,
    /// so that what a process does once (JIT-time objects, lazily loaded spec tables, the port's tokenizer: up to
    /// 20 MiB on port-request's first input) is not charged to the first measured input. The AFL driver warms on the
    /// target's seeds before fuzzing, the replay test before replaying; a verdict comes from the measured run after.
    /// </summary>
    public static void Warm(IFuzzTarget target, IEnumerable<byte[]> inputs)
    {
        foreach (var input in inputs)
        {
#pragma warning disable CA1031 // warming only: the measured run that follows reports whatever this input does
            try { target.Execute(input); }
            catch (Exception) { }
#pragma warning restore CA1031
        }
    }

    /// <summary>
    /// Runs one input through <paramref name="target"/> under the contract: returns null for a result,
    /// the message for an <see cref="IxcException"/> (which must have one); any other exception propagates, and
    /// an execution that allocated more than the target's <see cref="IFuzzTarget.Budget"/> for this input's length
    /// (accepted or refused) throws <see cref="AllocationBudgetExceededException"/>.
    /// </summary>
    public static string? Run(IFuzzTarget target, ReadOnlySpan<byte> data) => Run(target, data, out _);

    /// <inheritdoc cref="Run(IFuzzTarget, ReadOnlySpan{byte})"/>
    /// <param name="allocated">What the execution allocated (<see cref="AllocationMeter"/>).</param>
    public static string? Run(IFuzzTarget target, ReadOnlySpan<byte> data, out Allocation allocated)
    {
        string? verdict;
        var meter = AllocationMeter.Start();
        try
        {
            try
            {
                target.Execute(data);
                verdict = null;
            }
            catch (IxcException e)
            {
                if (string.IsNullOrWhiteSpace(e.Message))
                    throw new InvalidOperationException($"{target.Name}: an IxcException without a message", e);
                verdict = e.Message;
            }
        }
        finally
        {
            allocated = meter.Stop();
        }
        if (allocated.Bytes > target.Budget.For(data.Length))
            throw new AllocationBudgetExceededException(target.Name, data.Length, allocated, target.Budget);
        return verdict;
    }
}
