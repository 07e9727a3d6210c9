using System.Text.Json.Nodes;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: RMSNorm with eps outside the square root, x / (sqrt(mean(x^2)) + eps) * w, instead of
/// x / sqrt(mean(x^2) + eps) * w. Every other op is the engine's.
/// </summary>
public sealed class RmsNormEpsOutsideSqrt() : BuggySurface("op")
{
    private readonly OpEngine _engine = new();

    public override PortReply Handle(PortRequest request, EngineContext context)
    {
        if ((string)request.Fields["op"]! != "rms_norm") return _engine.Handle(request, context);
        var attrs = OpEngine.Attrs((JsonObject)request.Fields["attrs"]!);
        float eps = attrs.TryGetValue("eps", out var e) ? float.Parse(e, System.Globalization.CultureInfo.InvariantCulture) : 1e-6f;
        using var f = new SafetensorsFile(EnginePort.WorkFile(request, "inputs"));
        var x = f["x"];
        var w = f["weight"].ToFloat32();
        var xs = x.ToFloat32();
        int C = w.Length, rows = C == 0 ? 0 : xs.Length / C;
        var y = new float[xs.Length];
        for (int r = 0; r < rows; r++)
        {
            float sum = 0;
            for (int i = 0; i < C; i++) sum += xs[r * C + i] * xs[r * C + i];
            float denom = MathF.Sqrt(sum / C) + eps; // the bug: eps added after the square root
            for (int i = 0; i < C; i++) y[r * C + i] = xs[r * C + i] / denom * w[i];
        }
        SafetensorsWriter.Write(EnginePort.WorkFile(request, "out"), [NamedTensor.F32("y", (long[])x.Shape.Clone(), y)]);
        return PortReply.Ok([]);
    }
}
