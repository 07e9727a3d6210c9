using IXC25.Backends;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;

namespace IXC25.Server.Tests;

/// <summary>
/// One tiny-checkpoint engine for every test class (the collection runs its classes one after another, so timings and
/// queue states do not interfere), served on loopback on free ports: <see cref="Main"/> with an API key, 4 slots and
/// a 64-deep queue; <see cref="Small"/> with 1 slot, a 1-deep queue and a 256 KiB body limit.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string Key = "test-key-1234";
    public const string SmallKey = "small-key";

    /// <summary>The serialized engine: the "run alone" reference and the small server's engine.</summary>
    public ChatEngine Engine { get; } = ChatEngine.Load(RepoLayout.Path("golden", "model", "tiny", "safetensors"));

    /// <summary>The main server's engine, as `ixc25 serve` makes it (ServeOptions.CreateEngine): concurrent requests decoded together.</summary>
    public ChatEngine Batched { get; } = MainOptions.CreateEngine(Ixc25Model.Open(RepoLayout.Path("golden", "model", "tiny", "safetensors")));

    private static ServeOptions MainOptions { get; } = new() { Port = 0, ApiKey = Key, MaxBatch = 4, MaxQueue = 64 };
    public IxcServer Main { get; private set; } = null!;
    public IxcServer Small { get; private set; } = null!;
    public StringWriter MainLog { get; } = new();
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(120) };

    public static byte[] Cars { get; } = File.ReadAllBytes(RepoLayout.Path("golden", "media", "cars1.jpg"));
    public static string CarsDataUrl { get; } = "data:image/jpeg;base64," + Convert.ToBase64String(Cars);

    public async Task InitializeAsync()
    {
        Main = await IxcServer.StartAsync(Batched, MainOptions with { Log = TextWriter.Synchronized(MainLog) });
        Small = await IxcServer.StartAsync(Engine, new ServeOptions { Port = 0, ApiKey = SmallKey, MaxBatch = 1, MaxQueue = 1, MaxBodyBytes = 256 << 10, Log = TextWriter.Null });
    }

    public async Task DisposeAsync()
    {
        await Main.DisposeAsync();
        await Small.DisposeAsync();
        Http.Dispose();
        Engine.Dispose();
        Batched.Dispose();
    }

    /// <summary>The engine's own answer to a request, run alone (what every served answer must equal).</summary>
    public ChatReply RunAlone(string question, IReadOnlyList<MediaInput>? media = null, Func<GenerationConfig, GenerationConfig>? customize = null) =>
        Engine.Run(new ChatRequest { Question = question, Media = media ?? [], Customize = customize }, []);

    public static GenerationConfig Greedy(GenerationConfig g, int tokens) => g with { DoSample = false, MaxNewTokens = tokens };

    /// <summary>POSTs a JSON body to /v1/chat/completions of <paramref name="server"/>.</summary>
    public Task<HttpResponseMessage> Post(IxcServer server, object body, string? key = Key, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken ct = default) =>
        PostRaw(server, JsonSerializer.Serialize(body), key, completion, ct);

    public Task<HttpResponseMessage> PostRaw(IxcServer server, string json, string? key = Key, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken ct = default)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "v1/chat/completions"))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (key is not null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return Http.SendAsync(req, completion, ct);
    }

    /// <summary>The value of a Prometheus sample line (name with labels, exactly), or 0 when absent.</summary>
    public async Task<double> Metric(IxcServer server, string sample)
    {
        string text = await Http.GetStringAsync(new Uri(server.BaseAddress, "metrics"));
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(sample + " ", StringComparison.Ordinal))
                return double.Parse(line[(sample.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    public static Task Until(Func<bool> condition, string what, double seconds = 30) => Until(() => Task.FromResult(condition()), what, seconds);

    /// <summary>Waits (polling) until <paramref name="condition"/> holds; fails after <paramref name="seconds"/>.</summary>
    public static async Task Until(Func<Task<bool>> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for: {what}");
            await Task.Delay(10);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
