using IXC25.Tokenizer;

namespace IXC25.Generation.Chat;

/// <summary>
/// Turns the growing list of generated ids into text deltas for streaming. Each step decodes the whole
/// answer as upstream does and emits only the part that can no longer change: trailing whitespace waits
/// for the next token (the clean-up of spaces before punctuation may remove it) and so does a trailing
/// U+FFFD (an incomplete UTF-8 sequence of byte-fallback tokens). The concatenation of all deltas plus
/// <see cref="Finish"/> is exactly the final decoded answer.
/// </summary>
public sealed class TextStream(InternLM2Tokenizer tokenizer, Func<InternLM2Tokenizer, int[], string> decode)
{
    private readonly List<int> _ids = [];
    private string _emitted = "";

    public string Emitted => _emitted;

    /// <summary>Adds a token; returns the newly stable text (possibly empty).</summary>
    public string Add(int id)
    {
        _ids.Add(id);
        string full = decode(tokenizer, [.. _ids]);
        int stable = full.Length;
        while (stable > 0 && (char.IsWhiteSpace(full[stable - 1]) || full[stable - 1] == '\uFFFD')) stable--;
        if (stable <= _emitted.Length || !full.StartsWith(_emitted, StringComparison.Ordinal)) return "";
        string delta = full[_emitted.Length..stable];
        _emitted = full[..stable];
        return delta;
    }

    /// <summary>The rest of the final text (after all tokens are in).</summary>
    public string Finish(IReadOnlyList<int> finalIds)
    {
        string full = decode(tokenizer, [.. finalIds]);
        if (!full.StartsWith(_emitted, StringComparison.Ordinal)) return "";
        string rest = full[_emitted.Length..];
        _emitted = full;
        return rest;
    }
}
