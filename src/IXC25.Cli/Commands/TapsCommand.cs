using System.CommandLine;
using IXC25.Model;

namespace IXC25.Cli.Commands;

/// <summary>`ixc25 taps [--markdown]`: the trace tap names of the spec with dtype, shape and tolerance class.</summary>
internal static class TapsCommand
{
    public static Command Create()
    {
        var markdown = new Option<bool>("--markdown") { Description = "print docs/TAPS.md" };
        var cmd = new Command("taps", "List the trace tap names (stable, from spec/model.json) with dtype, symbolic shape and tolerance class.") { markdown };
        cmd.SetAction(r =>
        {
            var o = r.InvocationConfiguration.Output;
            if (r.GetValue(markdown)) o.Write(Markdown());
            else foreach (var t in Ixc25Taps.All) o.WriteLine($"{t.Pattern,-32} {t.DType.ToString().ToLowerInvariant()}[{string.Join(", ", t.Shape)}]  {t.Tolerance}");
            return 0;
        });
        return cmd;
    }

    /// <summary>The text of docs/TAPS.md (a test keeps the file equal to it).</summary>
    public static string Markdown()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("""
            # Trace taps

            Every named intermediate `ixc25 trace` can write, generated from `spec/model.json` (`taps`); the
            names are stable. `{k}` is the image index in the prompt, `{l}` the ViT layer, `{i}` the decoder
            layer (all 0-based). Shapes use the spec's symbols: T tokens of the pass, C hidden, V vocabulary,
            QKV = (H + 2 HKV) D, N images in one ViT batch (global view + crops), NP patches per crop, CV ViT
            hidden, CM = 4 CV, TI tokens of one image, HPX/WPX padded image size, S crop side, TL rows given to
            the output head (1 = the last position by default, T with `--all-logits`). The tolerance class names
            the row of `spec/tolerances.json` that `ixc25 compare` applies.

            Regenerate with `./ixc25 taps --markdown > docs/TAPS.md`.

            | tap | dtype | shape | tolerance | meaning |
            |---|---|---|---|---|

            """.Replace("\r", ""));
        foreach (var t in Ixc25Taps.All)
            sb.Append($"| `{t.Pattern}` | {t.DType.ToString().ToLowerInvariant()} | [{string.Join(", ", t.Shape)}] | {t.Tolerance} | {t.Doc} |\n");
        return sb.ToString();
    }
}
