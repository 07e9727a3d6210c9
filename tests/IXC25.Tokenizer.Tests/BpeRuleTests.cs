using System.Text;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Tokenizer.Tests;

/// <summary>The encoder's rules on tiny vocabularies where the right answer is obvious.</summary>
public class BpeRuleTests
{
    private static int[] Encode(SentencePieceBpe bpe, string text, bool reference = false)
    {
        var ids = new List<int>();
        if (reference) bpe.EncodeReference(Encoding.UTF8.GetBytes(text), ids);
        else bpe.Encode(Encoding.UTF8.GetBytes(text), ids);
        return [.. ids];
    }

    private static string[] Pieces(SentencePieceBpe bpe, string text)
    {
        var fast = Encode(bpe, text);
        Assert.Equal(Encode(bpe, text, reference: true), fast);
        return [.. fast.Select(i => bpe.Model.Pieces[i].Text)];
    }

    [Fact]
    public void EqualScoresMergeTheLeftmostPairFirst()
    {
        var bpe = new SyntheticModel().Add("a", -1).Add("b", -1).Add("ab", -5).Add("ba", -5).Build();
        Assert.Equal(["ab", "a"], Pieces(bpe, "aba"));
        Assert.Equal(["ba", "b"], Pieces(bpe, "bab"));
        Assert.Equal(["ab", "ab", "a"], Pieces(bpe, "ababa"));
    }

    [Fact]
    public void HigherScoreWinsOverPosition()
    {
        var bpe = new SyntheticModel().Add("a", -1).Add("b", -1).Add("ab", -6).Add("ba", -5).Build();
        Assert.Equal(["a", "ba"], Pieces(bpe, "aba"));
    }

    [Fact]
    public void MergesNeverProduceControlPieces()
    {
        var bpe = new SyntheticModel().Add("<", -1).Add("s", -1).Add(">", -1).Add("<s", -2).Add("/", -1).Build();
        Assert.Equal(["<s", ">"], Pieces(bpe, "<s>"));
        Assert.Equal(["<", "/", "s", ">"], Pieces(bpe, "</s>"));
    }

    [Fact]
    public void UserDefinedPiecesAreMatchedAtomicallyAndLongestFirst()
    {
        var bpe = new SyntheticModel().Add("x", -1).Add("y", -1).Add("z", -1).Add("yz", -2)
            .Add("xy", 0, PieceType.UserDefined).Add("xyz", 0, PieceType.UserDefined).Add("[T]", 0, PieceType.UserDefined).Build();
        Assert.Equal(["xy", "x"], Pieces(bpe, "xyx"));
        Assert.Equal(["xyz", "z"], Pieces(bpe, "xyzz"));
        Assert.Equal(["y", "xyz"], Pieces(bpe, "yxyz"));
        Assert.Equal(["[T]", "[T]"], Pieces(bpe, "[T][T]"));

        var frozen = new SyntheticModel().Add("x", -1).Add("y", -1).Add("z", -1).Add("yz", -2).Add("zz", -3)
            .Add("xy", 0, PieceType.UserDefined).Build();
        Assert.Equal(["xy", "zz"], Pieces(frozen, "xyzz")); // "yz" has the best score, but "xy" is frozen
    }

    [Fact]
    public void UnknownCharactersFallBackToBytesAndCanStillMerge()
    {
        var bpe = new SyntheticModel().Add("x", -1).Add("éx", -2).Build();
        Assert.Equal(["<0xC3>", "<0xA9>"], Pieces(bpe, "é"));
        Assert.Equal(["éx"], Pieces(bpe, "éx")); // the concatenation is a piece although "é" is not
        Assert.Equal(["<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "x"], Pieces(bpe, "😀x"));
    }

    [Fact]
    public void SpacesBecomeTheMetaSymbolAndMalformedBytesReplacementCharacters()
    {
        var bpe = new SyntheticModel().Add("a", -1).Add("\u2581", -1).Add("\u2581a", -2).Add("\uFFFD", -1).Build();
        Assert.Equal(["\u2581a", "\u2581", "\u2581a"], Pieces(bpe, " a  a"));
        Assert.Equal(["\u2581a"], Pieces(bpe, "\u2581a"));
        var ids = new List<int>();
        bpe.Encode([0x61, 0xE2, 0x82, 0x61], ids); // a, truncated 3-byte sequence, a
        Assert.Equal(["a", "\uFFFD", "\uFFFD", "a"], ids.Select(i => bpe.Model.Pieces[i].Text));
    }

    [Fact]
    public void EmptyInputGivesNoIds()
    {
        var bpe = new SyntheticModel().Add("a", -1).Build();
        Assert.Empty(Pieces(bpe, ""));
    }

    [Fact]
    public void DecodeJoinsBytesAndReplacesEachInvalidByte()
    {
        var bpe = new SyntheticModel().Add("\u2581a", -1).Build();
        int B(int b) => 3 + b;
        Assert.Equal(" a", bpe.Decode([259]));
        Assert.Equal("é", bpe.Decode([B(0xC3), B(0xA9)]));
        Assert.Equal("\uFFFD\uFFFD a", bpe.Decode([B(0xE2), B(0x82), 259]));
        Assert.Equal("\uFFFD\uFFFD\uFFFD", bpe.Decode([B(0xED), B(0xA0), B(0x80)])); // encoded surrogate
        Assert.Equal(" \u2047 ", bpe.Decode([0]));
        Assert.Equal("", bpe.Decode([1, 2]));
    }
}
