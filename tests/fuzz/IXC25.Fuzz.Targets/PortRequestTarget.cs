using System.Text;
using System.Text.Json.Nodes;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;

namespace IXC25.Fuzz.Targets;

/// <summary>
/// port-request: the bytes as request lines of the port protocol (spec/port.json), each read by
/// PortRequest.Parse and, when it is a request, answered by the engine's port (EnginePort.Call: the surface
/// lookup, the spec's field checks, the work folder) with the light surfaces real (tokenize, prompt) and the
/// heavy ones (partition, rope, op, layer, model) replaced by <see cref="CheckedOnly"/>; the work folder is
/// the scratch folder. The reply must serialize.
/// </summary>
public sealed class PortRequestTarget : IFuzzTarget
{
    private static readonly Lazy<EnginePort> Port = new(() => new EnginePort("reference", 1,
        EngineSurfaces.All.Select(s => s.Name is "tokenize" or "prompt" ? s : new CheckedOnly(s.Name))));

    public string Name => "port-request";
    public string Description => "protocol request lines: PortRequest.Parse, EnginePort.Call (tokenize and prompt real, others checked only)";

    /// <summary>1 MiB + 160 per input byte: JSON trees of the request lines, and the replies; a 230 KB tokenize request
    /// allocates 72 bytes per input byte, a 200 KB line of 100,000 numbers 107.</summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 160);

    public void Execute(ReadOnlySpan<byte> data)
    {
        string dir = Scratch.Fresh();
        string text = Encoding.UTF8.GetString(data);
        foreach (var line in text.Split('\n'))
        {
            if (line.Trim().Length == 0) continue;
            var (id, request, problem) = PortRequest.Parse(line);
            if (request is null)
            {
                if (string.IsNullOrEmpty(problem)) throw new InvalidOperationException("PortRequest.Parse: neither a request nor a problem");
                _ = PortReply.Error(problem).ToMessage(Math.Max(id, 0)).ToJsonString();
                continue;
            }
            _ = request.ToMessage(id).ToJsonString();
            var reply = Port.Value.Call(request with { Work = dir });
            _ = reply.ToMessage(id).ToJsonString();
        }
    }

    /// <summary>A surface whose request has passed the spec's checks and is answered without running anything.</summary>
    private sealed class CheckedOnly(string name) : IEngineSurface
    {
        public string Name => name;
        public PortReply Handle(PortRequest request, EngineContext context) => PortReply.Ok(new JsonObject());
    }
}
