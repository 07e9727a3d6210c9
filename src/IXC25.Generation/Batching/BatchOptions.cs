namespace IXC25.Generation.Batching;

/// <summary>
/// How a <see cref="Chat.ChatEngine"/> shares decode steps between concurrent requests.
/// </summary>
/// <param name="MaxBatch">Most sequences decoded together in one pass over the weights. 1 (the default) keeps the
/// engine's serialized behaviour exactly: one request at a time, under one lock, as before batching existed. Above 1 a
/// <see cref="DecodeScheduler"/> thread owns the model; concurrent requests are prefilled in turns and decoded together.
/// Either way each request's tokens and logits are bit-identical to the same request run alone on a fresh engine.</param>
/// <param name="GatherWindow">How long the scheduler waits, after a step, for the other decoding requests to submit their
/// next token before it runs a smaller batch (their sampling and streaming happen between steps). Default 20 ms: small
/// next to a 7B decode step (hundreds of ms on a CPU), and a request that stays away longer (a slow stream reader, a
/// cancelled request) never holds the others up for more than this.</param>
public sealed record BatchOptions(int MaxBatch = 1, TimeSpan? GatherWindow = null)
{
    /// <summary>Serialized: one request at a time (MaxBatch 1).</summary>
    public static BatchOptions Serialized { get; } = new();

    /// <summary>The gather window in effect.</summary>
    public TimeSpan Gather => GatherWindow ?? TimeSpan.FromMilliseconds(20);

    internal void Validate()
    {
        if (MaxBatch < 1) throw new Runtime.IxcException($"batch: MaxBatch {MaxBatch} must be at least 1");
        if (Gather < TimeSpan.Zero) throw new Runtime.IxcException($"batch: GatherWindow {Gather} must not be negative");
    }
}

/// <summary>One batched decode step the scheduler ran: how many sequences, of which task mode, and how long it took.</summary>
public readonly record struct BatchStep(int Size, string Mode, TimeSpan Elapsed);
