using IXC25.Runtime;
using IXC25.Runtime.Spec;

namespace IXC25.Vision.Partition;

/// <summary>
/// The geometry of upstream's dynamic high-resolution partition (`Image_transform` in ixc_utils.py),
/// computed from the image size alone: the resized size, the white bottom (or, for portrait images,
/// right) padding up to a multiple of 560, the crop grid and the number of LLM tokens the image becomes.
/// </summary>
/// <param name="Transposed">True when width &lt; height: upstream transposes before and after resizing.</param>
/// <param name="ResizedWidth">Width after the PIL bilinear resize, before padding (original orientation).</param>
/// <param name="ResizedHeight">Height after the resize, before padding (original orientation).</param>
/// <param name="PaddedWidth">Final width W (a multiple of 560).</param>
/// <param name="PaddedHeight">Final height H (a multiple of 560).</param>
/// <param name="GridRows">h = H / 560.</param>
/// <param name="GridCols">w = W / 560.</param>
public sealed record HdPlan(bool Transposed, int ResizedWidth, int ResizedHeight, int PaddedWidth, int PaddedHeight, int GridRows, int GridCols)
{
    /// <summary>Token count of the image in the LLM sequence: (h*w + 1) * 400 + 1 + (h + 1) * 20 (<see cref="HdPartition.TokenCount"/>).</summary>
    public int ImageTokens => HdPartition.TokenCount(GridRows, GridCols);
}

public static class HdPartition
{
    /// <summary>Side of one crop and of the global view, in pixels.</summary>
    public const int CropSize = 560;

    /// <summary>Side of one ViT patch, in pixels.</summary>
    public const int PatchSize = 14;

    /// <summary>ViT patches per side of a crop or the global view (G = 560 / 14 = 40).</summary>
    public const int PatchGrid = CropSize / PatchSize;

    /// <summary>hd_num used by chat for a single image.</summary>
    public const int DefaultHdNum = 24;

    /// <summary>hd_num used per image when a prompt has more than one image.</summary>
    public const int MultiImageHdNum = 6;

    /// <summary>
    /// Plans the partition of a <paramref name="width"/> x <paramref name="height"/> image for
    /// <paramref name="hdNum"/> crops at most, exactly as upstream:
    /// scale = the largest s with s * ceil(s / ratio) &lt;= hd_num (ratio = long side / short side, as a double),
    /// then min(ceil(long / 560), scale); new_long = scale * 560; new_short = int(new_long / ratio);
    /// short side padded up to a multiple of 560.
    /// </summary>
    public static HdPlan Plan(int width, int height, int hdNum)
    {
        if (width <= 0 || height <= 0) throw new IxcException($"image size {width}x{height} is empty");
        if (hdNum < 1) throw new IxcException($"hd_num must be at least 1 (got {hdNum})");
        bool trans = width < height;
        int w = trans ? height : width, h = trans ? width : height; // w >= h
        double ratio = (double)w / h;
        int scale = 1;
        while (scale * Math.Ceiling(scale / ratio) <= hdNum) scale++;
        scale--;
        scale = (int)Math.Min(Math.Ceiling((double)w / CropSize), scale);
        if (scale < 1)
            throw new IxcException($"hd_num {hdNum} is too small for a {width}x{height} image (its aspect ratio needs at least {(int)Math.Ceiling(1 / ratio)} crops)");
        int newW = scale * CropSize;
        int newH = (int)(newW / ratio); // truncation toward zero, as Python's int()
        if (newH < 1)
            throw new IxcException($"image {width}x{height} is too thin: its short side would be resized to 0 pixels (aspect ratio {ratio:0.##}:1 exceeds {newW}:1)");
        int padH = (newH + CropSize - 1) / CropSize * CropSize;
        return trans
            ? new HdPlan(true, newH, newW, padH, newW, newW / CropSize, padH / CropSize)
            : new HdPlan(false, newW, newH, newW, padH, padH / CropSize, newW / CropSize);
    }

    /// <summary>
    /// The geometry of upstream's <c>Video_transform</c> (hd_num is ignored there): the short side becomes
    /// exactly 560, the long side <c>int(560 * long / short)</c> (ratio as a double, truncated), padded
    /// at its end to a multiple of 560. Landscape and square images get one row of crops, portrait
    /// images one column.
    /// </summary>
    public static HdPlan PlanVideo(int width, int height)
    {
        if (width <= 0 || height <= 0) throw new IxcException($"image size {width}x{height} is empty");
        bool trans = width < height;
        int w = trans ? height : width, h = trans ? width : height;
        double ratio = (double)w / h;
        double longSide = CropSize * ratio;
        if (longSide > int.MaxValue / 4) throw new IxcException($"video composite {width}x{height} is too elongated");
        int newLong = (int)longSide;
        int padLong = (newLong + CropSize - 1) / CropSize * CropSize;
        return trans
            ? new HdPlan(true, CropSize, newLong, CropSize, padLong, padLong / CropSize, 1)
            : new HdPlan(false, newLong, CropSize, padLong, CropSize, 1, padLong / CropSize);
    }

    /// <summary>Tokens of an image cut into a gridRows x gridCols crop grid: <see cref="ImageTokenLayout.Count"/> for the
    /// 40x40 patch grid, (h*w + 1) * 400 + 1 + (h + 1) * 20 (global view 20 rows of 20 tokens + separator, one glb_GN,
    /// then 20h rows of 20w tokens + separator).</summary>
    public static int TokenCount(int gridRows, int gridCols) => ImageTokenLayout.Count(PatchGrid, gridRows, gridCols);
}
