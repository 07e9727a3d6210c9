using IXC25.Runtime;

namespace IXC25.Generation.Decoding;

/// <summary>
/// When beam search stops (transformers 4.33 <c>early_stopping</c>, used by <c>BeamHypotheses.is_done</c>).
/// Nothing is decided before <c>num_beams</c> hypotheses have finished.
/// </summary>
public enum EarlyStopping
{
    /// <summary>HF <c>False</c> (the default): stop when the worst kept hypothesis scores at least the best
    /// running candidate's sum of log-probabilities divided by the current length ** length_penalty.</summary>
    Heuristic,
    /// <summary>HF <c>True</c>: stop as soon as num_beams hypotheses have finished.</summary>
    Immediate,
    /// <summary>HF <c>"never"</c>: like <see cref="Heuristic"/> but with the maximum length when
    /// length_penalty &gt; 0 (no better hypothesis can appear).</summary>
    Never,
}

/// <summary>
/// Decoding settings with transformers 4.33 <c>GenerationConfig</c> semantics. The defaults of a new
/// instance are HF's (greedy, top_k 50, top_p 1, no penalties, 20 new tokens, eos 2 as in the model's
/// config.json); <see cref="Chat"/>, <see cref="Write"/> and <see cref="Web"/> are what upstream's
/// <c>chat</c>, <c>write_artical</c> and <c>write_webpage</c> pass. Change fields with <c>with</c>.
/// Temperature, top-k and top-p only act when <see cref="DoSample"/> is set (HF builds its warpers only
/// for sampling); length penalty and early stopping only with beams.
/// </summary>
public sealed record GenerationConfig
{
    /// <summary>New tokens at most (HF max_new_tokens; with an embeddings prompt HF's max_length equals it).</summary>
    public int MaxNewTokens { get; init; } = 20;
    /// <summary>Sample (true) or take the best (false). With <see cref="NumBeams"/> &gt; 1: beam_sample / beam_search.</summary>
    public bool DoSample { get; init; }
    public int NumBeams { get; init; } = 1;
    /// <summary>Divides the scores before top-k/top-p (sampling only; 1 = off).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep the k best scores (sampling only; 0 = off). HF's default is 50 and upstream chat passes none, so 50 applies.</summary>
    public int TopK { get; init; } = 50;
    /// <summary>Keep the smallest set of best tokens whose probability exceeds top_p (sampling only; 1 = off).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>HF's rule over the generation ids (1 = off): positive scores divided, negative multiplied.</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Beam hypotheses score sum_logprobs / length ** LengthPenalty.</summary>
    public double LengthPenalty { get; init; } = 1.0;
    public EarlyStopping EarlyStopping { get; init; } = EarlyStopping.Heuristic;
    /// <summary>HF eos_token_id: generating one ends the sequence (kept in the output; a beam becomes a hypothesis).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [2];
    /// <summary>
    /// Upstream's <c>StoppingCriteriaSub</c> (write mode stops on 92542 this way): the search stops when the
    /// last token of the first sequence (beam 0) is one of these. Unlike an eos id it does not finish a beam.
    /// </summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    /// <summary>Seed of the sampling RNG (xoshiro256**); null draws one (reported in the result).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Stop ids of upstream's chat: tokenizer eos (2) and [UNUSED_TOKEN_145] (92542).</summary>
    public static IReadOnlyList<int> ChatEosTokenIds { get; } = [2, 92542];

    /// <summary>Upstream <c>chat()</c>: sampling, temperature 1, top_p 0.8, top_k 50 (HF default), repetition 1.005, 1 beam, 1024 new tokens, stop at 2 or 92542.</summary>
    public static GenerationConfig Chat { get; } = new()
    {
        MaxNewTokens = 1024, DoSample = true, NumBeams = 1, Temperature = 1.0, TopK = 50, TopP = 0.8,
        RepetitionPenalty = 1.005, EosTokenIds = ChatEosTokenIds,
    };

    /// <summary>
    /// Upstream <c>write_artical()</c>: sampling, temperature 1, top_p 0.8, top_k 40, repetition 1.005, 1 beam,
    /// length_penalty 1, eos 2 (the model's), a stopping criterion on 92542, and max_new_tokens =
    /// max_length (8192) - the prompt's untruncated length (<see cref="WriteMaxNewTokens"/>).
    /// </summary>
    public static GenerationConfig Write(int maxNewTokens) => new()
    {
        MaxNewTokens = maxNewTokens, DoSample = true, NumBeams = 1, Temperature = 1.0, TopK = 40, TopP = 0.8,
        RepetitionPenalty = 1.005, LengthPenalty = 1.0, EosTokenIds = [2], StopTokenIds = [92542],
    };

    /// <summary>write_artical's max_new_tokens: max_length - len_input_tokens (the prompt length before truncation).</summary>
    public static int WriteMaxNewTokens(int untruncatedPromptLength, int maxLength = 8192) => maxLength - untruncatedPromptLength;

    /// <summary>Upstream <c>write_webpage()</c>: beam sampling with 2 beams, temperature 1, top_k 50, top_p 1, repetition 3.0, 4800 new tokens, eos 2 (the model's).</summary>
    public static GenerationConfig Web { get; } = new()
    {
        MaxNewTokens = 4800, DoSample = true, NumBeams = 2, Temperature = 1.0, TopK = 50, TopP = 1.0,
        RepetitionPenalty = 3.0, EosTokenIds = [2],
    };

    /// <summary>The decoding strategy 4.33's generate() picks.</summary>
    public DecodingMode Mode => (NumBeams, DoSample) switch
    {
        (1, false) => DecodingMode.Greedy,
        (1, true) => DecodingMode.Sample,
        (_, false) => DecodingMode.BeamSearch,
        _ => DecodingMode.BeamSample,
    };

    /// <summary>
    /// Checks every setting the chosen strategy uses (as HF validates its processors when it builds them);
    /// throws <see cref="IxcException"/> naming the setting. <paramref name="vocabSize"/> bounds token ids.
    /// </summary>
    public void Validate(int vocabSize)
    {
        if (MaxNewTokens < 1) throw new IxcException($"max_new_tokens must be at least 1 (got {MaxNewTokens})");
        if (NumBeams < 1) throw new IxcException($"num_beams must be at least 1 (got {NumBeams})");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty))
            throw new IxcException($"repetition_penalty must be a positive number (got {RepetitionPenalty})");
        if (DoSample)
        {
            if (!(Temperature > 0) || double.IsInfinity(Temperature))
                throw new IxcException($"temperature must be a positive number when sampling (got {Temperature})");
            if (TopK < 0) throw new IxcException($"top_k must be 0 (off) or positive (got {TopK})");
            if (!(TopP >= 0 && TopP <= 1)) throw new IxcException($"top_p must be between 0 and 1 (got {TopP})");
        }
        if (NumBeams > 1 && !double.IsFinite(LengthPenalty))
            throw new IxcException($"length_penalty must be a finite number (got {LengthPenalty})");
        foreach (var id in EosTokenIds.Concat(StopTokenIds))
            if (id < 0 || id >= vocabSize) throw new IxcException($"stop token id {id} is outside the vocabulary of {vocabSize}");
    }
}

/// <summary>The four strategies of transformers 4.33 generate() that IXC-2.5 reaches.</summary>
public enum DecodingMode { Greedy, Sample, BeamSearch, BeamSample }
