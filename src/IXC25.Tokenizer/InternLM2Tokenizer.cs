using System.Text;
using IXC25.Runtime;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Tokenizer;

/// <summary>
/// The InternLM2 tokenizer as IXC-2.5 uses it: upstream's <c>InternLM2Tokenizer</c> (a transformers
/// 4.33 slow <c>PreTrainedTokenizer</c> around a sentencepiece model), reimplemented on our own
/// SentencePiece-BPE (<see cref="SentencePieceBpe"/>; Microsoft.ML.Tokenizers is not id-exact, see there).
/// <para>Two encoders:</para>
/// <list type="bullet">
/// <item><see cref="EncodeRaw(string)"/>: plain <c>sentencepiece</c> <c>encode(text)</c>. The strings
/// <c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;unk&gt;</c> in the text are ordinary characters.</item>
/// <item><see cref="Encode"/>: what upstream's <c>tokenizer(text, add_special_tokens=addBos).input_ids</c>
/// returns. transformers 4.33 <c>PreTrainedTokenizer.tokenize</c> first cuts the text at the special
/// tokens registered as "no split" (<c>sanitize_special_tokens</c> registers bos <c>&lt;s&gt;</c>, eos and
/// pad <c>&lt;/s&gt;</c>, unk <c>&lt;unk&gt;</c>; the <c>[UNUSED_TOKEN_*]</c> pieces are not special tokens
/// there and reach sentencepiece, which matches them atomically as USER_DEFINED pieces). Because
/// InternLM2Tokenizer passes these tokens as plain strings, not <c>AddedToken</c>s, 4.33 strips all
/// whitespace (Python <c>str.isspace</c>) on both sides of each occurrence ("We strip left and right
/// by default"). Each remaining non-empty text piece is sentencepiece-encoded on its own; each special
/// token becomes its id (1, 2, 0). With <c>addBos</c>, id 1 is prepended. So upstream's text-only
/// <c>build_inputs</c>, whose prompt starts with the literal <c>"&lt;s&gt;"</c>, yields <c>[1, 1, ...]</c>.</item>
/// </list>
/// <para>Decoding (<see cref="Decode"/>) is <c>tokenizer.decode(ids, skip_special_tokens=True)</c>:
/// ids 0/1/2 are dropped, the rest sentencepiece-decoded, then the clean-up of spaces before
/// punctuation is applied. Note that upstream's constructor sets <c>clean_up_tokenization_spaces=False</c>,
/// but its <c>convert_tokens_to_string</c> calls <c>clean_up_tokenization</c> unconditionally, so the
/// clean-up always happens (as section 7 of the semantics says). Its <c>_maybe_add_prefix_space</c>
/// compares a piece string against a set of ids, is therefore always true, and adds the one space that
/// the final <c>[1:]</c> removes again: no net effect.</para>
/// <para>Strings: a C# string is converted to UTF-8 first; a lone UTF-16 surrogate becomes U+FFFD (as
/// .NET's UTF-8 encoder does; Python's sentencepiece would refuse such a string). A literal U+2581 "▁"
/// is indistinguishable from a space after encoding and decodes as a space.</para>
/// </summary>
public sealed class InternLM2Tokenizer
{
    /// <summary>File name of the sentencepiece model inside a checkpoint folder.</summary>
    public const string ModelFileName = "tokenizer.model";

    /// <summary>End of a turn (<c>[UNUSED_TOKEN_145]</c>); generation stops at it and decoding cuts there.</summary>
    public const string EndOfTurn = "[UNUSED_TOKEN_145]";

    /// <summary>Start of a turn (<c>[UNUSED_TOKEN_146]</c>).</summary>
    public const string StartOfTurn = "[UNUSED_TOKEN_146]";

    /// <summary>transformers' special tokens of InternLM2Tokenizer (bos, eos = pad, unk), as plain strings.</summary>
    public const string BosToken = "<s>", EosToken = "</s>", UnknownToken = "<unk>";

    private static readonly UTF8Encoding Utf8 = new(false, false); // lone surrogates -> U+FFFD

    private readonly (string Text, int Id)[] specialTokens;

    public SentencePieceModel Model { get; }

    public SentencePieceBpe Bpe { get; }

    /// <summary>Vocabulary size V (92544 for InternLM2).</summary>
    public int VocabSize => Model.Count;

    /// <summary>sentencepiece's bos id, which upstream's <c>bos_token_id</c> returns (1).</summary>
    public int BosId => Model.BosId;

    /// <summary>sentencepiece's eos id (2).</summary>
    public int EosId => Model.EosId;

    /// <summary>Id of <see cref="EndOfTurn"/> (92542).</summary>
    public int EndOfTurnId { get; }

    /// <summary>Id of <see cref="StartOfTurn"/> (92543).</summary>
    public int StartOfTurnId { get; }

    /// <summary>The ids that <c>decode(..., skip_special_tokens=True)</c> drops: those of &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt; (1, 2, 0).</summary>
    public IReadOnlyList<int> SpecialIds { get; }

    public InternLM2Tokenizer(SentencePieceModel model)
    {
        Model = model;
        Bpe = new SentencePieceBpe(model);
        specialTokens = [(BosToken, Require(BosToken)), (EosToken, Require(EosToken)), (UnknownToken, Require(UnknownToken))];
        SpecialIds = [.. specialTokens.Select(t => t.Id)];
        EndOfTurnId = Require(EndOfTurn);
        StartOfTurnId = Require(StartOfTurn);
    }

    private int Require(string piece)
    {
        int id = Model.IdOf(piece);
        if (id < 0) throw new IxcException($"{Model.Source}: the vocabulary has no piece '{piece}'; not an InternLM2 tokenizer");
        return id;
    }

    /// <summary>Loads a <c>tokenizer.model</c> file.</summary>
    public static InternLM2Tokenizer Load(string modelPath)
    {
        if (!File.Exists(modelPath)) throw new IxcException($"{modelPath}: tokenizer model not found");
        return new InternLM2Tokenizer(SentencePieceModel.Load(modelPath));
    }

    /// <summary>The repository's bundled copy of the InternLM2 model: golden/tokenizer/tokenizer.model.</summary>
    public static string BundledModelPath => RepoLayout.Path("golden", "tokenizer", ModelFileName);

    /// <summary>Loads <c>DIR/tokenizer.model</c>, or the bundled copy when <paramref name="modelDirectory"/> is null.</summary>
    public static InternLM2Tokenizer LoadFromDirectory(string? modelDirectory)
    {
        if (modelDirectory is null) return Load(BundledModelPath);
        if (!Directory.Exists(modelDirectory)) throw new IxcException($"{modelDirectory}: model folder not found");
        return Load(Path.Combine(modelDirectory, ModelFileName));
    }

    // ------------------------------------------------------------------ sentencepiece

    /// <summary>sentencepiece <c>encode(text)</c>: ids of <paramref name="text"/>, no BOS.</summary>
    public int[] EncodeRaw(string text)
    {
        var ids = new List<int>(text.Length / 2 + 4);
        Bpe.Encode(Utf8.GetBytes(text), ids);
        return [.. ids];
    }

    /// <summary>sentencepiece <c>encode(bytes)</c>: malformed UTF-8 is handled as sentencepiece does (one U+FFFD per bad byte).</summary>
    public int[] EncodeRaw(ReadOnlySpan<byte> utf8)
    {
        var ids = new List<int>(utf8.Length / 2 + 4);
        Bpe.Encode(utf8, ids);
        return [.. ids];
    }

    /// <summary>sentencepiece <c>decode(ids)</c> (no ids dropped; &lt;unk&gt; decodes to " ⁇ ", control pieces to nothing).</summary>
    public string DecodeRaw(ReadOnlySpan<int> ids)
    {
        CheckIds(ids);
        return Bpe.Decode(ids);
    }

    // ------------------------------------------------------------------ transformers (upstream) path

    /// <summary>
    /// A piece of text after transformers' special-token split: either text for sentencepiece
    /// (<paramref name="SpecialId"/> = -1) or one special token.
    /// </summary>
    public readonly record struct TextChunk(string Text, int SpecialId)
    {
        public bool IsSpecial => SpecialId >= 0;
    }

    /// <summary>
    /// transformers 4.33 <c>tokenize</c>'s first half: cut at every occurrence of &lt;s&gt;, &lt;/s&gt;,
    /// &lt;unk&gt; (scanning left to right; none is a prefix of another), strip Python whitespace on
    /// both sides of each special token, drop empty text pieces.
    /// </summary>
    public IReadOnlyList<TextChunk> SplitOnSpecialTokens(string text)
    {
        var chunks = new List<TextChunk>();
        int textStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '<') continue;
            foreach (var (tok, id) in specialTokens)
            {
                if (string.CompareOrdinal(text, i, tok, 0, tok.Length) != 0) continue;
                if (i > textStart) chunks.Add(new TextChunk(text[textStart..i], -1));
                chunks.Add(new TextChunk(tok, id));
                textStart = i + tok.Length;
                i = textStart - 1;
                break;
            }
        }
        if (textStart < text.Length) chunks.Add(new TextChunk(text[textStart..], -1));

        var result = new List<TextChunk>(chunks.Count);
        for (int i = 0; i < chunks.Count; i++)
        {
            var c = chunks[i];
            if (c.IsSpecial) { result.Add(c); continue; }
            string s = c.Text;
            if (i > 0 && chunks[i - 1].IsSpecial) s = PythonWhitespace.TrimStart(s);
            if (i + 1 < chunks.Count && chunks[i + 1].IsSpecial) s = PythonWhitespace.TrimEnd(s);
            if (s.Length > 0) result.Add(new TextChunk(s, -1));
        }
        return result;
    }

    /// <summary>
    /// Upstream's <c>tokenizer(text, add_special_tokens=addBos).input_ids</c>: [1 if addBos] + the ids
    /// of <see cref="SplitOnSpecialTokens"/>'s pieces (special tokens as their ids, text through sentencepiece).
    /// </summary>
    public int[] Encode(string text, bool addBos = false)
    {
        var ids = new List<int>(text.Length / 2 + 4);
        if (addBos) ids.Add(BosId);
        foreach (var chunk in SplitOnSpecialTokens(text))
        {
            if (chunk.IsSpecial) ids.Add(chunk.SpecialId);
            else Bpe.Encode(Utf8.GetBytes(chunk.Text), ids);
        }
        return [.. ids];
    }

    /// <summary>
    /// Upstream's <c>tokenizer.decode(ids, skip_special_tokens=True)</c>: drop ids 0/1/2, sentencepiece-decode
    /// the rest, apply <see cref="CleanUpTokenizationSpaces"/>.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        CheckIds(ids);
        var kept = new List<int>(ids.Length);
        foreach (int id in ids)
            if (!SpecialIds.Contains(id)) kept.Add(id);
        return CleanUpTokenizationSpaces(Bpe.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(kept)));
    }

    /// <summary>What upstream's <c>chat</c> returns for generated ids: <see cref="Decode"/>, then the text before the first <c>[UNUSED_TOKEN_145]</c>.</summary>
    public string DecodeResponse(ReadOnlySpan<int> ids)
    {
        string text = Decode(ids);
        int cut = text.IndexOf(EndOfTurn, StringComparison.Ordinal);
        return cut < 0 ? text : text[..cut];
    }

    /// <summary>
    /// transformers' <c>clean_up_tokenization</c>: " ." → ".", " ?" → "?", " !" → "!", " ," → ",",
    /// " ' " → "'", " n't" → "n't", " 'm" → "'m", " 's" → "'s", " 've" → "'ve", " 're" → "'re",
    /// applied in this order, each to all non-overlapping occurrences from the left.
    /// </summary>
    public static string CleanUpTokenizationSpaces(string s) => s
        .Replace(" .", ".", StringComparison.Ordinal)
        .Replace(" ?", "?", StringComparison.Ordinal)
        .Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal)
        .Replace(" ' ", "'", StringComparison.Ordinal)
        .Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal)
        .Replace(" 's", "'s", StringComparison.Ordinal)
        .Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    // ------------------------------------------------------------------ vocabulary

    /// <summary>The piece text of an id (sentencepiece <c>id_to_piece</c>).</summary>
    public string PieceOf(int id)
    {
        if ((uint)id >= (uint)VocabSize) throw new IxcException($"token id {id} is outside the vocabulary [0, {VocabSize})");
        return Model.Pieces[id].Text;
    }

    /// <summary>The id of a piece text, or -1.</summary>
    public int IdOf(string piece) => Model.IdOf(piece);

    private void CheckIds(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids)
            if ((uint)id >= (uint)VocabSize) throw new IxcException($"token id {id} is outside the vocabulary [0, {VocabSize})");
    }
}

/// <summary>Python's <c>str.isspace</c> / <c>str.strip()</c> whitespace (which, unlike .NET's, includes U+001C..U+001F).</summary>
public static class PythonWhitespace
{
    public static bool IsSpace(char c) => c switch
    {
        >= '\t' and <= '\r' => true,
        >= '\u001C' and <= ' ' => true,
        '\u0085' or '\u00A0' or '\u1680' => true,
        >= '\u2000' and <= '\u200A' => true,
        '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        _ => false,
    };

    public static string TrimStart(string s)
    {
        int i = 0;
        while (i < s.Length && IsSpace(s[i])) i++;
        return i == 0 ? s : s[i..];
    }

    public static string TrimEnd(string s)
    {
        int e = s.Length;
        while (e > 0 && IsSpace(s[e - 1])) e--;
        return e == s.Length ? s : s[..e];
    }
}
