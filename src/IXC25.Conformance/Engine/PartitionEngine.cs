using IXC25.Conformance.Protocol;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Transforms;

namespace IXC25.Conformance.Engine;

/// <summary>
/// partition: ImageDecoder.Decode (default DecodeOptions: PIL's convert('RGB'), 16-bit gray refused) and
/// ImageTransform.HdTransform, written as `ixc25 preprocess` writes them, plus the grid [rows, cols] as i64.
/// Images upstream cannot partition (a resized side that rounds to 0, hd_num below 1) are refused.
/// </summary>
public sealed class PartitionEngine : IEngineSurface
{
    public string Name => "partition";

    public PortReply Handle(PortRequest request, EngineContext context)
    {
        string image = EnginePort.WorkFile(request, "image");
        string outFile = EnginePort.WorkFile(request, "out");
        int hdNum = (int)request.Fields["hd_num"]!;
        if (hdNum < 1) throw new IxcException($"hd_num must be at least 1 (got {hdNum}); upstream's resize to a 0-pixel size fails");
        if (!File.Exists(image)) return PortReply.Error($"image file {request.Fields["image"]} is not in the work folder");
        using var decoded = ImageDecoder.Decode(image);
        using var result = ImageTransform.HdTransform(decoded, hdNum, new TransformOptions(context.Threads));
        WriteOutputs(outFile, result.HdImage, result.PixelValues, result.GlobalView, result.Plan.GridRows, result.Plan.GridCols);
        return PortReply.Ok([]);
    }

    /// <summary>
    /// The partition surface's output file: hd_image u8 [H, W, 3], pixel_values f32 [3, H, W], global_view
    /// f32 [3, 560, 560], grid i64 [rows, cols]. Public so that tests can write a mutant's outputs the same way.
    /// </summary>
    public static void WriteOutputs(string path, RgbImage hdImage, float[] pixelValues, float[] globalView, int gridRows, int gridCols)
    {
        int w = hdImage.Width, h = hdImage.Height;
        const int S = HdPartition.CropSize;
        using var writer = new SafetensorsWriter(path);
        writer.Add("hd_image", DType.U8, [h, w, 3], hdImage.Pixels.AsSpan(0, checked(h * w * 3)));
        writer.AddF32("pixel_values", [3, h, w], pixelValues.AsSpan(0, checked(3 * h * w)));
        writer.AddF32("global_view", [3, S, S], globalView.AsSpan(0, 3 * S * S));
        var grid = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(grid, gridRows);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(grid.AsSpan(8), gridCols);
        writer.Add("grid", DType.I64, [2], grid);
        writer.Commit(new Dictionary<string, string> { ["producer"] = "ixc25 serve-port partition" });
    }
}
