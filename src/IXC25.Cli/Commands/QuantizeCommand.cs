using System.CommandLine;
using IXC25.Model.Loading;
using IXC25.Runtime.Quant;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 quantize --model DIR --format q8_0|q4_0 --out DIR2 [--force]`: a quantized checkpoint folder that every
/// command loads (spec/quant.json "checkpoint", docs/QUANT.md). Progress on stderr; the folder appears only when
/// complete.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model") { Description = "Hugging Face model folder with the stored weights (config.json, checkpoint, tokenizer.model)", Required = true };
        var format = new Option<string>("--format") { Description = "weight format: q8_0 (8.5 bits per weight) or q4_0 (4.5)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "the quantized model folder to write (must not exist or be empty, unless --force)", Required = true };
        var force = new Option<bool>("--force") { Description = "replace a non-empty --out (only once the new checkpoint is complete)" };
        var form = new Option<string>("--checkpoint-format") { Description = "checkpoint form to read when both are present: auto, safetensors or bin", DefaultValueFactory = _ => "auto" };
        var cmd = new Command("quantize", "Write a block-quantized copy of a model folder (each linear weight whose rows are whole 32-value blocks as its q8_0 or q4_0 blocks, every other tensor as stored) that chat, trace, serve, batch and info load.")
        {
            model, format, output, force, form,
        };
        cmd.SetAction((r, ct) =>
        {
            var fmt = QuantFormat.Parse(r.GetValue(format)!);
            ModelQuantizer.Run(r.GetValue(model)!.FullName, r.GetValue(output)!.FullName, fmt, r.GetValue(force),
                InfoCommand.ParseFormat(r.GetValue(form)!), r.InvocationConfiguration.Error, ct);
            return Task.FromResult(0);
        });
        return cmd;
    }
}
