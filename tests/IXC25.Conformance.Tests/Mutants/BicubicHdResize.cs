using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Resampling;
using IXC25.Vision.Transforms;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: the HD resize of the crops done bicubically (torch's F.interpolate(mode='bicubic') on the
/// uint8 values, rounded back to uint8) instead of PIL's bilinear resize. Upstream resizes the crops with
/// torchvision's default for a PIL image (bilinear); only the global view is bicubic. The plan, padding,
/// normalisation and global view are the engine's own.
/// </summary>
public sealed class BicubicHdResize() : BuggySurface("partition")
{
    public override PortReply Handle(PortRequest request, EngineContext context)
    {
        using var decoded = ImageDecoder.Decode(EnginePort.WorkFile(request, "image"));
        var plan = HdPartition.Plan(decoded.Width, decoded.Height, (int)request.Fields["hd_num"]!);
        // landscape orientation, as upstream works
        var src = plan.Transposed ? ImageOps.Transpose(decoded) : decoded;
        int newW = plan.Transposed ? plan.ResizedHeight : plan.ResizedWidth;
        int newH = plan.Transposed ? plan.ResizedWidth : plan.ResizedHeight;
        int padH = plan.Transposed ? plan.PaddedWidth : plan.PaddedHeight;

        // the bug: bicubic, on [3, H, W] planes of the 0..255 values
        int inW = src.Width, inH = src.Height;
        var planes = new float[3 * inW * inH];
        for (int i = 0; i < inW * inH; i++)
            for (int c = 0; c < 3; c++) planes[c * inW * inH + i] = src.Pixels[3 * i + c];
        var resized = TorchBicubic.Resize(planes, 3, inH, inW, newH, newW, context.Threads);
        var bytes = new byte[3 * newW * newH];
        for (int i = 0; i < newW * newH; i++)
            for (int c = 0; c < 3; c++) bytes[3 * i + c] = (byte)Math.Clamp(MathF.Round(resized[c * newW * newH + i]), 0, 255);

        var padded = ImageOps.PadBottomWhite(new RgbImage(newW, newH, bytes), padH);
        var hd = plan.Transposed ? ImageOps.Transpose(padded) : padded;
        var pixels = ClipNormalize.ToTensor(hd, context.Threads);
        var global = ImageTransform.GlobalView(pixels, hd.Height, hd.Width, context.Threads);
        PartitionEngine.WriteOutputs(EnginePort.WorkFile(request, "out"), hd, pixels, global, plan.GridRows, plan.GridCols);
        return PortReply.Ok([]);
    }
}
