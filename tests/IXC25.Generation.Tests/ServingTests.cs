using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Generation.Tests;

/// <summary>What a server needs from the engine: KV caches freed per request, strict prompt lengths, a per-request pixel limit.</summary>
public sealed class ServingTests : IClassFixture<ChatTests.EngineFixture>
{
    private readonly ChatEngine _engine;
    public ServingTests(ChatTests.EngineFixture f) => _engine = f.Engine;

    [Fact]
    public void DisposingTheDecoderFreesEveryCacheItMade()
    {
        var model = _engine.Model;
        var prompt = PreparedPrompt.TextOnly(model.Tokenizer, "Hello there");
        var decoder = new Ixc25Decoder(model, prompt);
        var logits = new float[model.Dims.V];
        var seq = decoder.Prefill(logits);
        var fork = seq.Fork();
        Assert.Equal(2, decoder.LiveCaches);
        fork.Step(1, logits);
        decoder.Dispose();
        Assert.Equal(0, decoder.LiveCaches);
    }

    [Fact]
    public void StrictLengthRefusesWhatUpstreamWouldCut()
    {
        string longQuestion = string.Join(' ', Enumerable.Repeat("token", ChatPrompt.DefaultMaxLength + 100));
        GenerationConfig One(GenerationConfig g) => g with { DoSample = false, MaxNewTokens = 1 };
        var cut = _engine.Run(new ChatRequest { Question = longQuestion, Customize = One }, []);
        Assert.True(cut.Prompt.Truncated);
        var e = Assert.Throws<IxcException>(() => _engine.Run(new ChatRequest { Question = longQuestion, Customize = One, StrictLength = true }, []));
        Assert.Contains($"more than max_length {ChatPrompt.DefaultMaxLength}", e.Message);
        var ctx = Assert.Throws<IxcException>(() => _engine.Run(new ChatRequest { Question = "hi", StrictLength = true, Customize = g => g with { MaxNewTokens = _engine.Model.Options.MaxContext } }, []));
        Assert.Contains("exceeds the context", ctx.Message);
    }

    [Fact]
    public void TheRequestsPixelLimitReachesTheImageDecoder()
    {
        var cars = new MediaInput(RepoLayout.Path("golden", "media", "cars1.jpg"));
        var e = Assert.Throws<IxcException>(() => _engine.Run(new ChatRequest
        {
            Question = "What is this?", Media = [cars], Decode = new IXC25.Vision.Imaging.DecodeOptions(MaxPixels: 1000),
            Customize = g => g with { DoSample = false, MaxNewTokens = 1 },
        }, []));
        Assert.Contains("exceeds the limit of 1000", e.Message);
    }
}
