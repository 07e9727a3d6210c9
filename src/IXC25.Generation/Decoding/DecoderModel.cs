namespace IXC25.Generation.Decoding;

/// <summary>
/// What the decoding loops need from a language model and one prompt: run the prompt once, then extend
/// sequences token by token. <see cref="Ixc25Decoder"/> adapts <c>Ixc25Model</c>; tests use small fakes.
/// </summary>
public interface IDecoderModel
{
    /// <summary>V: the length of a logits row.</summary>
    int VocabSize { get; }

    /// <summary>
    /// The generation ids transformers starts from: EMPTY for an embeddings prompt (upstream's
    /// interleav_wrap_chat path, used by chat with images or with its default image=[]), the prompt ids for
    /// an input_ids prompt (build_inputs, chat(image=None)). They count for the repetition penalty, the
    /// length of beam hypotheses and max_length; they are never part of the returned tokens.
    /// </summary>
    IReadOnlyList<int> PromptInputIds { get; }

    /// <summary>Runs the prompt into a new sequence and writes the last position's logits [V] into <paramref name="logits"/>.</summary>
    IDecoderSequence Prefill(Span<float> logits);
}

/// <summary>
/// One sequence's model state (the KV cache of the prompt and the tokens fed so far). Beam search keeps
/// one per beam.
/// </summary>
public interface IDecoderSequence
{
    /// <summary>Positions held (prompt + tokens fed).</summary>
    int Length { get; }

    /// <summary>Feeds <paramref name="token"/> at the next position (a generated token: im_mask false) and writes its logits [V].</summary>
    void Step(int token, Span<float> logits);

    /// <summary>An independent copy.</summary>
    IDecoderSequence Fork();

    /// <summary>Makes this sequence a copy of <paramref name="source"/> (same model), reusing this one's storage.</summary>
    void CopyFrom(IDecoderSequence source);
}

/// <summary>
/// A sequence whose backend can pick greedy decoding's next token where the logits are (an accelerator: the logits row
/// stays on the device and one index comes back). Used only when no logits processor or warper needs the row on the
/// host; the choice equals the host's argmax of the same row.
/// </summary>
public interface IDeviceGreedyStep
{
    /// <summary>Whether this sequence's backend picks the token on the device.</summary>
    bool CanArgMaxOnDevice { get; }

    /// <summary>Feeds <paramref name="token"/> at the next position and returns the first index of its largest logit.</summary>
    int StepArgMax(int token);
}
