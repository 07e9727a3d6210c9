using IXC25.Backends;
using IXC25.Graph;
using System.Text.Json;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Generation.Tests;

/// <summary>
/// Tolerances of this area (everything else is compared exactly). Each relaxation says why.
/// </summary>
internal static class GenerationTolerances
{
    /// <summary>
    /// log_softmax against torch: torch sums exp(x - max) in float32 lanes, we in double, so the row's
    /// log-sum differs by up to ~1 ulp (about 1e-6 at a log-sum of 11.4) and each output by that plus one
    /// rounding of the subtraction (2 ulp of values up to ~40: 8e-6).
    /// </summary>
    public const float LogSoftmaxAbs = 1e-5f;

    /// <summary>
    /// Beam sequence scores on the tiny model: logits agree with PyTorch to ~1e-6 per step (the model
    /// goldens' float32 class), 24 summed log-probabilities to ~1e-5; divided by length ** length_penalty
    /// (&gt;= 1 here). 1e-4 is the smallest margin the golden script admits between compared scores.
    /// </summary>
    public const double SequenceScoreAbs = 1e-4;
}

/// <summary>Paths and parsing of golden/generation/data (made by golden/generation/make_generation_goldens.py).</summary>
internal static class GenerationGoldens
{
    public static string Processors => RepoLayout.Path("golden", "generation", "data", "processors.safetensors");
    public static string Decoding => RepoLayout.Path("golden", "generation", "data", "decoding.json");
    public static string TinyModel => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    private static readonly Lazy<JsonElement[]> DecodingCases = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Decoding));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(e => e.Clone())];
    });

    public static IReadOnlyList<JsonElement> Cases => DecodingCases.Value;

    public static JsonElement Case(string name) => Cases.Single(c => c.GetProperty("name").GetString() == name);

    /// <summary>The case's settings as a <see cref="GenerationConfig"/>.</summary>
    public static GenerationConfig Config(JsonElement c)
    {
        var cfg = c.GetProperty("config");
        var es = cfg.GetProperty("early_stopping");
        return new GenerationConfig
        {
            MaxNewTokens = cfg.GetProperty("max_new_tokens").GetInt32(),
            DoSample = cfg.GetProperty("do_sample").GetBoolean(),
            NumBeams = cfg.GetProperty("num_beams").GetInt32(),
            RepetitionPenalty = cfg.GetProperty("repetition_penalty").GetDouble(),
            LengthPenalty = cfg.GetProperty("length_penalty").GetDouble(),
            EarlyStopping = es.ValueKind switch
            {
                JsonValueKind.True => EarlyStopping.Immediate,
                JsonValueKind.False => EarlyStopping.Heuristic,
                _ when es.GetString() == "never" => EarlyStopping.Never,
                _ => throw new InvalidOperationException($"early_stopping {es}"),
            },
            EosTokenIds = [.. cfg.GetProperty("eos_token_id").EnumerateArray().Select(e => e.GetInt32())],
        };
    }
}

/// <summary>
/// The tiny checkpoint, opened once per backend for the tests of the "tiny model" collection (a model is
/// not thread-safe, so those tests run one after another), with the golden prompts prefilled once each.
/// </summary>
public sealed class TinyModelFixture : IDisposable
{
    /// <summary>The backends the decoding goldens run on (every one this machine has without hardware).</summary>
    public static readonly string[] Backends = ["cpu", "reference", "gpu-sim"];

    private readonly Dictionary<(string Backend, string Name), PrefilledPrompt> _prompts = [];
    private readonly Dictionary<string, Ixc25Model> _models = [];

    /// <summary>The model on the CPU backend.</summary>
    public Ixc25Model Model => On("cpu");

    /// <summary>The model on a backend (opened on first use).</summary>
    public Ixc25Model On(string backend)
    {
        if (!_models.TryGetValue(backend, out var m))
            _models[backend] = m = Ixc25Model.Open(GenerationGoldens.TinyModel, new ModelOptions(Backend: backend));
        return m;
    }

    /// <summary>The decoder of a golden prompt (image, text, text_ids) on a backend, whose prefill runs once and is then forked.</summary>
    public IDecoderModel Prompt(string name, string backend = "cpu")
    {
        if (_prompts.TryGetValue((backend, name), out var p)) return p;
        var Model = On(backend);
        var c = GenerationGoldens.Cases.First(c => c.GetProperty("prompt").GetString() == name);
        string query = c.GetProperty("query").GetString()!;
        var images = c.GetProperty("images").EnumerateArray().Select(i => new MediaInput(RepoLayout.Path("golden", "media", i.GetString()!))).ToList();
        var history = c.GetProperty("history").EnumerateArray().Select(h => new ChatTurn(h[0].GetString()!, h[1].GetString()!)).ToList();
        var decoder = c.GetProperty("kind").GetString() == "input_ids"
            ? new Ixc25Decoder(Model, PreparedPrompt.TextOnly(Model.Tokenizer, query, history), PromptInput.InputIds)
            : new Ixc25Decoder(Model, PreparedPrompt.Chat(Model.Tokenizer, query, images, history));
        Assert.Equal(c.GetProperty("prompt_length").GetInt32(), decoder.PromptLength);
        return _prompts[(backend, name)] = new PrefilledPrompt(decoder);
    }

    public void Dispose()
    {
        foreach (var m in _models.Values) m.Dispose();
    }

    private sealed class PrefilledPrompt(IDecoderModel inner) : IDecoderModel
    {
        private IDecoderSequence? _sequence;
        private float[]? _logits;

        public int VocabSize => inner.VocabSize;
        public IReadOnlyList<int> PromptInputIds => inner.PromptInputIds;

        public IDecoderSequence Prefill(Span<float> logits)
        {
            if (_sequence is null)
            {
                _logits = new float[VocabSize];
                _sequence = inner.Prefill(_logits);
            }
            _logits.CopyTo(logits);
            return _sequence.Fork();
        }
    }
}

[CollectionDefinition("tiny model")]
public sealed class TinyModelCollection : ICollectionFixture<TinyModelFixture>;
