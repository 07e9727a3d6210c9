using IXC25.Conformance.Protocol;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Conformance.Engine;

/// <summary>
/// rope: one <see cref="RotaryEmbedding"/> in upstream's stateful mode (<see cref="RopeMode.Hf"/>), driven through
/// the request's calls, its tables after each call written as `ixc25 rope-table` writes them (<see cref="RopeTables"/>).
/// A config or input the module refuses (dynamic NTK with head dim 2 once a call needs the NTK base, an odd
/// head dim, a length below 1, a negative position) is refused.
/// </summary>
public sealed class RopeEngine : IEngineSurface
{
    public string Name => "rope";

    public PortReply Handle(PortRequest request, EngineContext context) => Run(request, RopeMode.Hf);

    /// <summary>The tables of the request's calls in the given mode, written to the request's "out".</summary>
    public static PortReply Run(PortRequest request, RopeMode mode)
    {
        var f = request.Fields;
        var scaling = (string)f["scaling"]! switch
        {
            "none" => RopeScaling.None,
            "linear" => RopeScaling.Linear,
            "dynamic" => RopeScaling.Dynamic,
            var s => throw new IxcException($"scaling must be none, linear or dynamic (got '{s}')"),
        };
        var calls = request.Longs("calls");
        var positions = request.Longs("positions");
        var rope = new RotaryEmbedding(new RopeConfig(request.Int("head_dim"), request.Double("theta"), request.Int("max_position_embeddings"), scaling, request.Double("factor")), mode);
        using var w = new SafetensorsWriter(EnginePort.WorkFile(request, "out"));
        RopeTables.Write(rope, calls, positions, w);
        w.Commit(new Dictionary<string, string> { ["producer"] = "ixc25 serve-port rope", ["mode"] = mode == RopeMode.Hf ? "hf" : "stateless" });
        return PortReply.Ok([]);
    }
}
