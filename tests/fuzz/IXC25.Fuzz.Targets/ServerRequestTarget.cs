using IXC25.Runtime;
using IXC25.Server;
using IXC25.Server.Api;

namespace IXC25.Fuzz.Targets;

/// <summary>
/// server-request: the bytes as a POST /v1/chat/completions body, read as the server reads it
/// (<see cref="CompletionRequestParser.ParseBody"/>: JSON with the body options, then the mapping of messages, images and
/// sampling fields to the engine's request). A refusal is an <see cref="ApiError"/> with a 4xx status (taken here as the
/// target's IxcException); a 5xx ApiError or any other exception is a crash, since the server would answer it with 500.
/// </summary>
public sealed class ServerRequestTarget : IFuzzTarget
{
    private static readonly ServeOptions Options = new() { MaxPixels = 1 << 20 };

    public string Name => "server-request";
    public string Description => "chat completion bodies: CompletionRequestParser.ParseBody (JSON, messages, data: URL images, sampling fields)";

    /// <summary>1 MiB + 64 per input byte: the body's JSON and the chat history (680 KB of 20,000 messages: 20 bytes per
    /// input byte); data: URL images are base64-decoded, not decoded into pixels, here.</summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 64);

    public void Execute(ReadOnlySpan<byte> data)
    {
        try
        {
            var parsed = CompletionRequestParser.ParseBody(data.ToArray(), "ixc25", Options);
            _ = parsed.Request.Customize?.Invoke(IXC25.Generation.Decoding.GenerationConfig.Chat);
            foreach (var turn in parsed.History) _ = turn.ToString();
        }
        catch (ApiError e) when (e.Status is >= 400 and < 500)
        {
            throw new IxcException(e.Message);
        }
    }
}
