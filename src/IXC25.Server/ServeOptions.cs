using IXC25.Generation.Batching;
using IXC25.Generation.Chat;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Vision.Imaging;

namespace IXC25.Server;

/// <summary>
/// Everything `ixc25 serve` is told besides the model: where it listens, who may call it, and its limits.
/// </summary>
public sealed record ServeOptions
{
    /// <summary>Largest accepted <see cref="MaxBatch"/>.</summary>
    public const int MaxBatchLimit = 256;

    /// <summary>Largest accepted <see cref="MaxQueue"/> (each waiting request holds its decoded body and images).</summary>
    public const int MaxQueueLimit = 100_000;

    /// <summary>Address to bind; loopback by default (the server has no TLS: put a proxy in front to expose it).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="IxcServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, /v1/* requires <c>Authorization: Bearer KEY</c> (compared in constant time).</summary>
    public string? ApiKey { get; init; }

    /// <summary>
    /// Requests generating at once, decoded together (one pass over the weights per step for all of them). Handed to the
    /// engine in one place only: <see cref="CreateEngine"/>.
    /// </summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Requests waiting for a generation slot; one more is answered 429 with Retry-After.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Largest request body (base64 images included); larger is 413.</summary>
    public long MaxBodyBytes { get; init; } = 64L << 20;

    /// <summary>Largest image (width x height) accepted: the front end's decompression-bomb guard, checked from the header.</summary>
    public long MaxPixels { get; init; } = 64_000_000;

    /// <summary>How long a shutdown (Ctrl-C, SIGTERM) lets running generations finish before cancelling them.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The id of the one model served (GET /v1/models; the "model" field must name it); null: the model folder's name.</summary>
    public string? ModelId { get; init; }

    /// <summary>Where the one-line JSON request log goes; null: standard error.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Throws <see cref="IxcException"/> naming the first option out of range (the CLI's flag names).</summary>
    public void Validate()
    {
        _ = Address;
        if (Port is < 0 or > 65535) throw new IxcException($"--port must be between 0 and 65535 (got {Port})");
        if (ApiKey is { } k && (k.Length == 0 || k.Any(char.IsWhiteSpace)))
            throw new IxcException("--api-key must be a non-empty string without spaces");
        if (MaxBatch is < 1 or > MaxBatchLimit) throw new IxcException($"--max-batch must be between 1 and {MaxBatchLimit} (got {MaxBatch})");
        if (MaxQueue is < 0 or > MaxQueueLimit) throw new IxcException($"--max-queue must be between 0 and {MaxQueueLimit} (got {MaxQueue})");
        if (MaxBodyBytes < 1024) throw new IxcException($"--max-body must be at least 1024 bytes (got {MaxBodyBytes})");
        if (MaxPixels < 1) throw new IxcException($"--max-pixels must be positive (got {MaxPixels})");
        if (ShutdownGrace < TimeSpan.Zero) throw new IxcException("the shutdown grace period must not be negative");
    }

    internal DecodeOptions Decode => new(MaxPixels);

    /// <summary>The address to bind: an IP address, or localhost (loopback).</summary>
    internal System.Net.IPAddress Address =>
        Host == "localhost" ? System.Net.IPAddress.Loopback
        : System.Net.IPAddress.TryParse(Host, out var ip) ? ip
        : throw new IxcException($"--host must be an IP address or localhost (got '{Host}')");

    /// <summary>
    /// The engine the server runs: <see cref="MaxBatch"/> concurrent requests decoded together (batched decode, each
    /// request bit-identical to the same request alone on a fresh engine; docs/SERVING.md). 1 serializes them on the
    /// model's own rotary module, as `ixc25 chat` does.
    /// </summary>
    public ChatEngine CreateEngine(Ixc25Model model) => ChatEngine.FromModel(model, new BatchOptions(MaxBatch));
}
