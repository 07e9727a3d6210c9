using IXC25.Generation.Decoding;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Generation.Chat;

/// <summary>A finished answer with everything a caller may want to report.</summary>
/// <param name="Text">The answer, decoded as upstream does for the mode.</param>
/// <param name="Generation">Tokens, why generation stopped, seed, timings.</param>
/// <param name="Prompt">The prompt layout (positions, image spans, truncation).</param>
/// <param name="ImageEncoding">Time spent in the vision tower.</param>
/// <param name="LanguageModelPrefill">Time spent in the decoder prefill.</param>
public sealed record ChatReply(string Text, GenerationResult Generation, PromptLayout Prompt, TimeSpan ImageEncoding, TimeSpan LanguageModelPrefill)
{
    public bool Cancelled => Generation.Finish == FinishReason.Cancelled;
}
