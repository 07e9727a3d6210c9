using IXC25.Generation.Decoding;
using IXC25.Runtime;

namespace IXC25.Generation.Tests;

/// <summary>The decoding loops on fake models: stop conditions, streaming, cancellation, beam bookkeeping, settings.</summary>
public sealed class GeneratorTests
{
    /// <summary>Logits that make <paramref name="script"/>[t] the best token after t tokens (then token 5), over hash noise.</summary>
    private static Func<IReadOnlyList<int>, float[]> Scripted(int vocab, params int[] script) => h =>
    {
        var x = FakeDecoder.HashLogits(h, vocab);
        x[h.Count < script.Length ? script[h.Count] : 5] = 10f;
        return x;
    };

    [Fact]
    public void GreedyStopsAtTheFirstEosAndKeepsIt()
    {
        var model = new FakeDecoder(92544, Scripted(92544, 7, 8, 92542, 9));
        var streamed = new List<int>();
        var r = Generator.Generate(model, GenerationConfig.Chat with { DoSample = false, MaxNewTokens = 50 }, streamed.Add);
        Assert.Equal([7, 8, 92542], r.Tokens);
        Assert.Equal(r.Tokens, streamed);
        Assert.Equal(FinishReason.EosToken, r.Finish);
        Assert.Equal(92542, r.EosToken);
        Assert.Equal(2, model.Steps); // the eos is not fed
    }

    [Fact]
    public void EveryEosIdStops()
    {
        var model = new FakeDecoder(100, Scripted(100, 7, 2, 9));
        var r = Generator.Generate(model, new GenerationConfig { MaxNewTokens = 50, EosTokenIds = [3, 2] });
        Assert.Equal([7, 2], r.Tokens);
        Assert.Equal(2, r.EosToken);
    }

    [Fact]
    public void StopTokenCriterionStopsWithoutBeingAnEos()
    {
        // write mode: eos 2, stopping criterion on 92542
        var model = new FakeDecoder(92544, Scripted(92544, 7, 92542, 9));
        var r = Generator.Generate(model, GenerationConfig.Write(100) with { DoSample = false });
        Assert.Equal([7, 92542], r.Tokens);
        Assert.Equal(FinishReason.StopToken, r.Finish);
        Assert.Null(r.EosToken);
    }

    [Fact]
    public void MaxNewTokensIsHonoured()
    {
        var model = new FakeDecoder(50);
        var r = Generator.Generate(model, new GenerationConfig { MaxNewTokens = 7, EosTokenIds = [] });
        Assert.Equal(7, r.Tokens.Count);
        Assert.Equal(FinishReason.MaxNewTokens, r.Finish);
        Assert.Equal(6, model.Steps);
        Assert.Equal(6, r.Timings.DecodeSteps);
    }

    [Fact]
    public void CancellationBetweenStepsKeepsWhatWasStreamed()
    {
        var model = new FakeDecoder(50);
        using var cts = new CancellationTokenSource();
        var streamed = new List<int>();
        var r = Generator.Generate(model, new GenerationConfig { MaxNewTokens = 40, EosTokenIds = [] }, t =>
        {
            streamed.Add(t);
            if (streamed.Count == 3) cts.Cancel();
        }, cts.Token);
        Assert.Equal(FinishReason.Cancelled, r.Finish);
        Assert.Equal(streamed, r.Tokens);
        Assert.Equal(3, r.Tokens.Count);
        Assert.Equal(2, model.Steps);
    }

    [Fact]
    public void CancelledBeforeTheStartRunsNothing()
    {
        var model = new FakeDecoder(50);
        var r = Generator.Generate(model, new GenerationConfig { NumBeams = 3 }, null, new CancellationToken(canceled: true));
        Assert.Equal(FinishReason.Cancelled, r.Finish);
        Assert.Empty(r.Tokens);
        Assert.Equal(0, model.Prefills);
    }

    [Fact]
    public void BeamSearchCancellationReturnsTheBestBeamSoFar()
    {
        using var cts = new CancellationTokenSource();
        // eos 59 is never likely: the open beam is returned as it is (no eos appended)
        var model = new FakeDecoder(60, h => { var x = FakeDecoder.HashLogits(h, 60); x[59] = -100f; return x; })
        {
            OnStep = n => { if (n == 6) cts.Cancel(); },
        };
        var streamed = new List<int>();
        var r = Generator.Generate(model, new GenerationConfig { NumBeams = 3, MaxNewTokens = 30, EosTokenIds = [59] }, streamed.Add, cts.Token);
        Assert.Equal(FinishReason.Cancelled, r.Finish);
        Assert.Equal(3, r.Tokens.Count); // 6 steps = 2 rounds of 3 beams, then the third round's tokens
        Assert.Equal(r.Tokens, streamed);
        Assert.Equal(6, model.Steps);
    }

    [Fact]
    public void BeamSearchRunsAsManyStepsAsTheLengthAllows()
    {
        var model = new FakeDecoder(40);
        var r = Generator.Generate(model, new GenerationConfig { NumBeams = 4, MaxNewTokens = 9, EosTokenIds = [] });
        Assert.Equal(9, r.Tokens.Count);
        Assert.Equal(FinishReason.MaxNewTokens, r.Finish);
        Assert.Equal(4 * 8, model.Steps);
        Assert.Equal(r.Timings.CacheCopies, model.Copies);
    }

    [Fact]
    public void BeamSearchWithEosFirstAtTheFirstStepScoresTheEmptyHypothesisLast()
    {
        // 4.33 divides by 0 ** length_penalty here (ZeroDivisionError); we rank the empty answer last
        var model = new FakeDecoder(30, h =>
        {
            var x = FakeDecoder.HashLogits(h, 30);
            if (h.Count == 0) x[2] = 20f;
            return x;
        });
        var r = Generator.Generate(model, new GenerationConfig { NumBeams = 2, MaxNewTokens = 5, EosTokenIds = [2] });
        Assert.Equal(5, r.Tokens.Count);
        Assert.DoesNotContain(2, r.Tokens);
        Assert.True(float.IsFinite(r.SequenceScore!.Value));
    }

    [Fact]
    public void InputIdsPromptCountsForPenaltyAndLengths()
    {
        // prompt ids are generation ids: with a strong repetition penalty the prompt's favourite token is avoided
        var model = new FakeDecoder(20, h => { var x = FakeDecoder.HashLogits(h, 20); x[4] = 9f; x[6] = 8.5f; return x; }, promptIds: [1, 4]);
        var plain = new FakeDecoder(20, model.Logits);
        var config = new GenerationConfig { MaxNewTokens = 3, RepetitionPenalty = 2.0, EosTokenIds = [] };
        Assert.Equal(4, Generator.Generate(plain, config).Tokens[0]);
        Assert.Equal(6, Generator.Generate(model, config).Tokens[0]);
        // max_length = prompt ids + max_new_tokens: still 3 new tokens
        Assert.Equal(3, Generator.Generate(model, config with { NumBeams = 2 }).Tokens.Count);
    }

    [Fact]
    public void BeamHypothesisEndingInEosGetsTheFirstEosIdAppended()
    {
        // after token 11, the eos 9 is likely; every later row is flat (log-probability -ln 30 per token), so the
        // finished hypothesis [11] beats the open beams at max length; 4.33 then appends eos_token_id[0] = 3
        var model = new FakeDecoder(30, h =>
        {
            var x = new float[30];
            if (h.Count == 0) { Array.Fill(x, -10f); x[11] = 0f; x[12] = -1f; }
            else if (h.Count == 1) { Array.Fill(x, -10f); x[9] = 0f; x[12] = -0.5f; }
            return x;
        });
        var r = Generator.Generate(model, new GenerationConfig { NumBeams = 2, MaxNewTokens = 10, EosTokenIds = [3, 9] });
        Assert.Equal([11, 3], r.Tokens);
        Assert.Equal(FinishReason.EosToken, r.Finish);
        Assert.Equal(9, r.EosToken);
    }

    [Theory]
    [InlineData("max_new_tokens", 0, 1, 1.0, 1.0, 50, 1.0, true)]
    [InlineData("num_beams", 5, 0, 1.0, 1.0, 50, 1.0, true)]
    [InlineData("repetition_penalty", 5, 1, 0.0, 1.0, 50, 1.0, true)]
    [InlineData("temperature", 5, 1, 1.0, 0.0, 50, 1.0, true)]
    [InlineData("top_k", 5, 1, 1.0, 1.0, -1, 1.0, true)]
    [InlineData("top_p", 5, 1, 1.0, 1.0, 50, 1.5, true)]
    public void InvalidSettingsAreRefusedByName(string setting, int maxNew, int beams, double penalty, double temperature, int topK, double topP, bool sample)
    {
        var config = new GenerationConfig { MaxNewTokens = maxNew, NumBeams = beams, RepetitionPenalty = penalty, Temperature = temperature, TopK = topK, TopP = topP, DoSample = sample };
        var e = Assert.Throws<IxcException>(() => Generator.Generate(new FakeDecoder(10), config));
        Assert.StartsWith(setting, e.Message);
    }

    [Fact]
    public void SamplingSettingsAreIgnoredWhenNotSampling()
    {
        var config = new GenerationConfig { MaxNewTokens = 2, Temperature = 0, TopP = 7, EosTokenIds = [] };
        Assert.Equal(2, Generator.Generate(new FakeDecoder(10), config).Tokens.Count);
    }

    [Fact]
    public void EosOutsideTheVocabularyIsRefused()
    {
        var e = Assert.Throws<IxcException>(() => Generator.Generate(new FakeDecoder(10), new GenerationConfig { EosTokenIds = [92542] }));
        Assert.Contains("92542", e.Message);
    }

    [Fact]
    public void PresetsAreUpstreamsDefaults()
    {
        var chat = GenerationConfig.Chat;
        Assert.Equal((true, 1, 1.0, 50, 0.8, 1.005, 1024), (chat.DoSample, chat.NumBeams, chat.Temperature, chat.TopK, chat.TopP, chat.RepetitionPenalty, chat.MaxNewTokens));
        Assert.Equal([2, 92542], chat.EosTokenIds);
        var write = GenerationConfig.Write(GenerationConfig.WriteMaxNewTokens(1000));
        Assert.Equal((true, 1, 40, 0.8, 1.005, 7192), (write.DoSample, write.NumBeams, write.TopK, write.TopP, write.RepetitionPenalty, write.MaxNewTokens));
        Assert.Equal([2], write.EosTokenIds);
        Assert.Equal([92542], write.StopTokenIds);
        var web = GenerationConfig.Web;
        Assert.Equal((true, 2, 1.0, 50, 1.0, 3.0, 4800), (web.DoSample, web.NumBeams, web.Temperature, web.TopK, web.TopP, web.RepetitionPenalty, web.MaxNewTokens));
        Assert.Equal(DecodingMode.BeamSample, web.Mode);
        // web: min_tokens_to_keep 2 (eos 2 is an int upstream); chat with beams: len([2, 92542]) + 1
        Assert.Equal(2, ((TopKWarper)LogitsPipeline.FromConfig(web with { TopK = 1 }).Warpers.Single()).K);
        Assert.Equal(3, ((TopKWarper)LogitsPipeline.FromConfig(chat with { NumBeams = 2, TopK = 1 }).Warpers[0]).K);
    }
}
