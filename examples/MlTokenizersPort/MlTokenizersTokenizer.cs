using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MlTokenizersPort;

/// <summary>Which literals the port hands to the library as special tokens (cut out of the text before BPE, each one id).</summary>
public enum SpecialTokenSplit
{
    /// <summary>None: the library's bare Llama tokenizer; "&lt;s&gt;" and "[UNUSED_TOKEN_146]" go through BPE as text.</summary>
    None,

    /// <summary>transformers' special tokens of InternLM2Tokenizer: &lt;s&gt; (1), &lt;/s&gt; (2), &lt;unk&gt; (0).</summary>
    Transformers,

    /// <summary>Those, and every [UNUSED_TOKEN_n] piece of the vocabulary (sentencepiece USER_DEFINED pieces, matched atomically there).</summary>
    TransformersAndUnused,
}

/// <summary>
/// The InternLM2 tokenizer (IXC-2.5's <c>tokenize</c> surface) on Microsoft.ML.Tokenizers, as a port author
/// would write it: the library's <see cref="LlamaTokenizer"/> (its documented entry point for SentencePiece
/// BPE models of the Llama kind) loads <c>tokenizer.model</c> itself; this class only chooses the settings.
/// <para>Choices, each on purpose (docs/PORTING.md (worked example) tells what each one changes):</para>
/// <list type="bullet">
/// <item><c>addBeginOfSentence: false</c>, <c>addEndOfSentence: false</c> at creation; BOS per call through
/// <c>EncodeToIds(text, addBeginningOfSentence: addBos, addEndOfSentence: false)</c> (the protocol's add_bos;
/// upstream never appends EOS when tokenizing).</item>
/// <item>Special tokens (<see cref="SpecialTokenSplit"/>, default <see cref="SpecialTokenSplit.TransformersAndUnused"/>):
/// transformers cuts &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt; out of the text before sentencepiece sees it, and
/// sentencepiece matches the [UNUSED_TOKEN_n] pieces (USER_DEFINED) whole; the library does neither unless
/// the literals are given as <c>specialTokens</c>, so all of them are given, with the model's own ids.</item>
/// <item>Normalization and byte fallback: left to the library, which reads them from the model
/// (identity normalizer, no dummy prefix, whitespace not collapsed, spaces escaped to U+2581, byte_fallback on).</item>
/// </list>
/// <para>Nothing else is added: whatever still differs from the reference is the library's behaviour.</para>
/// </summary>
public sealed class MlTokenizersTokenizer
{
    private static readonly Regex UnusedToken = new(@"^\[UNUSED_TOKEN_\d+\]$", RegexOptions.CultureInvariant);

    private readonly LlamaTokenizer _tokenizer;

    public MlTokenizersTokenizer(string modelPath, SpecialTokenSplit split = SpecialTokenSplit.TransformersAndUnused)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"tokenizer model not found: {modelPath}", modelPath);
        Split = split;
        Dictionary<string, int>? specials = null;
        if (split != SpecialTokenSplit.None)
        {
            // the vocabulary is only known after loading: load once bare to read the ids, then with the special tokens
            LlamaTokenizer bare;
            using (var s = File.OpenRead(modelPath)) bare = LlamaTokenizer.Create(s, addBeginOfSentence: false, addEndOfSentence: false);
            specials = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                [bare.BeginningOfSentenceToken] = bare.BeginningOfSentenceId,
                [bare.EndOfSentenceToken] = bare.EndOfSentenceId,
                [bare.UnknownToken] = bare.UnknownId,
            };
            if (split == SpecialTokenSplit.TransformersAndUnused)
                foreach (var (piece, id) in bare.Vocabulary)
                    if (UnusedToken.IsMatch(piece)) specials[piece] = id;
        }
        using var stream = File.OpenRead(modelPath);
        _tokenizer = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false, specialTokens: specials);
    }

    public SpecialTokenSplit Split { get; }

    /// <summary>The library's tokenizer, as configured.</summary>
    public LlamaTokenizer Library => _tokenizer;

    /// <summary>The ids of <paramref name="text"/>, with BOS (id 1) first when <paramref name="addBos"/>.</summary>
    public int[] Encode(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. _tokenizer.EncodeToIds(text, addBeginningOfSentence: addBos, addEndOfSentence: false)];
    }
}
