using System.Collections.Generic;
using IXC25.Generators.Json;

namespace IXC25.Generators.Spec;

/// <summary>
/// Parses spec/quant.json: the block-quantized weight formats, the quantized activations and the float order of the
/// quantized dot (docs/QUANT.md). The emitters (QuantEmitter) support block 32, 16 lanes and the packings
/// <c>bytes</c> (int8 values) and <c>nibbles_half</c> (ggml's 4-bit order); anything else is IXC0003 at the value.
/// </summary>
internal static class QuantParser
{
    public const int Block = 32;
    public const int Lanes = 16;

    public static QuantSpec? Parse(JsonValue root, SpecReader r)
    {
        const string file = SpecParser.QuantFile;
        if (!r.ExpectObject(root, file)) return null;
        r.Schema(root, file);
        double? block = r.Number(root, "block", file);
        if (block is not null && block != Block) r.Report("IXC0003", $"{file}: block must be {Block} (the emitted kernels use blocks of {Block}), found {block}", root["block"]!);
        var formats = new List<QuantFormatSpec>();
        var names = new HashSet<string>();
        foreach (var f in r.Array(root, "formats", file))
        {
            if (!r.ExpectObject(f, "quant format")) continue;
            string? name = r.String(f, "name", "quant format");
            if (name is null) continue;
            string ctx = $"quant format '{name}'";
            if (!names.Add(name)) { r.Report("IXC0006", $"{ctx} is defined twice", f["name"]!); continue; }
            int bits = (int)(r.Number(f, "bits", ctx) ?? 0);
            string packing = r.String(f, "packing", ctx) ?? "";
            if (!(packing == "bytes" && bits == 8) && !(packing == "nibbles_half" && bits == 4))
                r.Report("IXC0003", $"{ctx}: packing '{packing}' with {bits} bits has no kernel emitter (known: bytes with 8 bits, nibbles_half with 4)", f["packing"] ?? f);
            string scaleDtype = r.String(f, "scale_dtype", ctx) ?? "";
            if (scaleDtype != "f16") r.Report("IXC0003", $"{ctx}: scale_dtype must be f16 (ggml's block scale)", f["scale_dtype"] ?? f);
            int offset = (int)(r.Number(f, "offset", ctx) ?? 0);
            int qmin = (int)(r.Number(f, "qmin", ctx) ?? 0), qmax = (int)(r.Number(f, "qmax", ctx) ?? 0);
            int blockBytes = (int)(r.Number(f, "block_bytes", ctx) ?? 0);
            if (blockBytes != 2 + Block * bits / 8) r.Report("IXC0003", $"{ctx}: block_bytes must be {2 + Block * bits / 8} (f16 scale + {Block} values of {bits} bits)", f["block_bytes"] ?? f);
            if (qmin - offset < -127 || qmax - offset > 127) r.Report("IXC0003", $"{ctx}: values q - offset must lie in [-127, 127] (the integer kernels' exactness bound)", f["qmin"] ?? f);
            var qs = r.Object(f, "qs", ctx);
            string qsDtype = qs is null ? "" : r.String(qs, "dtype", ctx + " qs") ?? "";
            formats.Add(new QuantFormatSpec(name, (int)(r.Number(f, "ggml_type", ctx) ?? -1), bits, blockBytes, qsDtype, offset, qmin, qmax, packing,
                r.String(f, "scale", ctx) ?? "", r.String(f, "encode", ctx) ?? "", r.String(f, "doc", ctx) ?? ""));
        }
        var dot = r.Object(root, "dot", file);
        if (dot is not null && r.Number(dot, "lanes", "dot") is { } lanes && lanes != Lanes)
            r.Report("IXC0003", $"{file}: dot.lanes must be {Lanes} (the emitted float order), found {lanes}", dot["lanes"]!);
        r.Object(root, "activation", file);
        return new QuantSpec(Block, Lanes, formats.ToEquatable(), r.String(root, "doc", file, required: false) ?? "");
    }
}
