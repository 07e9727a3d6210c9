using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Protocol;

namespace IXC25.Conformance.Surfaces;

/// <summary>A tokenize case: a text and whether BOS is added.</summary>
public sealed record TokenizeCase(string Text, bool AddBos);

/// <summary>
/// tokenize: texts built from pieces that break tokenizers (IXC25-SEMANTICS.md section 7): CJK, emoji and
/// ZWJ sequences, characters outside the vocabulary (byte fallback), runs of spaces, tabs and newlines,
/// leading/trailing whitespace, the special literals (&lt;s&gt;, &lt;/s&gt;, &lt;unk&gt;, [UNUSED_TOKEN_*]) alone
/// and glued to words, digits, punctuation, combining marks, runs of one character (BPE score ties). Shrinks by dropping halves, then single
/// characters, then replacing characters by plain 'a'.
/// </summary>
public sealed class TokenizeSurface : Surface<TokenizeCase>
{
    public override string Name => "tokenize";
    public override int DefaultCases => 300;

    /// <summary>Pieces texts are built from (each generated text is a sequence of these and random characters).</summary>
    public static readonly string[] Pieces =
    [
        "hello", " world", "Hello", "the", " ", "  ", "   ", "\n", "\n\n", "\t", " \n ", "\r\n",
        "你好", "世界", "中文分词", "こんにちは", "한국어", "😀", "👍🏽", "👨‍👩‍👧", "🇨🇳", "∑", "é", "e\u0301", "ﬁ",
        "<s>", "</s>", "<unk>", "[UNUSED_TOKEN_145]", "[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_0]", "<s>hi", "x</s>",
        "[UNUSED_TOKEN_146]user\n", "<ImageHere>", "12345", "3.14", "!!", "...", "—", "’", "«»",
        "\u0000", "\u0007", "\u200b", "\ufeff", "\U0001F9EC", "\U00020000", "\u0E01\u0E34", "ᚠ", "ꙮ", "\uE000", "␀",
    ];

    public override Gen<TokenizeCase> Generator =>
        from n in Gen.Sized(s => Gen.Choose(0, Math.Max(1, s / 8 + 1)))
        from parts in Gen.ListOf(Gen.Frequency((8, Gen.Elements(Pieces)), (8, RandomChar), (1, Run)), n)
        from bos in Gen.Elements(true, false)
        select new TokenizeCase(string.Concat(parts), bos);

    /// <summary>Characters whose runs hit BPE merges of equal score ("lll" is "ll" + "l" in sentencepiece, which merges the leftmost pair first).</summary>
    public static readonly string[] RunCharacters = ["l", ":", "#", ".", "—", "=", "-", "a", "0", " ", "\n", "哈"];

    /// <summary>One character repeated 2 to 6 times.</summary>
    private static Gen<string> Run =>
        from ch in Gen.Elements(RunCharacters)
        from k in Gen.Choose(2, 6)
        select string.Concat(Enumerable.Repeat(ch, k));

    /// <summary>A random code point from ASCII, Latin-1, CJK, emoji, and rarely-used planes (no surrogates, no noncharacters).</summary>
    private static Gen<string> RandomChar =>
        Gen.Frequency(
            (4, Gen.Choose(0x20, 0x7E)),
            (1, Gen.Choose(0x00, 0x1F)),
            (2, Gen.Choose(0xA0, 0x24F)),
            (3, Gen.Choose(0x4E00, 0x9FFF)),
            (1, Gen.Choose(0xAC00, 0xD7A3)),
            (2, Gen.Choose(0x1F300, 0x1FAFF)),
            (2, Gen.Choose(0x10000, 0x2FFFF).Where(c => (c & 0xFFFE) != 0xFFFE)),
            (1, Gen.Choose(0xE000, 0xF8FF)))
        .Select(cp => char.ConvertFromUtf32(cp));

    public override IEnumerable<TokenizeCase> Shrink(TokenizeCase c)
    {
        var runes = c.Text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        int n = runes.Length;
        if (c.AddBos) yield return c with { AddBos = false };
        for (int chunk = n / 2; chunk >= 1; chunk /= 2)
            for (int start = 0; start + chunk <= n; start += chunk)
                yield return c with { Text = string.Concat(runes[..start]) + string.Concat(runes[(start + chunk)..]) };
        for (int i = 0; i < n; i++)
            if (runes[i] != "a")
                yield return c with { Text = string.Concat(runes[..i]) + "a" + string.Concat(runes[(i + 1)..]) };
    }

    public override long Size(TokenizeCase c) => c.Text.EnumerateRunes().Count() * 2L + (c.AddBos ? 1 : 0);

    public override string Describe(TokenizeCase c) => $"text {Quote(c.Text)} ({c.Text.EnumerateRunes().Count()} characters), add_bos {(c.AddBos ? "true" : "false")}";

    /// <summary>The text as a JSON string literal (escapes make invisible characters visible).</summary>
    public static string Quote(string text) => JsonValue.Create(text).ToJsonString(Readable);

    /// <summary>Letters of every script shown as themselves; quotes, backslashes, control and invisible characters escaped.</summary>
    private static readonly System.Text.Json.JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public override JsonNode ToJson(TokenizeCase c) => new JsonObject { ["text"] = c.Text, ["add_bos"] = c.AddBos };

    public override TokenizeCase FromJson(JsonNode json) => new((string)json["text"]!, (bool)json["add_bos"]!);

    public override PortRequest Prepare(TokenizeCase c, string work) =>
        new("tokenize", work, new JsonObject { ["text"] = c.Text, ["add_bos"] = c.AddBos });

    /// <summary>The kind of a difference (<see cref="TokenizeFailureKind"/>), from what both sides' ids spell.</summary>
    public override string? FailureKind(TokenizeCase c, PortReply port, PortReply reference)
    {
        if (Ids(port) is not { } p || Ids(reference) is not { } r) return null;
        return TokenizeFailureKind.Classify(p, r, Vocabulary.Value);
    }

    private static readonly Lazy<IXC25.Tokenizer.InternLM2Tokenizer> Vocabulary =
        new(() => IXC25.Tokenizer.InternLM2Tokenizer.Load(Engine.EngineContext.TokenizerPath));

    private static int[]? Ids(PortReply reply) =>
        reply.Fields["ids"] is JsonArray a && a.All(n => n is JsonValue v && v.TryGetValue<int>(out _)) ? [.. a.Select(n => (int)n!)] : null;
}
