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
