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
    /// Runs one input through <paramref name="target"/> under the contract: returns null for a result,
    /// the message for an <see cref="IxcException"/> (which must have one); any other exception propagates.
    /// </summary>
    public static string? Run(IFuzzTarget target, ReadOnlySpan<byte> data)
    {
        try
        {
            target.Execute(data);
            return null;
        }
        catch (IxcException e)
        {
            if (string.IsNullOrWhiteSpace(e.Message))
                throw new InvalidOperationException($"{target.Name}: an IxcException without a message", e);
            return e.Message;
        }
    }
}
