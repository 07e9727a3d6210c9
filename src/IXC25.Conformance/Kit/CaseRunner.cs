using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces;

namespace IXC25.Conformance.Kit;

/// <summary>One case run on the port and on the reference, in a work folder that ends up self-contained.</summary>
public sealed record CaseRun(object Case, CaseVerdict Verdict, string Folder, PortRequest Request, PortReply Reference, PortReply Port);

/// <summary>
/// Runs one case: writes its inputs into a fresh folder, asks the port (output file port.safetensors), then
/// the reference (reference.safetensors), and compares. The folder then holds everything a porter needs to
/// look at the case alone: case.json (replayable), request.json, the inputs, both outputs and both replies,
/// and verdict.txt with the tolerances used.
/// </summary>
public static class CaseRunner
{
    public const string PortOut = "port.safetensors";
    public const string ReferenceOut = "reference.safetensors";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static CaseRun Run(ISurface surface, object c, IPort port, IPort reference, string folder, bool keepFiles = true)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        folder = Path.GetFullPath(folder);
        var request = surface.Prepare(c, folder);
        var portRequest = surface.Schema.HasTensors ? request.With("out", PortOut) : request;
        var refRequest = surface.Schema.HasTensors ? request.With("out", ReferenceOut) : request;
        var portReply = port.Call(portRequest);
        var refReply = reference.Call(refRequest);
        var verdict = ReplyComparer.Compare(surface, c,
            refReply, surface.Schema.HasTensors ? Path.Combine(folder, ReferenceOut) : null,
            portReply, surface.Schema.HasTensors ? Path.Combine(folder, PortOut) : null);
        if (verdict.Outcome == Outcome.Fail && portReply.IsOk && refReply.IsOk)
            verdict = verdict with { SurfaceKind = surface.FailureKind(c, portReply, refReply) };
        if (keepFiles)
        {
            File.WriteAllText(Path.Combine(folder, "case.json"), CaseJson(surface, c).ToJsonString(Indented));
            File.WriteAllText(Path.Combine(folder, "request.json"), portRequest.ToMessage(1).ToJsonString(Indented));
            File.WriteAllText(Path.Combine(folder, "reply.port.json"), portReply.ToMessage(1).ToJsonString(Indented));
            File.WriteAllText(Path.Combine(folder, "reply.reference.json"), refReply.ToMessage(1).ToJsonString(Indented));
            File.WriteAllText(Path.Combine(folder, "verdict.txt"), VerdictText(surface, c, verdict));
        }
        return new CaseRun(c, verdict, folder, portRequest, refReply, portReply);
    }

    /// <summary>{"surface": name, "case": the case's JSON}: what --replay reads.</summary>
    public static JsonObject CaseJson(ISurface surface, object c) => new() { ["surface"] = surface.Name, ["case"] = surface.ToJson(c) };

    public static string VerdictText(ISurface surface, object c, CaseVerdict v)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"surface {surface.Name}: {surface.Describe(c)}");
        sb.AppendLine($"outcome: {v.Outcome}");
        if (v.SurfaceKind is { } kind) sb.AppendLine($"kind: {kind}");
        foreach (var p in v.Problems) sb.AppendLine("  " + p);
        foreach (var t in v.Tensors) sb.AppendLine(FormattableString.Invariant($"  {t.Tensor}: {t.Stats}"));
        foreach (var n in v.NotCovered) sb.AppendLine($"  {n}: not produced by the port (not covered)");
        return sb.ToString();
    }
}
