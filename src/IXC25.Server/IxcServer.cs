using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IXC25.Generation.Chat;
using IXC25.Runtime;
using IXC25.Server.Api;
using IXC25.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace IXC25.Server;

/// <summary>
/// `ixc25 serve`: an OpenAI-compatible server over a <see cref="ChatEngine"/> on Kestrel (minimal APIs).
/// <list type="bullet">
/// <item>POST /v1/chat/completions (JSON or server-sent events), GET /v1/models, GET /v1/models/{id}: docs/SERVER.md.</item>
/// <item>GET /health, GET /metrics (Prometheus text format), GET / (the chat page).</item>
/// </list>
/// /v1/* needs <c>Authorization: Bearer KEY</c> when <see cref="ServeOptions.ApiKey"/> is set. Ctrl-C / SIGTERM (or
/// <see cref="StopAsync"/>) stop accepting, let running generations finish for <see cref="ServeOptions.ShutdownGrace"/>,
/// then cancel them.
/// </summary>
public sealed class IxcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerContext _context;

    private IxcServer(WebApplication app, ServerContext context)
    {
        _app = app;
        _context = context;
    }

    /// <summary>The address it listens on (the port chosen when <see cref="ServeOptions.Port"/> is 0).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public string ModelId => _context.ModelId;

    public ChatEngine Engine => _context.Engine;

    /// <summary>Requests waiting for a generation slot, and holding one (tests, /metrics).</summary>
    public (int Waiting, int Running) Load => (_context.Admission.Waiting, _context.Admission.Running);

    /// <summary>Binds and starts serving; the engine stays the caller's.</summary>
    public static async Task<IxcServer> StartAsync(ChatEngine engine, ServeOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var address = options.Address;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "IXC25.Server" });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(5));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, options.Port);
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        string modelId = options.ModelId ?? DefaultModelId(engine);
        var context = new ServerContext(engine, options, modelId);
        var server = new IxcServer(app, context);
        server.Map(options.Log ?? Console.Error);
        app.Lifetime.ApplicationStopping.Register(context.BeginShutdown);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new IxcException($"cannot listen on {options.Host}:{options.Port} ({e.Message})", e);
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal) + "/");
        return server;
    }

    private void Map(TextWriter log)
    {
        var app = _app;
        var ctx = _context;
        app.Use(new RequestLog(log).Middleware);
        app.Use(ApiKeyCheck(ctx.Options.ApiKey));
        app.MapGet("/", (HttpContext h) => ChatPage.Write(h));
        app.MapGet("/health", (HttpContext h) => Health(h, ctx));
        app.MapGet("/metrics", async (HttpContext h) =>
        {
            h.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await ctx.Metrics.Registry.CollectAndExportAsTextAsync(h.Response.Body, h.RequestAborted);
        });
        app.MapGet("/v1/models", (HttpContext h) => Json(h, w =>
        {
            w.WriteStartObject();
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            ModelObject(w, ctx.ModelId);
            w.WriteEndArray();
            w.WriteEndObject();
        }));
        app.MapGet("/v1/models/{id}", (HttpContext h, string id) => id == ctx.ModelId
            ? Json(h, w => ModelObject(w, id))
            : ApiError.NotFound($"the model '{id}' does not exist; this server serves '{ctx.ModelId}'", "model", "model_not_found").WriteAsync(h.Response));
        app.MapPost("/v1/chat/completions", (HttpContext h) => ChatCompletionsEndpoint.Handle(h, ctx));
        app.MapFallback((HttpContext h) =>
            ApiError.NotFound($"{h.Request.Method} {h.Request.Path} is not an endpoint of this server (POST /v1/chat/completions, GET /v1/models, /health, /metrics, /)", null, "unknown_url").WriteAsync(h.Response));
    }

    /// <summary>/v1/* requires the key when one is set; compared through SHA-256 digests in constant time (no length leak).</summary>
    private static Func<HttpContext, RequestDelegate, Task> ApiKeyCheck(string? apiKey)
    {
        byte[]? expected = apiKey is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));
        return async (h, next) =>
        {
            if (expected is not null && h.Request.Path.StartsWithSegments("/v1"))
            {
                string auth = h.Request.Headers.Authorization.ToString();
                if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                {
                    await ApiError.Unauthorized("missing API key: send 'Authorization: Bearer KEY'").WriteAsync(h.Response);
                    return;
                }
                byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(auth[7..].Trim()));
                if (!CryptographicOperations.FixedTimeEquals(given, expected))
                {
                    await ApiError.Unauthorized("incorrect API key").WriteAsync(h.Response);
                    return;
                }
            }
            await next(h);
        };
    }

    private static Task Health(HttpContext h, ServerContext ctx)
    {
        bool stopping = ctx.Stopping.IsCancellationRequested;
        h.Response.StatusCode = stopping ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        return Json(h, w =>
        {
            w.WriteStartObject();
            w.WriteString("status", stopping ? "shutting_down" : "ok");
            w.WriteString("model", ctx.ModelId);
            w.WriteNumber("queue_depth", ctx.Admission.Waiting);
            w.WriteNumber("running", ctx.Admission.Running);
            w.WriteEndObject();
        });
    }

    private static void ModelObject(Utf8JsonWriter w, string id)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", "model");
        w.WriteNumber("created", 0);
        w.WriteString("owned_by", "ixc25");
        w.WriteEndObject();
    }

    private static async Task Json(HttpContext h, Action<Utf8JsonWriter> body)
    {
        h.Response.ContentType = "application/json";
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) body(w);
        await h.Response.Body.WriteAsync(ms.ToArray(), h.RequestAborted);
    }

    /// <summary>The model folder's name (the last path component of the model's name), as lmdeploy and vLLM name a served model.</summary>
    private static string DefaultModelId(ChatEngine engine)
    {
        string name = engine.Model.Name.TrimEnd('/', '\\');
        string last = Path.GetFileName(name);
        return last.Length > 0 ? last : name;
    }

    /// <summary>Completes when the server has stopped (Ctrl-C, SIGTERM or <see cref="StopAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops accepting, lets running generations finish within the grace period, cancels the rest.</summary>
    public async Task StopAsync()
    {
        _context.BeginShutdown();
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        _context.Dispose();
    }
}
