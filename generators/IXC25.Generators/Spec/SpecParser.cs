using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using IXC25.Generators.Json;

namespace IXC25.Generators.Spec;

/// <summary>Parses and cross-validates the spec files (ops.json, model.json, tolerances.json, quant.json).</summary>
internal static class SpecParser
{
    public const string OpsFile = "ops.json";
    public const string ModelFile = "model.json";
    public const string TolerancesFile = "tolerances.json";
    public const string QuantFile = "quant.json";

    public static bool IsSpecFile(string path)
    {
        string name = Path.GetFileName(path);
        return name == OpsFile || name == ModelFile || name == TolerancesFile || name == QuantFile;
    }

    /// <param name="files">(path, text) of the spec files found among the AdditionalFiles.</param>
    public static SpecBundle Parse(IReadOnlyList<(string Path, string Text)> files)
    {
        var diagnostics = new List<DiagnosticInfo>();
        (string Path, string Text)? Find(string name) => files.FirstOrDefault(f => Path.GetFileName(f.Path) == name) is { Path: not null } f ? f : null;

        JsonValue? Load((string Path, string Text)? f, SpecReader r)
        {
            if (f is null) return null;
            try { return JsonValue.Parse(f.Value.Text); }
            catch (JsonException e)
            {
                diagnostics.Add(new DiagnosticInfo("IXC0001", $"{Path.GetFileName(f.Value.Path)}: {e.Message} (line {e.Line + 1}, column {e.Column + 1})",
                    f.Value.Path, e.Offset, 1, e.Line, e.Column, e.Line, e.Column + 1));
                return null;
            }
        }

        // tolerances first: ops and taps refer to its classes
        var tolFile = Find(TolerancesFile);
        var tolReader = new SpecReader(tolFile?.Path ?? TolerancesFile);
        var tolRoot = Load(tolFile, tolReader);
        var tolerances = tolRoot is null ? new List<ToleranceSpec>() : ParseTolerances(tolRoot, tolReader);
        var tolNames = new HashSet<string>(tolerances.Where(t => t.Class is null).Select(t => t.Name), StringComparer.Ordinal);
        bool checkTol = tolRoot is not null;
        diagnostics.AddRange(tolReader.Diagnostics);

        var opsFile = Find(OpsFile);
        var opsReader = new SpecReader(opsFile?.Path ?? OpsFile);
        var opsRoot = Load(opsFile, opsReader);
        var ops = opsRoot is null ? null : OpsParser.Parse(opsRoot, opsReader, tolNames, checkTol);
        diagnostics.AddRange(opsReader.Diagnostics);

        var modelFile = Find(ModelFile);
        var modelReader = new SpecReader(modelFile?.Path ?? ModelFile);
        var modelRoot = Load(modelFile, modelReader);
        var model = modelRoot is null ? null : ModelParser.Parse(modelRoot, modelReader, ops, tolNames, checkTol);
        diagnostics.AddRange(modelReader.Diagnostics);

        var quantFile = Find(QuantFile);
        var quantReader = new SpecReader(quantFile?.Path ?? QuantFile);
        var quantRoot = Load(quantFile, quantReader);
        var quant = quantRoot is null ? null : QuantParser.Parse(quantRoot, quantReader);
        diagnostics.AddRange(quantReader.Diagnostics);

        return new SpecBundle(
            opsReader.HasErrors ? null : ops,
            modelReader.HasErrors || opsReader.HasErrors ? null : model,
            tolerances.ToEquatable(),
            diagnostics.ToEquatable(),
            quantReader.HasErrors ? null : quant);
    }

    private static List<ToleranceSpec> ParseTolerances(JsonValue root, SpecReader r)
    {
        var list = new List<ToleranceSpec>();
        if (!r.ExpectObject(root, TolerancesFile)) return list;
        r.Schema(root, TolerancesFile);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in r.Array(root, "classes", TolerancesFile))
        {
            if (!r.ExpectObject(c, "tolerance class")) continue;
            string? name = r.String(c, "name", "tolerance class");
            if (name is null) continue;
            string ctx = $"tolerance class '{name}'";
            if (!seen.Add(name)) { r.Report("IXC0006", $"{ctx} is defined twice", c["name"]!); continue; }
            double atol = r.Number(c, "atol", ctx) ?? 0, rtol = r.Number(c, "rtol", ctx) ?? 0, nmse = r.Number(c, "nmse", ctx) ?? 0;
            foreach (var (k, v) in new[] { ("atol", atol), ("rtol", rtol), ("nmse", nmse) })
                if (v < 0 || double.IsNaN(v)) r.Report("IXC0003", $"{ctx}: {k} must be >= 0", c[k]!);
            double perPos = c["atol_per_position"] is null ? 0 : r.Number(c, "atol_per_position", ctx) ?? 0;
            if (perPos < 0 || double.IsNaN(perPos)) r.Report("IXC0003", $"{ctx}: atol_per_position must be >= 0", c["atol_per_position"]!);
            string reason = r.String(c, "reason", ctx) ?? "";
            if (reason.Trim().Length == 0 && c["reason"] is { } rv) r.Report("IXC0003", $"{ctx}: every tolerance needs a written reason", rv);
            list.Add(new ToleranceSpec(name, atol, rtol, nmse, reason, AtolPerPosition: perPos));
        }
        foreach (var o in r.Array(root, "overrides", TolerancesFile, required: false))
        {
            if (!r.ExpectObject(o, "tolerance override")) continue;
            string? cls = r.String(o, "class", "tolerance override");
            if (cls is not null && !seen.Contains(cls)) r.Report("IXC0008", $"tolerance override: class '{cls}' is not defined", o["class"]!);
            string why = r.String(o, "reason", $"override of '{cls}'") ?? "";
            if (why.Trim().Length == 0 && o["reason"] is { } rv2) r.Report("IXC0003", $"override of '{cls}': every tolerance needs a written reason", rv2);
            string? odt = r.String(o, "dtype", $"override of '{cls}'", required: false);
            if (odt is not null && !SpecReader.DTypes.Contains(odt)) r.Report("IXC0004", $"override of '{cls}': unknown dtype '{odt}'", o["dtype"]!);
            string? obk = r.String(o, "backend", $"override of '{cls}'", required: false);
            if (obk is not null && obk != "cpu" && obk != "gpu") r.Report("IXC0003", $"override of '{cls}': backend must be cpu or gpu, found '{obk}'", o["backend"]!);
            if (cls is not null)
                list.Add(new ToleranceSpec(cls, r.Number(o, "atol", "override") ?? 0, r.Number(o, "rtol", "override") ?? 0, r.Number(o, "nmse", "override") ?? 0, why, cls, odt, obk));
        }
        return list;
    }
}
