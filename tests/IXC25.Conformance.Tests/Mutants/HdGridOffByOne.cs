using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: the HD grid rounded off by one: the padded short side computed as (h // 560 + 1) * 560
/// instead of ceil(h / 560) * 560, so an image whose resized short side is already a multiple of 560 (every
/// square image, every 2:1 image at scale 2, ...) gets one extra row (or, portrait, column) of white crops.
/// The resize, normalisation and global view are the engine's own.
/// </summary>
public sealed class HdGridOffByOne() : BuggySurface("partition")
{
    public override PortReply Handle(PortRequest request, EngineContext context)
    {
        const int S = HdPartition.CropSize;
        using var decoded = ImageDecoder.Decode(EnginePort.WorkFile(request, "image"));
        int hdNum = (int)request.Fields["hd_num"]!;
        var plan = HdPartition.Plan(decoded.Width, decoded.Height, hdNum);
        var options = new TransformOptions(context.Threads);
        var hd = ImageTransform.HdImage(decoded, hdNum, options);

        // the bug: floor + 1 instead of ceil
        int shortSide = plan.Transposed ? plan.ResizedWidth : plan.ResizedHeight;
        int wrongPad = (shortSide / S + 1) * S;
        if (plan.Transposed) hd = ImageOps.Transpose(ImageOps.PadBottomWhite(ImageOps.Transpose(hd), wrongPad));
        else hd = ImageOps.PadBottomWhite(hd, wrongPad);

        var pixels = ClipNormalize.ToTensor(hd, context.Threads);
        var global = ImageTransform.GlobalView(pixels, hd.Height, hd.Width, context.Threads);
        PartitionEngine.WriteOutputs(EnginePort.WorkFile(request, "out"), hd, pixels, global, hd.Height / S, hd.Width / S);
        return PortReply.Ok([]);
    }
}
