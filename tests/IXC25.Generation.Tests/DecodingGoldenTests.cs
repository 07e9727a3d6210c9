using IXC25.Generation.Decoding;

namespace IXC25.Generation.Tests;

/// <summary>
/// Greedy and beam search on the tiny checkpoint against transformers 4.33 driving the PyTorch reference
/// (golden/generation/data/decoding.json): identical token ids, sequence scores within
/// <see cref="GenerationTolerances.SequenceScoreAbs"/>.
/// </summary>
[Collection("tiny model")]
public sealed class DecodingGoldenTests(TinyModelFixture tiny)
{
    public static TheoryData<string, string> Cases()
    {
        var d = new TheoryData<string, string>();
        foreach (var b in TinyModelFixture.Backends)
            foreach (var c in GenerationGoldens.Cases) d.Add(c.GetProperty("name").GetString()!, b);
        return d;
    }

    [Fact]
    public void GoldenCoversTheRequiredCases()
    {
        var configs = GenerationGoldens.Cases.Select(GenerationGoldens.Config).ToList();
        foreach (int beams in new[] { 1, 2, 3 }) Assert.Contains(configs, c => c.NumBeams == beams);
        Assert.Contains(configs, c => c.NumBeams > 1 && c.LengthPenalty != 1.0);
        Assert.Contains(configs, c => c.NumBeams > 1 && c.EarlyStopping == EarlyStopping.Immediate);
        Assert.Contains(configs, c => c.NumBeams > 1 && c.EarlyStopping == EarlyStopping.Never);
        // some beam cases end before max length (hypotheses finished by eos)
        Assert.Contains(GenerationGoldens.Cases, c => c.GetProperty("config").GetProperty("num_beams").GetInt32() > 1
                                                    && c.GetProperty("tokens").GetArrayLength() < 24);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SameTokensAsTransformers(string name, string backend)
    {
        var c = GenerationGoldens.Case(name);
        var config = GenerationGoldens.Config(c);
        var streamed = new List<int>();
        var result = Generator.Generate(tiny.Prompt(c.GetProperty("prompt").GetString()!, backend), config, streamed.Add);
        var expected = c.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(expected, result.Tokens);
        Assert.Equal(result.Tokens, streamed);
        var score = c.GetProperty("sequence_score");
        if (config.NumBeams == 1)
        {
            Assert.Null(result.SequenceScore);
        }
        else
        {
            Assert.NotNull(result.SequenceScore);
            Assert.True(Math.Abs(score.GetDouble() - result.SequenceScore!.Value) <= GenerationTolerances.SequenceScoreAbs,
                $"{name} on {backend}: sequence score {result.SequenceScore} vs {score.GetDouble()}");
        }
        Assert.Null(result.Seed);
    }

    [Fact]
    public void OneBeamThroughTheBeamLoopEqualsGreedy()
    {
        // without a repetition penalty (HF applies it to logits in greedy but to log-probabilities in beam
        // search) and without eos in 24 tokens, one beam is the argmax path
        var config = new GenerationConfig { MaxNewTokens = 24, EosTokenIds = GenerationConfig.ChatEosTokenIds };
        var greedy = Generator.Generate(tiny.Prompt("text"), config);
        var beam = Generator.GenerateWithBeamLoop(tiny.Prompt("text"), config with { NumBeams = 1 });
        Assert.Equal(24, greedy.Tokens.Count);
        Assert.Equal(greedy.Tokens, beam.Tokens);
    }

    [Fact]
    public void GreedyWithoutProcessorsPicksOnTheDeviceAndEqualsTheHostsChoice()
    {
        // issue 12: with no logits processor, an accelerator backend sends one index per step instead of the row;
        // the tokens equal the host argmax path's (cpu), and with a processor (the chat default's repetition penalty)
        // the row comes to the host as before
        var config = new GenerationConfig { MaxNewTokens = 12, EosTokenIds = GenerationConfig.ChatEosTokenIds };
        var gpu = (IXC25.Backends.Gpu.GpuGraphOps)tiny.On("gpu-sim").Backend;
        int before = gpu.GpuCalls.GetValueOrDefault("argmax");
        var onDevice = Generator.Generate(tiny.Prompt("text", "gpu-sim"), config);
        Assert.Equal(11, gpu.GpuCalls.GetValueOrDefault("argmax") - before); // every step after the prefill's token
        Assert.Equal(Generator.Generate(tiny.Prompt("text"), config).Tokens, onDevice.Tokens);
        before = gpu.GpuCalls.GetValueOrDefault("argmax");
        var penalised = config with { RepetitionPenalty = 1.005 };
        Assert.Equal(Generator.Generate(tiny.Prompt("text"), penalised).Tokens, Generator.Generate(tiny.Prompt("text", "gpu-sim"), penalised).Tokens);
        Assert.Equal(before, gpu.GpuCalls.GetValueOrDefault("argmax"));
    }

    [Fact]
    public void SamplingIsReproducibleForASeedAndDiffersAcrossSeeds()
    {
        var config = GenerationConfig.Chat with { MaxNewTokens = 8, Seed = 1234 };
        var a = Generator.Generate(tiny.Prompt("text"), config);
        var b = Generator.Generate(tiny.Prompt("text"), config);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(1234UL, a.Seed);
        var others = Enumerable.Range(1, 4).Select(s => Generator.Generate(tiny.Prompt("text"), config with { Seed = (ulong)s }).Tokens).ToList();
        Assert.Contains(others, t => !t.SequenceEqual(a.Tokens));
    }

    [Fact]
    public void BeamSamplingIsReproducibleForASeed()
    {
        var config = GenerationConfig.Web with { MaxNewTokens = 6, Seed = 99, EosTokenIds = GenerationConfig.ChatEosTokenIds };
        var a = Generator.Generate(tiny.Prompt("text"), config);
        var b = Generator.Generate(tiny.Prompt("text"), config);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.Equal(a.SequenceScore, b.SequenceScore);
        Assert.Equal(6, a.Tokens.Count);
    }

    [Fact]
    public void TimingsCountTheWork()
    {
        var c = GenerationGoldens.Case("text_beam3");
        var result = Generator.Generate(tiny.Prompt("text"), GenerationGoldens.Config(c));
        var t = result.Timings;
        Assert.Equal(c.GetProperty("prompt_length").GetInt32(), t.PromptTokens);
        Assert.Equal(24, t.GeneratedTokens);
        Assert.Equal(3 * 23, t.DecodeSteps); // the last step's tokens are not fed
        Assert.InRange(t.CacheCopies, 2, 2 + 2 * 23);
        Assert.True(t.Decode > TimeSpan.Zero);
    }
}
