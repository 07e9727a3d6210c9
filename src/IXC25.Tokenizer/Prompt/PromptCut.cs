using System.Globalization;

namespace IXC25.Tokenizer.Prompt;

/// <summary>
/// What happened to a prompt longer than max_length, in one line for stderr (issue 15). Upstream's
/// <c>interleav_wrap_chat</c> neither refuses nor warns: it keeps the first max_length positions of the embedded
/// sequence (an image may be cut in the middle; everything after the cut, the question and the start of the
/// assistant turn included, is lost) and generates from them. This engine does the same and says so, naming
/// where the cut falls; when it falls inside an image, the images alone fill the window and the model sees no
/// question at all. Every command that builds a chat prompt prints it (chat, trace, prompt).
/// </summary>
public static class PromptCut
{
    /// <summary>The warning for <paramref name="layout"/>, or null when nothing was cut.</summary>
    public static string? Warning(PromptLayout layout)
    {
        if (!layout.Truncated) return null;
        var ci = CultureInfo.InvariantCulture;
        string where = layout.Segments.Count == 0 ? "before the first segment" : layout.Segments[^1] switch
        {
            ImageSegment i when i.Length < i.Tokens => string.Create(ci,
                $"inside image {i.Index + 1} ({i.Name}) after {i.Length:N0} of its {i.Tokens:N0} positions: the images alone fill max_length and the model sees none of the text after them, the question included"),
            ImageSegment i => string.Create(ci, $"right after image {i.Index + 1} ({i.Name}): the model sees none of the text after it, the question included"),
            TextSegment => "inside the text: the end of the prompt (the start of the assistant turn, perhaps part of the question) is lost",
            _ => "",
        };
        return string.Create(ci,
            $"warning: the prompt has {layout.UntruncatedLength:N0} positions and is cut to max_length {layout.TotalLength:N0}, as upstream does (no error there either); the cut falls {where}");
    }
}
