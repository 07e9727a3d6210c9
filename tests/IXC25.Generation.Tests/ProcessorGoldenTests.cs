using System.Text.Json;
using IXC25.Generation.Decoding;
using IXC25.Runtime.IO;

namespace IXC25.Generation.Tests;

/// <summary>
/// Logits processors and warpers against transformers 4.33's (golden/reference/generation_ref.py via
/// golden/generation/make_generation_goldens.py): float32 elementwise results, compared bit for bit
/// (-inf where filtered); log_softmax within <see cref="GenerationTolerances.LogSoftmaxAbs"/>.
/// </summary>
public sealed class ProcessorGoldenTests : IDisposable
{
    private readonly SafetensorsFile _golden = new(GenerationGoldens.Processors);

    public void Dispose() => _golden.Dispose();

    private static List<string> Names()
    {
        using var f = new SafetensorsFile(GenerationGoldens.Processors);
        return [.. JsonDocument.Parse(f.Metadata["cases"]).RootElement.EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];
    }

    public static TheoryData<string> CaseNames() => [.. Names()];

    [Fact]
    public void GoldenCoversEveryKindOfCase()
    {
        var names = Names();
        foreach (var prefix in new[] { "repetition_", "temperature_", "top_k_", "top_p_", "chain_", "pipeline_chat", "pipeline_write", "pipeline_web_beam", "pipeline_greedy_beams" })
            Assert.Contains(names, n => n.StartsWith(prefix, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MatchesTransformers(string name)
    {
        var c = JsonDocument.Parse(_golden.Metadata["cases"]).RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var input = _golden[c.GetProperty("scores").GetString()!];
        int rows = (int)input.Shape[0], V = (int)input.Shape[1];
        var scores = input.AsSpan<float>().ToArray();
        int[][] ids = [.. Enumerable.Range(0, rows).Select(_ => Array.Empty<int>())];
        if (c.GetProperty("ids").ValueKind == JsonValueKind.String)
        {
            var t = _golden[c.GetProperty("ids").GetString()!];
            int L = (int)t.Shape[1];
            var all = t.AsSpan<long>();
            for (int r = 0; r < rows; r++) ids[r] = [.. all.Slice(r * L, L).ToArray().Select(x => (int)x)];
        }
        for (int r = 0; r < rows; r++)
        {
            var row = scores.AsSpan(r * V, V);
            if (c.TryGetProperty("chain", out var chain))
                foreach (var op in chain.EnumerateArray()) Apply(op, r, ids[r], row);
            else
                ApplyConfig(c.GetProperty("config"), r, ids[r], row);
        }
        var expected = new float[rows * V];
        if (c.GetProperty("out").GetString() == "dense")
        {
            _golden[name + ".out"].AsSpan<float>().CopyTo(expected);
        }
        else
        {
            Array.Fill(expected, float.NegativeInfinity);
            var kept = _golden[name + ".kept"].AsSpan<long>();
            var values = _golden[name + ".kept_values"].AsSpan<float>();
            for (int i = 0; i < kept.Length; i++) expected[kept[i]] = values[i];
        }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(scores[i]),
                $"{name}: row {i / V} token {i % V}: expected {expected[i]:R}, got {scores[i]:R}");
    }

    private static void Apply(JsonElement op, int row, int[] ids, Span<float> scores)
    {
        ILogitsProcessor p = op.GetProperty("op").GetString() switch
        {
            "repetition_penalty" => new RepetitionPenaltyProcessor(op.GetProperty("penalty").GetDouble()),
            "temperature" => new TemperatureWarper(op.GetProperty("temperature").GetDouble()),
            "top_k" => new TopKWarper(op.GetProperty("top_k").GetInt32(), op.GetProperty("min_tokens_to_keep").GetInt32()),
            "top_p" => new TopPWarper(op.GetProperty("top_p").GetDouble(), op.GetProperty("min_tokens_to_keep").GetInt32()),
            var other => throw new InvalidOperationException(other),
        };
        p.Process(ids, scores);
    }

    /// <summary>
    /// The lists generate() builds for a configuration, applied as the generator applies them: sample() /
    /// greedy on logits, beam_sample() / beam_search on log-probabilities plus a beam score.
    /// </summary>
    private static void ApplyConfig(JsonElement cfg, int row, int[] ids, Span<float> scores)
    {
        var eos = cfg.GetProperty("eos_token_id");
        var config = new GenerationConfig
        {
            DoSample = cfg.GetProperty("do_sample").GetBoolean(),
            NumBeams = cfg.GetProperty("num_beams").GetInt32(),
            Temperature = cfg.TryGetProperty("temperature", out var t) ? t.GetDouble() : 1.0,
            TopK = cfg.TryGetProperty("top_k", out var k) ? k.GetInt32() : 50,
            TopP = cfg.TryGetProperty("top_p", out var p) ? p.GetDouble() : 1.0,
            RepetitionPenalty = cfg.GetProperty("repetition_penalty").GetDouble(),
            EosTokenIds = eos.ValueKind == JsonValueKind.Array ? [.. eos.EnumerateArray().Select(e => e.GetInt32())] : [eos.GetInt32()],
        };
        var pipeline = LogitsPipeline.FromConfig(config);
        if (cfg.TryGetProperty("beam_scores", out var beam))
            pipeline.ApplyToBeamRow(ids, scores, (float)beam[row].GetDouble());
        else
            pipeline.ApplyToLogits(ids, scores);
    }

    [Fact]
    public void LogSoftmaxIsCloseToTorch()
    {
        var x = _golden["log_softmax.scores"];
        var expected = _golden["log_softmax.out"].AsSpan<float>();
        int rows = (int)x.Shape[0], V = (int)x.Shape[1];
        var ours = new float[V];
        for (int r = 0; r < rows; r++)
        {
            ScoreMath.LogSoftmax(x.AsSpan<float>().Slice(r * V, V), ours);
            for (int i = 0; i < V; i++)
            {
                float e = expected[r * V + i];
                if (float.IsNegativeInfinity(e)) { Assert.True(float.IsNegativeInfinity(ours[i]), $"row {r} token {i}: expected -inf, got {ours[i]}"); continue; }
                Assert.True(Math.Abs(e - ours[i]) <= GenerationTolerances.LogSoftmaxAbs, $"row {r} token {i}: expected {e:R}, got {ours[i]:R}");
            }
        }
    }
}
