using System.Text;
using IXC25.Tokenizer;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Conformance.Surfaces;

/// <summary>
/// Kinds of tokenize failures, told apart by what the two id sequences spell (the reference vocabulary's
/// pieces, "▁" as a space, byte pieces as their bytes, &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt; as their literals).
/// Every tokenize difference reads "ids differs" in the problem text; these kinds separate the usual
/// causes, so that each is shrunk on its own: text lost or added (a missing BOS, &lt;unk&gt; for a byte),
/// whitespace kept or dropped around special tokens, a special or user-defined token split into pieces, the
/// same text merged into other pieces (BPE order, ties).
/// </summary>
public static class TokenizeFailureKind
{
    public const string OutsideVocabulary = "ids outside the vocabulary";
    public const string DifferentText = "the ids spell a different text";
    public const string DifferentWhitespace = "the ids spell the text with different whitespace";
    public const string SplitsSpecial = "same text, but the port splits a special or user-defined token the reference keeps whole";
    public const string MatchesSpecial = "same text, but the port keeps whole a special or user-defined token the reference splits";
    public const string Segmentation = "same text, segmented into other pieces";

    private static readonly UTF8Encoding Utf8 = new(false, false);

    public static string Classify(IReadOnlyList<int> port, IReadOnlyList<int> reference, InternLM2Tokenizer vocabulary)
    {
        var pieces = vocabulary.Model.Pieces;
        if (port.Any(id => (uint)id >= (uint)pieces.Count)) return OutsideVocabulary;
        string p = Spell(port, pieces), r = Spell(reference, pieces);
        if (p != r) return WithoutWhitespace(p) == WithoutWhitespace(r) ? DifferentWhitespace : DifferentText;
        int portWhole = port.Count(id => IsWhole(pieces[id])), referenceWhole = reference.Count(id => IsWhole(pieces[id]));
        return referenceWhole > portWhole ? SplitsSpecial : portWhole > referenceWhole ? MatchesSpecial : Segmentation;
    }

    /// <summary>The text the ids stand for.</summary>
    public static string Spell(IReadOnlyList<int> ids, IReadOnlyList<Piece> pieces)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            var piece = pieces[id];
            if (piece.Type == PieceType.Byte) bytes.Add(Convert.ToByte(piece.Text[3..5], 16));
            else if (piece.Type is PieceType.Control or PieceType.Unknown) bytes.AddRange(Utf8.GetBytes(piece.Text));
            else bytes.AddRange(Utf8.GetBytes(piece.Text.Replace('\u2581', ' ')));
        }
        return Utf8.GetString([.. bytes]);
    }

    /// <summary>A piece that is one token however the text around it merges: control, unknown, user-defined.</summary>
    private static bool IsWhole(Piece piece) => piece.Type is PieceType.Control or PieceType.Unknown or PieceType.UserDefined;

    /// <summary>The text without whitespace as Python's str.isspace sees it (transformers strips that around special tokens).</summary>
    private static string WithoutWhitespace(string s) => string.Concat(s.Where(ch => !PythonWhitespace.IsSpace(ch)));
}
