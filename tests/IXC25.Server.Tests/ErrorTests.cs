using System.Net;
using System.Text.Json;

namespace IXC25.Server.Tests;

/// <summary>Bad requests: OpenAI's error shape {"error":{"message","type","param","code"}} with the right status, and the server goes on.</summary>
[Collection(ServerCollection.Name)]
public sealed class ErrorTests(ServerFixture f)
{
    private object Body(object content, string? model = null, int maxTokens = 4, object? extra = null)
    {
        var d = new Dictionary<string, object?>
        {
            ["model"] = model ?? f.Main.ModelId,
            ["messages"] = new[] { new Dictionary<string, object> { ["role"] = "user", ["content"] = content } },
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
        };
        if (extra is not null)
            foreach (var p in extra.GetType().GetProperties()) d[p.Name] = p.GetValue(extra);
        return d;
    }

    private static object[] ImageParts(string url) =>
        [new { type = "text", text = "What is this?" }, new { type = "image_url", image_url = new { url } }];

    private static async Task<JsonElement> Error(HttpResponseMessage r, HttpStatusCode status)
    {
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(status == r.StatusCode, $"expected {(int)status}, got {(int)r.StatusCode}: {body}");
        Assert.StartsWith("application/json", r.Content.Headers.ContentType?.ToString());
        var e = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("type").GetString()));
        Assert.True(e.TryGetProperty("param", out _) && e.TryGetProperty("code", out _));
        return e;
    }

    [Fact]
    public async Task BadBase64IsA400NamingThePart()
    {
        var e = await Error(await f.Post(f.Main, Body(ImageParts("data:image/png;base64,@@@not base64@@@"))), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_base64", e.GetProperty("code").GetString());
        Assert.Equal("messages[0].content[1].image_url.url", e.GetProperty("param").GetString());
    }

    [Fact]
    public async Task BytesThatAreNotAnImageAreA400()
    {
        var e = await Error(await f.Post(f.Main, Body(ImageParts("data:image/png;base64," + Convert.ToBase64String("hello, not an image"u8.ToArray())))), HttpStatusCode.BadRequest);
        Assert.StartsWith("messages[0].content[1] (image): ", e.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AnImageAboveThePixelLimitIsRefusedFromItsHeader()
    {
        // a PNG whose header declares 20000 x 20000 (400 M pixels, above the 64 M default) and holds no pixel data: a bomb
        var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, (byte)'I', (byte)'H', (byte)'D', (byte)'R' };
        png.AddRange([0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20, 8, 2, 0, 0, 0, 0, 0, 0, 0]);
        var e = await Error(await f.Post(f.Main, Body(ImageParts("data:image/png;base64," + Convert.ToBase64String([.. png])))), HttpStatusCode.BadRequest);
        Assert.Contains("20000x20000", e.GetProperty("message").GetString());
        Assert.Contains("exceeds the limit of 64000000", e.GetProperty("message").GetString());
    }

    [Fact]
    public async Task HttpImageUrlsAreRefusedBecauseTheServerIsOffline()
    {
        var e = await Error(await f.Post(f.Main, Body(ImageParts("https://example.com/cat.png"))), HttpStatusCode.BadRequest);
        Assert.Equal("image_url_not_supported", e.GetProperty("code").GetString());
        Assert.Contains("offline", e.GetProperty("message").GetString());
    }

    [Fact]
    public async Task UnknownModelIsA404()
    {
        var e = await Error(await f.Post(f.Main, Body("hi", model: "gpt-4o")), HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", e.GetProperty("code").GetString());
        Assert.Equal("model", e.GetProperty("param").GetString());
    }

    [Fact]
    public async Task MissingOrWrongApiKeyIsA401()
    {
        var missing = await Error(await f.Post(f.Main, Body("hi"), key: null), HttpStatusCode.Unauthorized);
        Assert.Contains("missing API key", missing.GetProperty("message").GetString());
        var wrong = await Error(await f.Post(f.Main, Body("hi"), key: ServerFixture.Key + "x"), HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_api_key", wrong.GetProperty("code").GetString());
        // the page, health and metrics need no key
        Assert.Equal(HttpStatusCode.OK, (await f.Http.GetAsync(new Uri(f.Main.BaseAddress, "health"))).StatusCode);
        var models = await f.Http.GetAsync(new Uri(f.Main.BaseAddress, "v1/models"));
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
    }

    [Fact]
    public async Task MoreThanOneChoiceIsRefused()
    {
        var e = await Error(await f.Post(f.Main, Body("hi", extra: new { n = 2 })), HttpStatusCode.BadRequest);
        Assert.Equal("n", e.GetProperty("param").GetString());
    }

    [Fact]
    public async Task MalformedJsonAndMissingFieldsAreA400()
    {
        await Error(await f.PostRaw(f.Main, "{\"model\": "), HttpStatusCode.BadRequest);
        var e = await Error(await f.PostRaw(f.Main, "{\"model\": \"" + f.Main.ModelId + "\"}"), HttpStatusCode.BadRequest);
        Assert.Equal("messages", e.GetProperty("param").GetString());
        var t = await Error(await f.Post(f.Main, Body("hi", extra: new { temperature = 3 })), HttpStatusCode.BadRequest);
        Assert.Equal("temperature", t.GetProperty("param").GetString());
        var last = await Error(await f.PostRaw(f.Main, "{\"model\":\"" + f.Main.ModelId + "\",\"messages\":[{\"role\":\"assistant\",\"content\":\"x\"}]}"), HttpStatusCode.BadRequest);
        Assert.Contains("last message", last.GetProperty("message").GetString());
    }

    [Fact]
    public async Task PromptLongerThanMaxLengthAndTooManyTokensAreA400()
    {
        // 16384 is the chat mode's max_length: upstream cuts the prompt, the server refuses it
        var e = await Error(await f.Post(f.Main, Body(string.Join(' ', Enumerable.Repeat("token", 17000)))), HttpStatusCode.BadRequest);
        Assert.Contains("more than max_length 16384", e.GetProperty("message").GetString());
        var m = await Error(await f.Post(f.Main, Body("hi", maxTokens: 200_000)), HttpStatusCode.BadRequest);
        Assert.Contains("exceeds the context", m.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ABodyAboveTheLimitIsA413()
    {
        string big = new('a', 300 << 10);
        var e = await Error(await f.Post(f.Small, Body(big), key: ServerFixture.SmallKey), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("262144", e.GetProperty("message").GetString());
    }

    [Fact]
    public async Task UnknownPathsAreA404InTheErrorShape()
    {
        var req = new HttpRequestMessage(HttpMethod.Get, new Uri(f.Main.BaseAddress, "v1/nothing"));
        req.Headers.Authorization = new("Bearer", ServerFixture.Key);
        await Error(await f.Http.SendAsync(req), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ABodyThatIsNotUtf8OrRepeatsANameIsA400()
    {
        // found by the server-request fuzz target: an invalid UTF-8 string in a message was a 500 (the JSON reader
        // throws InvalidOperationException when the string is read); a repeated name meant whichever a reader took
        async Task<JsonElement> Send(byte[] bytes)
        {
            var req = new HttpRequestMessage(HttpMethod.Post, new Uri(f.Main.BaseAddress, "v1/chat/completions")) { Content = new ByteArrayContent(bytes) };
            req.Content.Headers.ContentType = new("application/json");
            req.Headers.Authorization = new("Bearer", ServerFixture.Key);
            return await Error(await f.Http.SendAsync(req), HttpStatusCode.BadRequest);
        }
        string head = "{\"model\":\"" + f.Main.ModelId + "\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        byte[] bad = [.. System.Text.Encoding.UTF8.GetBytes(head), 0xFF, 0xFE, .. "\"}]}"u8.ToArray()];
        var e = await Send(bad);
        Assert.Equal($"the request body is not valid UTF-8 (byte {head.Length})", e.GetProperty("message").GetString());
        var d = await Send(System.Text.Encoding.UTF8.GetBytes("{\"model\":\"" + f.Main.ModelId + "\",\"model\":\"other\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"));
        Assert.Contains("Duplicate property 'model'", d.GetProperty("message").GetString());
        // an escaped lone surrogate is valid JSON but no readable string (found by the port protocol's hostile property)
        var l = await Send(System.Text.Encoding.UTF8.GetBytes("{\"model\":\"" + f.Main.ModelId + "\",\"messages\":[{\"role\":\"user\",\"content\":\"a\\ude2d\"}]}"));
        Assert.StartsWith("the request body holds a string that is not valid text", l.GetProperty("message").GetString());
    }
}
