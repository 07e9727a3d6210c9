using IXC25.Runtime;
using IXC25.Tokenizer.SentencePiece;

namespace IXC25.Tokenizer.Tests;

public class SentencePieceModelTests
{
    [Fact]
    public void BundledModelHasTheInternLM2Layout()
    {
        var t = Goldens.Tokenizer;
        var m = t.Model;
        Assert.Equal(92544, t.VocabSize);
        Assert.Equal(0, m.UnknownId);
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        Assert.Equal(92542, t.EndOfTurnId);
        Assert.Equal(92543, t.StartOfTurnId);
        Assert.Equal([1, 2, 0], t.SpecialIds);
        Assert.Equal(Enumerable.Range(3, 256), m.ByteIds);
        Assert.Equal(2, m.Pieces.Count(p => p.Type == PieceType.Control));
        Assert.Equal(256, m.Pieces.Count(p => p.Type == PieceType.Byte));
        Assert.Equal(192, m.Pieces.Count(p => p.Type == PieceType.UserDefined));
        for (int k = 0; k <= 146; k++) Assert.Equal(92397 + k, t.IdOf($"[UNUSED_TOKEN_{k}]"));
        Assert.Equal("<0x0A>", t.PieceOf(13));
        Assert.Equal(-1, t.IdOf("no such piece"));
    }

    [Fact]
    public void TruncatedOrGarbageModelIsAClearError()
    {
        byte[] good = File.ReadAllBytes(InternLM2Tokenizer.BundledModelPath);
        foreach (int cut in new[] { 1, 7, 1000, good.Length / 2, good.Length - 3 })
        {
            var e = Assert.Throws<IxcException>(() => SentencePieceModel.Parse(good.AsSpan(0, cut), "cut.model"));
            Assert.StartsWith("cut.model: ", e.Message);
        }
        var rng = new Random(5);
        var junk = new byte[4096];
        rng.NextBytes(junk);
        Assert.Throws<IxcException>(() => SentencePieceModel.Parse(junk, "junk.model"));
        Assert.Throws<IxcException>(() => SentencePieceModel.Parse([], "empty.model"));
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var e = Assert.Throws<IxcException>(() => InternLM2Tokenizer.Load("/nonexistent/tokenizer.model"));
        Assert.Contains("/nonexistent/tokenizer.model", e.Message);
        e = Assert.Throws<IxcException>(() => InternLM2Tokenizer.LoadFromDirectory("/nonexistent-dir"));
        Assert.Contains("/nonexistent-dir", e.Message);
    }

    [Theory]
    [InlineData("model_type")]
    [InlineData("byte_fallback")]
    [InlineData("add_dummy_prefix")]
    [InlineData("remove_extra_whitespaces")]
    [InlineData("escape_whitespaces")]
    [InlineData("precompiled charsmap")]
    [InlineData("256 byte pieces")]
    [InlineData("UNUSED")]
    [InlineData("twice")]
    public void UnsupportedConfigurationsAreRejected(string what)
    {
        var m = new SyntheticModel().Add("a", -1);
        switch (what)
        {
            case "model_type": m.ModelType = 1; break;
            case "byte_fallback": m.ByteFallback = false; break;
            case "add_dummy_prefix": m.AddDummyPrefix = true; break;
            case "remove_extra_whitespaces": m.RemoveExtraWhitespaces = true; break;
            case "escape_whitespaces": m.EscapeWhitespaces = false; break;
            case "precompiled charsmap": m.Charsmap = [1, 2, 3, 4, 5]; break;
            case "256 byte pieces": m.WithBytes = false; break;
            case "UNUSED": m.Add("b", -2, PieceType.Unused); break;
            case "twice": m.Add("a", -3); break;
        }
        var e = Assert.Throws<IxcException>(() => SentencePieceModel.Parse(m.ToBytes(), "synthetic"));
        Assert.Contains(what == "256 byte pieces" ? "byte" : what, e.Message);
    }

    [Fact]
    public void SyntheticModelWithDefaultsLoads()
    {
        var bpe = new SyntheticModel().Add("a", -1).Build();
        Assert.Equal(260, bpe.Model.Count);
    }
}
