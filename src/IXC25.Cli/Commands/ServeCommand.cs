using System.CommandLine;
using System.Globalization;
using IXC25.Server;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 serve --model DIR [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--max-batch N] [--max-queue N]`: the
/// OpenAI-compatible server and the chat page (docs/SERVER.md). Runs until Ctrl-C or SIGTERM, which let running
/// generations finish for --shutdown-grace seconds and then cancel them.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var o = new ModelOptionSet();
        var d = new ServeOptions();
        var host = new Option<string>("--host") { Description = "address to listen on (loopback by default; 0.0.0.0 exposes the server: set --api-key)", DefaultValueFactory = _ => d.Host };
        var port = new Option<int>("--port") { Description = "TCP port (0: a free one, printed)", DefaultValueFactory = _ => d.Port }.Within(0, 65535);
        var apiKey = new Option<string?>("--api-key") { Description = "require 'Authorization: Bearer KEY' on /v1/* (or set IXC25_API_KEY)" };
        var maxBatch = new Option<int>("--max-batch") { Description = $"requests generating at once, decoded together", DefaultValueFactory = _ => d.MaxBatch }.Within(1, ServeOptions.MaxBatchLimit);
        var maxQueue = new Option<int>("--max-queue") { Description = "requests waiting for a slot; one more is answered 429 with Retry-After", DefaultValueFactory = _ => d.MaxQueue }.Within(0, ServeOptions.MaxQueueLimit);
        var maxBody = new Option<long>("--max-body") { Description = "largest request body in bytes (413 beyond)", DefaultValueFactory = _ => d.MaxBodyBytes }.Within(1024L, long.MaxValue);
        var maxPixels = new Option<long>("--max-pixels") { Description = "largest image in pixels (width x height), refused from its header", DefaultValueFactory = _ => d.MaxPixels }.Within(1L, long.MaxValue);
        var grace = new Option<double>("--shutdown-grace") { Description = "seconds running generations may finish after Ctrl-C / SIGTERM before they are cancelled", DefaultValueFactory = _ => d.ShutdownGrace.TotalSeconds }.Within(0, 3600);
        var modelId = new Option<string?>("--model-id") { Description = "the model's id in the API (default: the model folder's name)" };
        var cmd = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, streaming, images as data: URLs) with a chat page at /.")
        {
            host, port, apiKey, maxBatch, maxQueue, maxBody, maxPixels, grace, modelId,
        };
        o.AddTo(cmd);
        cmd.SetAction(async (r, ct) =>
        {
            var err = r.InvocationConfiguration.Error;
            double g = r.GetValue(grace);
            var options = new ServeOptions
            {
                Host = r.GetValue(host)!,
                Port = r.GetValue(port),
                ApiKey = r.GetValue(apiKey) ?? NullIfEmpty(Environment.GetEnvironmentVariable("IXC25_API_KEY")),
                MaxBatch = r.GetValue(maxBatch),
                MaxQueue = r.GetValue(maxQueue),
                MaxBodyBytes = r.GetValue(maxBody),
                MaxPixels = r.GetValue(maxPixels),
                ShutdownGrace = TimeSpan.FromSeconds(g),
                ModelId = r.GetValue(modelId),
                Log = err,
            };
            options.Validate();   // before the (slow) model load
            using var model = o.Open(r, err);
            using var engine = options.CreateEngine(model);
            await using var server = await IxcServer.StartAsync(engine, options, ct);
            err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"serving '{server.ModelId}' on {server.BaseAddress} (chat page at /, API at /v1; {(options.ApiKey is null ? "no API key" : "API key required")}; max batch {options.MaxBatch}, queue {options.MaxQueue}); Ctrl-C stops"));
            err.Flush();
            await server.WaitForShutdownAsync(CancellationToken.None);
            err.WriteLine("stopped");
            return 0;
        });
        return cmd;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
