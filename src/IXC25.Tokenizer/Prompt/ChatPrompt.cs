using System.Text;
using IXC25.Runtime;

namespace IXC25.Tokenizer.Prompt;

/// <summary>One earlier exchange of the conversation: the user's question and the assistant's answer.</summary>
public sealed record ChatTurn(string User, string Assistant);

/// <summary>How many LLM positions an image occupies, and its crop grid (rows h, columns w).</summary>
public readonly record struct ImageTokens(int Count, int GridRows, int GridCols);

/// <summary>
/// An image of the prompt. The token count depends on hd_num, which the prompt decides (24 for a single
/// image, 6 each when there are several), so the caller supplies a function of hd_num; this keeps the
/// tokenizer free of image code (the CLI uses IXC25.Vision's HdPartition).
/// </summary>
/// <param name="Name">A label for the layout (the file path).</param>
/// <param name="TokensFor">hd_num → the image's token count and grid.</param>
public sealed record PromptImage(string Name, Func<int, ImageTokens> TokensFor);

/// <summary>A run of positions of the LLM input sequence.</summary>
/// <param name="Start">First position.</param>
/// <param name="Length">Number of positions kept (after truncation at max_length).</param>
public abstract record PromptSegment(int Start, int Length)
{
    public int End => Start + Length;
}

/// <summary>Text positions: token ids (already cut at max_length), and the text they came from.</summary>
public sealed record TextSegment(int Start, IReadOnlyList<int> Ids, string Text) : PromptSegment(Start, Ids.Count);

/// <summary>
/// Image positions (im_mask true). <paramref name="Tokens"/> is the image's full token count;
/// <see cref="PromptSegment.Length"/> is smaller only when max_length cut the image.
/// </summary>
public sealed record ImageSegment(int Start, int Length, int Index, string Name, int Tokens, int GridRows, int GridCols, int HdNum)
    : PromptSegment(Start, Length);

/// <summary>
/// The LLM input of one chat call: the segments in order, the sequence length T after truncation,
/// and the image position ranges (where im_mask is true).
/// </summary>
/// <param name="Segments">Text and image segments in sequence order, cut at max_length.</param>
/// <param name="TotalLength">T, the number of positions fed to the LLM (at most max_length).</param>
/// <param name="UntruncatedLength">Upstream's <c>temp_len</c>: positions produced before the cut. Upstream
/// stops after the part that crosses max_length, so later parts are not counted.</param>
/// <param name="PromptText">The prompt text, with its <c>&lt;ImageHere&gt;</c> markers.</param>
public sealed record PromptLayout(IReadOnlyList<PromptSegment> Segments, int TotalLength, int UntruncatedLength, string PromptText)
{
    public bool Truncated => UntruncatedLength > TotalLength;

    /// <summary>Half-open [start, end) ranges of image positions.</summary>
    public IReadOnlyList<(int Start, int End)> ImageRanges =>
        [.. Segments.OfType<ImageSegment>().Where(s => s.Length > 0).Select(s => (s.Start, s.End))];

    /// <summary>im_mask [T]: true at image positions.</summary>
    public bool[] ImMask()
    {
        var mask = new bool[TotalLength];
        foreach (var (s, e) in ImageRanges) Array.Fill(mask, true, s, e - s);
        return mask;
    }
}

/// <summary>
/// The IXC-2.5 chat prompt, exactly as upstream's <c>chat</c> builds it
/// (modeling_internlm_xcomposer2.py: <c>interleav_wrap_chat</c> when images are given, including the
/// default <c>image=[]</c>; <c>build_inputs</c> when <c>image=None</c>).
/// </summary>
public static class ChatPrompt
{
    /// <summary>Where an image goes in the prompt text.</summary>
    public const string ImageMarker = "<ImageHere>";

    /// <summary><c>interleav_wrap_chat</c>'s max_length default.</summary>
    public const int DefaultMaxLength = 16384;

    /// <summary>chat's hd_num default (one image).</summary>
    public const int DefaultHdNum = 24;

    /// <summary>hd_num per image when there is more than one image (fixed by upstream, whatever hd_num was passed).</summary>
    public const int MultiImageHdNum = 6;

    /// <summary>The meta instruction upstream's <c>chat</c> uses when <c>use_meta=True</c>.</summary>
    public const string DefaultMetaInstruction =
        "You are an AI assistant whose name is InternLM-XComposer (浦语·灵笔).\n"
        + "- InternLM-XComposer (浦语·灵笔) is a multi-modality conversational language model that is developed by Shanghai AI Laboratory (上海人工智能实验室). It is designed to be helpful, honest, and harmless.\n"
        + "- InternLM-XComposer (浦语·灵笔) can understand and communicate fluently in the language chosen by the user such as English and 中文.\n"
        + "- InternLM-XComposer (浦语·灵笔) is capable of comprehending and articulating responses effectively based on the provided image.";

    /// <summary>
    /// The conversation text: <c>[UNUSED_TOKEN_146]system\n{meta}[UNUSED_TOKEN_145]\n</c> when
    /// <paramref name="metaInstruction"/> is non-empty, one user/assistant pair per history turn, then
    /// <c>[UNUSED_TOKEN_146]user\n{query}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n</c>.
    /// </summary>
    public static string FormatConversation(string query, IReadOnlyList<ChatTurn>? history, string? metaInstruction)
    {
        var sb = new StringBuilder();
        if (!string.IsNullOrEmpty(metaInstruction))
            sb.Append("[UNUSED_TOKEN_146]system\n").Append(metaInstruction).Append("[UNUSED_TOKEN_145]\n");
        foreach (var turn in history ?? [])
            sb.Append("[UNUSED_TOKEN_146]user\n").Append(turn.User).Append("[UNUSED_TOKEN_145]\n")
              .Append("[UNUSED_TOKEN_146]assistant\n").Append(turn.Assistant).Append("[UNUSED_TOKEN_145]\n");
        sb.Append("[UNUSED_TOKEN_146]user\n").Append(query).Append("[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n");
        return sb.ToString();
    }

    /// <summary>
    /// <c>interleav_wrap_chat</c>: the conversation text (<see cref="FormatConversation"/>), with
    /// <c>&lt;ImageHere&gt;</c> prepended when there is exactly one image and no marker anywhere in it,
    /// split at the markers. Part k is encoded (transformers path, <see cref="InternLM2Tokenizer.Encode"/>)
    /// when it is the first part (which carries BOS, even if empty) or non-empty, then image k follows.
    /// hd_num is <paramref name="hdNum"/> for one image and 6 for each image when there are several.
    /// Once the sequence is longer than <paramref name="maxLength"/> no further part is encoded (as
    /// upstream), and the sequence is cut at <paramref name="maxLength"/> positions (an image may be cut
    /// in the middle; a segment wholly beyond the cut is left out).
    /// <para>Deviation: upstream only prints a warning when the number of markers differs from the
    /// number of images (and then silently drops markers or appends images at the part ends); we throw.</para>
    /// </summary>
    public static PromptLayout BuildChat(InternLM2Tokenizer tokenizer, string query, IReadOnlyList<PromptImage> images,
        IReadOnlyList<ChatTurn>? history = null, string? metaInstruction = null, int hdNum = DefaultHdNum, int maxLength = DefaultMaxLength)
    {
        if (maxLength < 1) throw new IxcException($"max_length must be at least 1 (got {maxLength})");
        if (hdNum < 1) throw new IxcException($"hd_num must be at least 1 (got {hdNum})");
        string prompt = FormatConversation(query, history, metaInstruction);
        if (images.Count == 1 && !prompt.Contains(ImageMarker, StringComparison.Ordinal)) prompt = ImageMarker + prompt;
        string[] parts = prompt.Split(ImageMarker);
        if (parts.Length != images.Count + 1)
            throw new IxcException($"the prompt has {parts.Length - 1} {ImageMarker} marker(s) but {images.Count} image(s) were given; "
                + "give one marker per image (a single image without a marker goes first)");
        int perImageHdNum = images.Count > 1 ? MultiImageHdNum : hdNum;

        var full = new List<(PromptSegment Segment, int FullLength)>();
        int position = 0;
        bool needBos = true;
        for (int k = 0; k < parts.Length; k++)
        {
            if (needBos || parts[k].Length > 0)
            {
                int[] ids = tokenizer.Encode(parts[k], addBos: needBos);
                needBos = false;
                full.Add((new TextSegment(position, ids, parts[k]), ids.Length));
                position += ids.Length;
            }
            if (k < images.Count)
            {
                var t = images[k].TokensFor(perImageHdNum);
                if (t.Count < 1) throw new IxcException($"image {k} ({images[k].Name}): token count {t.Count} must be positive");
                full.Add((new ImageSegment(position, t.Count, k, images[k].Name, t.Count, t.GridRows, t.GridCols, perImageHdNum), t.Count));
                position += t.Count;
            }
            if (position > maxLength) break; // upstream stops encoding here; the rest would be cut anyway
        }
        return Truncate(full, position, maxLength, prompt);
    }

    /// <summary>
    /// <c>build_inputs</c> (upstream's <c>chat(image=None)</c>): the text <c>"&lt;s&gt;" + conversation</c>
    /// encoded with BOS added, i.e. <c>[1, 1, ...]</c> (the literal &lt;s&gt; is a special token for
    /// transformers). No image, no truncation.
    /// </summary>
    public static PromptLayout BuildTextOnly(InternLM2Tokenizer tokenizer, string query, IReadOnlyList<ChatTurn>? history = null, string? metaInstruction = null)
    {
        string prompt = InternLM2Tokenizer.BosToken + FormatConversation(query, history, metaInstruction);
        int[] ids = tokenizer.Encode(prompt, addBos: true);
        return new PromptLayout([new TextSegment(0, ids, prompt)], ids.Length, ids.Length, prompt);
    }

    private static PromptLayout Truncate(List<(PromptSegment Segment, int FullLength)> full, int untruncatedLength, int maxLength, string prompt)
    {
        var kept = new List<PromptSegment>(full.Count);
        foreach (var (segment, length) in full)
        {
            if (segment.Start >= maxLength) break;
            int keep = Math.Min(length, maxLength - segment.Start);
            kept.Add(keep == length ? segment : segment switch
            {
                TextSegment t => new TextSegment(t.Start, [.. t.Ids.Take(keep)], t.Text),
                ImageSegment i => i with { Length = keep },
                _ => throw new InvalidOperationException(),
            });
        }
        return new PromptLayout(kept, Math.Min(untruncatedLength, maxLength), untruncatedLength, prompt);
    }
}
