using IXC25.Runtime;
using IXC25.Vision.Imaging;
using IXC25.Vision.Partition;
using IXC25.Vision.Resampling;

namespace IXC25.Vision.Transforms;

/// <summary>Options of the transforms. <paramref name="MaxThreads"/>: -1 = all cores; results never depend on it.</summary>
public sealed record TransformOptions(int MaxThreads = -1)
{
    public static TransformOptions Default { get; } = new();
}

/// <summary>
/// Everything the vision tower needs from one image.
/// </summary>
/// <param name="Plan">Geometry: resized and padded sizes, crop grid, token count.</param>
/// <param name="HdImage">The resized and padded RGB image, before normalisation: [H, W, 3] uint8.</param>
/// <param name="PixelValues">ToTensor + Normalize of <paramref name="HdImage"/>: [3, H, W] float32.</param>
/// <param name="GlobalView">Bicubic interpolation of <paramref name="PixelValues"/> to [3, 560, 560] float32.</param>
public sealed record HdTransformResult(HdPlan Plan, RgbImage HdImage, float[] PixelValues, float[] GlobalView) : IDisposable
{
    /// <summary>
    /// Optional: hands the three buffers back for reuse by later transforms (fresh memory is expensive
    /// to touch). The result, including arrays obtained from it, must not be used afterwards.
    /// </summary>
    public void Dispose()
    {
        BufferCache<byte>.Return(HdImage.Pixels);
        BufferCache<float>.Return(PixelValues);
        BufferCache<float>.Return(GlobalView);
    }

    public int Width => HdImage.Width;
    public int Height => HdImage.Height;

    /// <summary>Crop (r, c) of the grid as [3, 560, 560] float32: pixel_values[:, 560r : 560(r+1), 560c : 560(c+1)].</summary>
    public float[] Crop(int row, int col)
    {
        var dst = new float[3 * HdPartition.CropSize * HdPartition.CropSize];
        CopyCrop(row, col, dst);
        return dst;
    }

    /// <summary>
    /// The ViT batch of this image as build_mlp.py assembles it: [1 + h*w, 3, 560, 560] float32, the global
    /// view first, then the crops row-major (crop r * w + c), i.e.
    /// <c>img.reshape(1, 3, h, 560, w, 560).permute(0, 2, 4, 1, 3, 5).reshape(-1, 3, 560, 560)</c>.
    /// </summary>
    public float[] VitBatch()
    {
        const int S = HdPartition.CropSize;
        int n = 1 + Plan.GridRows * Plan.GridCols;
        var dst = new float[(long)n * 3 * S * S];
        GlobalView.AsSpan().CopyTo(dst);
        for (int r = 0; r < Plan.GridRows; r++)
            for (int c = 0; c < Plan.GridCols; c++)
                CopyCrop(r, c, dst.AsSpan((1 + r * Plan.GridCols + c) * 3 * S * S, 3 * S * S));
        return dst;
    }

    private void CopyCrop(int row, int col, Span<float> dst)
    {
        const int S = HdPartition.CropSize;
        if (row < 0 || row >= Plan.GridRows || col < 0 || col >= Plan.GridCols)
            throw new ArgumentOutOfRangeException(nameof(row), $"crop ({row}, {col}) outside the {Plan.GridRows}x{Plan.GridCols} grid");
        long plane = (long)Width * Height;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                PixelValues.AsSpan((int)(c * plane + (long)(row * S + y) * Width + col * S), S).CopyTo(dst.Slice((c * S + y) * S, S));
    }
}

/// <summary>
/// Upstream's image front end: <c>Image_transform</c> (ixc_utils.py), <c>vis_processor</c>
/// (ToTensor + Normalize) and the global view (<c>F.interpolate(..., (560, 560), mode='bicubic')</c>
/// in build_mlp.py), bit-identical to PIL 9.4 + torchvision 0.14 + torch 1.13.
/// </summary>
public static class ImageTransform
{
    /// <summary>
    /// HD transform for <paramref name="hdNum"/> crops at most: transpose portrait images, PIL bilinear
    /// resize to the planned size, white padding at the bottom to a multiple of 560, transpose back,
    /// normalise, global view.
    /// </summary>
    public static HdTransformResult HdTransform(RgbImage image, int hdNum = HdPartition.DefaultHdNum, TransformOptions? options = null)
    {
        options ??= TransformOptions.Default;
        var plan = HdPartition.Plan(image.Width, image.Height, hdNum);
        var hd = ResizeAndPad(image, plan, options.MaxThreads);
        return Finish(plan, hd, options);
    }

    /// <summary>Only the uint8 image of <see cref="HdTransform"/> (resize + pad), for callers that need no tensors.</summary>
    public static RgbImage HdImage(RgbImage image, int hdNum, TransformOptions? options = null)
    {
        var plan = HdPartition.Plan(image.Width, image.Height, hdNum);
        return ResizeAndPad(image, plan, (options ?? TransformOptions.Default).MaxThreads);
    }

    private static RgbImage ResizeAndPad(RgbImage image, HdPlan plan, int maxThreads)
    {
        // work in landscape orientation like upstream: resize the transposed image, pad its bottom
        var src = plan.Transposed ? ImageOps.Transpose(image) : image;
        int newW = plan.Transposed ? plan.ResizedHeight : plan.ResizedWidth;
        int newH = plan.Transposed ? plan.ResizedWidth : plan.ResizedHeight;
        int padH = plan.Transposed ? plan.PaddedWidth : plan.PaddedHeight;
        // resize straight into the padded buffer, then fill the rows below with white
        var buffer = BufferCache<byte>.Rent(checked(newW * padH * 3));
        PilBilinear.ResizeInto(src, newW, newH, buffer, maxThreads);
        buffer.AsSpan(newW * newH * 3).Fill(255);
        var padded = new RgbImage(newW, padH, buffer);
        if (!plan.Transposed) return padded;
        var back = ImageOps.Transpose(padded);
        BufferCache<byte>.Return(buffer);
        return back;
    }

    /// <summary>
    /// Upstream's <c>Video_transform</c> of a frame composite (hd_num is ignored there): the short side
    /// becomes exactly 560, the long side <c>int(560 * long / short)</c>, then white padding at the end of
    /// the long side (right for landscape, bottom for portrait) to a multiple of 560.
    /// </summary>
    public static HdTransformResult VideoTransform(RgbImage image, TransformOptions? options = null)
    {
        options ??= TransformOptions.Default;
        var plan = HdPartition.PlanVideo(image.Width, image.Height);
        bool trans = image.Width < image.Height;
        var src = trans ? ImageOps.Transpose(image) : image;           // landscape: long side is x
        int longSide = trans ? plan.ResizedHeight : plan.ResizedWidth;
        var resized = PilBilinear.Resize(src, longSide, HdPartition.CropSize, options.MaxThreads);
        // upstream transposes, pads the bottom (= the long side), and transposes back unless the input was portrait
        var t = ImageOps.Transpose(resized);
        var padded = ImageOps.PadBottomWhite(t, trans ? plan.PaddedHeight : plan.PaddedWidth);
        var hd = trans ? padded : ImageOps.Transpose(padded);
        return Finish(plan, hd, options);
    }

    private static HdTransformResult Finish(HdPlan plan, RgbImage hd, TransformOptions options)
    {
        if (hd.Width != plan.PaddedWidth || hd.Height != plan.PaddedHeight)
            throw new InvalidOperationException($"transform produced {hd.Width}x{hd.Height}, plan says {plan.PaddedWidth}x{plan.PaddedHeight}");
        var pixels = ClipNormalize.ToTensor(hd, options.MaxThreads, BufferCache<float>.Rent(checked(3 * hd.Width * hd.Height)));
        var global = GlobalView(pixels, hd.Height, hd.Width, options.MaxThreads);
        return new HdTransformResult(plan, hd, pixels, global);
    }

    /// <summary>build_mlp.py's global view: bicubic interpolation of [3, H, W] to [3, 560, 560].</summary>
    public static float[] GlobalView(float[] pixelValues, int height, int width, int maxThreads = -1)
    {
        var dst = BufferCache<float>.Rent(3 * HdPartition.CropSize * HdPartition.CropSize);
        TorchBicubic.ResizeInto(pixelValues, 3, height, width, dst, HdPartition.CropSize, HdPartition.CropSize, maxThreads);
        return dst;
    }
}
