using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Conformance.Engine;

/// <summary>
/// op: one op of spec/ops.json through <see cref="OpInvoker.Invoke"/> on the context's backend (as `ixc25 op --backend`
/// does): the inputs file's tensors named as the op's ports, attrs from the request; every output (and a KV cache's
/// cache.k_after / cache.v_after) written to "out". Inputs the op refuses (shapes that do not fit, dtypes it does
/// not take, attributes out of range) are refused.
/// </summary>
public sealed class OpEngine : IEngineSurface
{
    public string Name => "op";

    public PortReply Handle(PortRequest request, EngineContext context)
    {
        string op = (string)request.Fields["op"]!;
        OpInvoker.Require(op);
        var attrs = Attrs((JsonObject)request.Fields["attrs"]!);
        using var f = new SafetensorsFile(EnginePort.WorkFile(request, "inputs"));
        var inputs = f.Tensors.ToDictionary(t => t.Name, t => t, StringComparer.Ordinal);
        var outputs = OpInvoker.Invoke(EngineBackend.Get(context), op, inputs, attrs);
        SafetensorsWriter.Write(EnginePort.WorkFile(request, "out"), outputs, new Dictionary<string, string>
        {
            ["op"] = op,
            ["producer"] = "ixc25 serve-port op",
            ["implementation"] = context.Backend,
        });
        return PortReply.Ok([]);
    }

    /// <summary>Attribute values as OpInvoker takes them: numbers in invariant text, booleans as true/false, strings as they are.</summary>
    public static Dictionary<string, string> Attrs(JsonObject attrs)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in attrs)
            d[k] = v is JsonValue jv ? jv.GetValueKind() switch
            {
                JsonValueKind.String => (string)jv!,
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.Number => long.TryParse(jv.ToJsonString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)
                    ? l.ToString(CultureInfo.InvariantCulture) : PortSchema.Number(jv)!.Value.ToString("R", CultureInfo.InvariantCulture),
                _ => throw new IxcException($"attrs.{k}: {jv.ToJsonString()} is not a number, boolean or string"),
            } : throw new IxcException($"attrs.{k}: {v?.ToJsonString() ?? "null"} is not a number, boolean or string");
        return d;
    }
}
