using IXC25.Runtime;

namespace IXC25.Tokenizer.Tests;

public class TokenizerTests
{
    private static InternLM2Tokenizer T => Goldens.Tokenizer;

    [Fact]
    public void KnownIds()
    {
        Assert.Equal([15115, 2028], T.EncodeRaw("hello world"));
        Assert.Equal([387, 6176, 402, 4635], T.EncodeRaw("  hi\n\n\t\r\n"));
        Assert.Equal([92542, 364, 92543, 1008], T.EncodeRaw("[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]user"));
        Assert.Equal([354], T.EncodeRaw("\0"));
        Assert.Equal([243, 162, 155, 131], T.EncodeRaw("\U0001F600"));
        Assert.Equal([43618, 330, 6176, 654, 269, 1936, 3289, 330], T.EncodeRaw("<s>hi</s><unk>"));
        Assert.Empty(T.EncodeRaw(""));
    }

    [Fact]
    public void TransformersPathSplitsSpecialTokensAndStripsAroundThem()
    {
        Assert.Equal([1, 6176, 2, 0], T.Encode("<s>hi</s><unk>"));
        Assert.Equal([1, 1, 6176, 2], T.Encode(" <s> \n hi \t</s>  ", addBos: true));
        var chunks = T.SplitOnSpecialTokens("a \u3000<s>\u001C b</s>\u200Bc");
        Assert.Equal(["a", "<s>", "b", "</s>", "\u200Bc"], chunks.Select(c => c.Text)); // U+200B is not Python whitespace
        Assert.Equal([-1, 1, -1, 2, -1], chunks.Select(c => c.SpecialId));
        Assert.Equal(["<", "<s>", ">"], T.SplitOnSpecialTokens("<<s>>").Select(c => c.Text));
        Assert.Equal(["   "], T.SplitOnSpecialTokens("   ").Select(c => c.Text)); // no special token, nothing stripped
        Assert.Empty(T.SplitOnSpecialTokens(""));
        Assert.Equal([1], T.Encode("", addBos: true));
    }

    [Fact]
    public void PythonWhitespaceIsStrIsspace()
    {
        // /usr/bin/python3 -c "print([hex(c) for c in range(0x110000) if chr(c).isspace()])"
        int[] python = [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
            0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000];
        Assert.Equal(python, Enumerable.Range(0, 0x10000).Where(c => PythonWhitespace.IsSpace((char)c)));
    }

    [Fact]
    public void CleanUpFollowsTransformers()
    {
        Assert.Equal("Hello, world. it's fine, isn 't it? I've seen they're here!'quoted'text.",
            InternLM2Tokenizer.CleanUpTokenizationSpaces("Hello , world . it 's fine , isn 't it ? I 've seen they 're here ! ' quoted ' text ."));
        Assert.Equal("a  b", InternLM2Tokenizer.CleanUpTokenizationSpaces("a  b"));
        Assert.Equal(" .", InternLM2Tokenizer.CleanUpTokenizationSpaces("  ."));
        Assert.Equal("don 't don't", InternLM2Tokenizer.CleanUpTokenizationSpaces("don 't do n't"));
    }

    [Fact]
    public void DecodeDropsSpecialIdsAndResponseCutsAtEndOfTurn()
    {
        int[] ids = [1, .. T.EncodeRaw("The answer is 42 ."), 92542, 364, 92543, 2];
        Assert.Equal("The answer is 42.[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]", T.Decode(ids));
        Assert.Equal("The answer is 42.", T.DecodeResponse(ids));
        Assert.Equal("The answer is 42 .[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]", T.DecodeRaw(ids));
        Assert.Equal(" \u2047 x", T.DecodeRaw([0, .. T.EncodeRaw("x")]));
        Assert.Equal("x", T.Decode([0, .. T.EncodeRaw("x")]));
        Assert.Equal("", T.Decode([]));
    }

    [Fact]
    public void LoneSurrogatesEncodeAsTheReplacementCharacter()
    {
        Assert.Equal(T.EncodeRaw("a\uFFFDb"), T.EncodeRaw("a\uD800b"));
        Assert.Equal(T.EncodeRaw("\uFFFD\uFFFD"), T.EncodeRaw("\uDC00\uD800"));
        Assert.Equal(T.EncodeRaw("\U0001F600"), T.EncodeRaw("\uD83D\uDE00"));
    }

    [Fact]
    public void OutOfRangeIdsAreAClearError()
    {
        Assert.Contains("92544", Assert.Throws<IxcException>(() => T.Decode([92544])).Message);
        Assert.Contains("-1", Assert.Throws<IxcException>(() => T.DecodeRaw([5, -1])).Message);
        Assert.Throws<IxcException>(() => T.PieceOf(100000));
    }

    [Fact]
    public void LongInputsEncodeWithoutTrouble()
    {
        string s = string.Concat(Enumerable.Repeat("The quick brown fox, 敏捷的棕色狐狸 \t\n", 20000));
        int[] ids = T.EncodeRaw(s);
        Assert.Equal(s, T.DecodeRaw(ids));
        string spaces = new(' ', 200000);
        Assert.Equal(spaces, T.DecodeRaw(T.EncodeRaw(spaces)));
    }
}
