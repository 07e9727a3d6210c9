using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;

namespace IXC25.Conformance.Engine;

/// <summary>tokenize: InternLM2Tokenizer.Encode (special literals split out, byte fallback, BOS when asked).</summary>
public sealed class TokenizeEngine : IEngineSurface
{
    public string Name => "tokenize";

    public PortReply Handle(PortRequest request, EngineContext context)
    {
        var tokenizer = context.Tokenizer;
        var ids = tokenizer.Encode((string)request.Fields["text"]!, (bool)request.Fields["add_bos"]!);
        return PortReply.Ok(new JsonObject { ["ids"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()) });
    }
}
