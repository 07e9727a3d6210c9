using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>Emits <c>Ixc25Taps</c>: the stable trace tap names of spec/model.json, with formatters and metadata.</summary>
internal static class TapsEmitter
{
    private static readonly Regex Placeholder = new(@"\{([A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant);

    /// <summary>"vit.{k}.layer.{l}" -> "VitLayer".</summary>
    public static string MemberName(string pattern) =>
        string.Concat(Placeholder.Replace(pattern, "").Split('.').Where(s => s.Length > 0).Select(ModelParser.Pascal));

    public static string Emit(ModelSpec m)
    {
        var w = new CodeWriter();
        w.Doc("Trace tap names of spec/model.json. They are stable: ports script against them (docs/TAPS.md).");
        w.Open("public static partial class Ixc25Taps");
        foreach (var t in m.Taps)
        {
            string member = MemberName(t.Name);
            var vars = Placeholder.Matches(t.Name).Cast<Match>().Select(x => x.Groups[1].Value).ToList();
            w.Doc($"{t.Doc} ({t.DType}[{string.Join(", ", t.Shape)}], tolerance '{t.Tolerance}')");
            w.Line($"public const string {member} = {CodeWriter.Str(t.Name)};");
            if (vars.Count > 0)
            {
                string args = string.Join(", ", vars.Select(v => "int " + v));
                string body = "$" + CodeWriter.Str(t.Name);
                w.Line($"public static string {member}At({args}) => {body};");
            }
        }
        w.Line();
        w.Doc("Every tap with its dtype, symbolic shape, tolerance class and description, in spec order.");
        w.Line("public static readonly global::System.Collections.Generic.IReadOnlyList<global::IXC25.Runtime.Spec.TapInfo> All =");
        w.Line("[");
        foreach (var t in m.Taps)
            w.Line($"    new({CodeWriter.Str(t.Name)}, global::IXC25.Runtime.Tensors.DType.{DType(t.DType)}, [{string.Join(", ", t.Shape.Select(CodeWriter.Str))}], {CodeWriter.Str(t.Tolerance)}, {CodeWriter.Str(t.Doc)}),");
        w.Line("];");
        w.Line();
        w.Doc("The tap pattern a concrete name belongs to, or null.");
        w.Line("public static global::IXC25.Runtime.Spec.TapInfo? Find(string name) => global::System.Linq.Enumerable.FirstOrDefault(All, t => t.Matches(name));");
        w.Close();
        return CodeWriter.Header(ModelEmitter.Namespace) + w;
    }

    public static string DType(string spec) => spec switch
    {
        "f32" => "F32",
        "f16" => "F16",
        "bf16" => "BF16",
        "f64" => "F64",
        "i64" => "I64",
        "i32" => "I32",
        "i16" => "I16",
        "i8" => "I8",
        "u8" => "U8",
        _ => "Bool",
    };
}
