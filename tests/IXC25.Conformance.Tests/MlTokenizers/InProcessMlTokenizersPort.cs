using System.Text.Json.Nodes;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;
using IXC25.Tokenizer;
using MlTokenizersPort;

namespace IXC25.Conformance.Tests.MlTokenizers;

/// <summary>
/// The Microsoft.ML.Tokenizers port of examples/MlTokenizersPort driven in-process: its
/// <see cref="MlTokenizersTokenizer"/> as an <see cref="IPort"/>, without a process (what a .NET port's own
/// xunit tests do with the kit).
/// </summary>
public sealed class InProcessMlTokenizersPort(SpecialTokenSplit split) : IPort
{
    private readonly MlTokenizersTokenizer _tokenizer = new(InternLM2Tokenizer.BundledModelPath, split);

    public PortInfo Info { get; } = new($"ml-tokenizers ({split})", "in-process", ["tokenize"]);

    public PortReply Call(PortRequest request)
    {
        if (request.Surface != "tokenize") return PortReply.Error($"surface '{request.Surface}' is not implemented (only tokenize)");
        var ids = _tokenizer.Encode((string)request.Fields["text"]!, (bool)request.Fields["add_bos"]!);
        return PortReply.Ok(new JsonObject { ["ids"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()) });
    }

    public void Dispose() { }
}
