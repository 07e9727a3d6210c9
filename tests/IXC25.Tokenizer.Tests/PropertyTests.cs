using System.Text;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Tokenizer.Tests;

/// <summary>Properties of the encoder and decoder over generated strings (FsCheck).</summary>
public class PropertyTests
{
    private static InternLM2Tokenizer T => Goldens.Tokenizer;

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(400).WithEndSize(200);

    /// <summary>Characters from every region that matters: ASCII, whitespace and control, Latin,
    /// CJK, kana, hangul, full-width, astral (emoji), private use, specials, and whole special snippets.</summary>
    private static Gen<string> Piece() => Gen.Frequency(
        (20, Gen.Choose(0x20, 0x7E).Select(c => ((char)c).ToString())),
        (6, Gen.Elements(" ", "  ", "\n", "\t", "\r\n", "\r", "\0", "\u3000", "\u00A0", "\u200B", "\u2028", "\uFEFF", "\u0085", "\u001F")),
        (4, Gen.Choose(0, 0x1F).Select(c => ((char)c).ToString())),
        (6, Gen.Choose(0xA0, 0x24F).Select(c => ((char)c).ToString())),
        (8, Gen.Choose(0x4E00, 0x9FFF).Select(c => ((char)c).ToString())),
        (3, Gen.Choose(0x3040, 0x30FF).Select(c => ((char)c).ToString())),
        (3, Gen.Choose(0xAC00, 0xD7A3).Select(c => ((char)c).ToString())),
        (3, Gen.Choose(0xFF01, 0xFF5E).Select(c => ((char)c).ToString())),
        (3, Gen.Choose(0xE000, 0xFFFD).Where(c => c != 0x2581).Select(c => ((char)c).ToString())),
        (4, Gen.Choose(0x10000, 0x10FFFF).Select(char.ConvertFromUtf32)),
        (2, Gen.Choose(0x1F300, 0x1FAFF).Select(char.ConvertFromUtf32)),
        (3, Gen.Elements("[UNUSED_TOKEN_145]", "[UNUSED_TOKEN_146]", "[UNUSED_TOKEN_0]", "<s>", "</s>", "<unk>", "——", "……",
            "<ImageHere>", "<0x41>", "\uFFFD", "ｖ", "Ａ", "[UNUSED_TOKEN_", "the", " of", "ing", "\n\n", "    ", "中文")));

    /// <summary>Valid Unicode strings without U+2581.</summary>
    private static Arbitrary<string> Text() =>
        Gen.Sized(n => Gen.ListOf(Piece(), Math.Max(0, n)).Select(ps => string.Concat(ps))).ToArbitrary();

    /// <summary>Any UTF-16 string, including lone surrogates and U+2581.</summary>
    private static Arbitrary<string> AnyUtf16() =>
        Gen.Sized(n => Gen.ListOf(Gen.Frequency(
            (5, Gen.Choose(0, 0xFFFF).Select(c => (char)c)),
            (2, Gen.Choose(0xD800, 0xDFFF).Select(c => (char)c)),
            (1, Gen.Constant('\u2581')),
            (3, Gen.Choose(0x20, 0x7E).Select(c => (char)c))), Math.Max(0, n)).Select(cs => new string([.. cs]))).ToArbitrary();

    [Fact]
    public void DecodeOfEncodeGivesTheTextBack()
    {
        Prop.ForAll(Text(), s => T.DecodeRaw(T.EncodeRaw(s)) == s).Check(Runs);
    }

    [Fact]
    public void DecodeOfEncodeOfAnyStringGivesItsUtf8ConversionWithMetaSymbolsAsSpaces()
    {
        // The documented exceptions: a lone surrogate cannot be UTF-8 and becomes U+FFFD (as .NET's
        // encoder does); a literal U+2581 is the meta symbol for a space and decodes as a space.
        static string Expected(string s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s)).Replace('\u2581', ' ');
        Prop.ForAll(AnyUtf16(), s => T.DecodeRaw(T.EncodeRaw(s)) == Expected(s)).Check(Runs);
    }

    [Fact]
    public void EncodingNeverYieldsControlOrUnknownIdsAndStaysInTheVocabulary()
    {
        Prop.ForAll(Text(), s => T.EncodeRaw(s).All(id =>
            id >= 0 && id < 92544 && T.Model.Pieces[id].Type is not (PieceType.Control or PieceType.Unknown))).Check(Runs);
        Prop.ForAll(AnyUtf16(), s => T.EncodeRaw(s).All(id => id is > 2 and < 92544)).Check(Runs);
    }

    [Fact]
    public void FastEncoderEqualsTheReference()
    {
        Prop.ForAll(Text(), s =>
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(s);
            var fast = new List<int>();
            var reference = new List<int>();
            T.Bpe.Encode(utf8, fast);
            T.Bpe.EncodeReference(utf8, reference);
            return fast.SequenceEqual(reference);
        }).Check(Runs);
    }

    [Fact]
    public void FastEncoderEqualsTheReferenceOnArbitraryBytes()
    {
        var bytes = Gen.Sized(n => Gen.ArrayOf(Gen.Frequency(
            (3, Gen.Choose(0, 255)), (2, Gen.Choose(0x61, 0x7A)), (1, Gen.Elements(0x20, 0xE4, 0xB8, 0xAD, 0xF0, 0x9F, 0x98, 0x80))), Math.Max(0, n))
            .Select(a => a.Select(b => (byte)b).ToArray())).ToArbitrary();
        Prop.ForAll(bytes, b =>
        {
            var fast = new List<int>();
            var reference = new List<int>();
            T.Bpe.Encode(b, fast);
            T.Bpe.EncodeReference(b, reference);
            return fast.SequenceEqual(reference) && fast.All(id => id is > 2 and < 92544);
        }).Check(Runs);
    }

    [Fact]
    public void TransformersEncodeWithoutSpecialStringsIsTheRawEncode()
    {
        Prop.ForAll(Text(), s =>
        {
            if (s.Contains("<s>") || s.Contains("</s>") || s.Contains("<unk>")) return true;
            return T.Encode(s).SequenceEqual(T.EncodeRaw(s)) && T.Encode(s, addBos: true).SequenceEqual([1, .. T.EncodeRaw(s)]);
        }).Check(Runs);
    }

    [Fact]
    public void UpstreamDecodeIsCleanUpOfTheRawDecode()
    {
        Prop.ForAll(Text(), s =>
        {
            int[] ids = T.EncodeRaw(s);
            return T.Decode(ids) == InternLM2Tokenizer.CleanUpTokenizationSpaces(s);
        }).Check(Runs);
    }
}
