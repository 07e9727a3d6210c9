namespace IXC25.Runtime.Spec;

/// <summary>What one position of an image's LLM token sequence holds.</summary>
public enum ImageTokenKind
{
    /// <summary>A 2x2 patch cell of the global view (crop = -1).</summary>
    GlobalCell,
    /// <summary>A 2x2 patch cell of crop <c>Crop</c>.</summary>
    CropCell,
    /// <summary><c>plora_sub_GN</c>: ends every row of cells (global and crops).</summary>
    SubSeparator,
    /// <summary><c>plora_glb_GN</c>: once, between the global view and the crops.</summary>
    GlobalSeparator,
}

/// <summary>
/// One position of the sequence. For cells, (<paramref name="CellRow"/>, <paramref name="CellCol"/>) is the
/// cell in the (G/2)x(G/2) cell grid of its view; the cell concatenates the ViT patches
/// (2r, 2c), (2r, 2c+1), (2r+1, 2c), (2r+1, 2c+1) of that view's GxG patch grid, in that order.
/// </summary>
/// <param name="Crop">The crop (row-major in the crop grid) of a crop cell; -1 for the global view and separators.</param>
public readonly record struct ImageToken(ImageTokenKind Kind, int Crop, int CellRow, int CellCol)
{
    /// <summary>The view of a cell in the ViT batch: 0 the global view, 1 + crop for crops.</summary>
    public int View => Crop + 1;

    /// <summary>The patch index (row * G + col in the view's GxG patch grid) of part <paramref name="k"/> (0..3) of a cell, in concatenation order.</summary>
    public int Patch(int G, int k) => Kind is ImageTokenKind.GlobalCell or ImageTokenKind.CropCell
        ? (2 * CellRow + k / 2) * G + 2 * CellCol + k % 2
        : throw new InvalidOperationException($"{Kind} has no patches");
}

/// <summary>
/// Upstream's layout of one image in the LLM sequence (build_mlp.py, CLIPVisionTower <c>forward</c>) for a ViT patch
/// grid G (G x G patches per view, G even; 40 for IXC2.5's 560-pixel views of 14-pixel patches) and a crop grid of
/// rows x cols: the global view as G/2 rows of [G/2 cells, sub_GN]; glb_GN; then the crops tiled into one
/// (rows G/2) x (cols G/2) grid of cells, row by row (cell row R, column C belongs to crop (R / (G/2)) cols + C / (G/2)),
/// each row followed by sub_GN. The single definition of the layout: the vision front end counts its tokens with
/// <see cref="Count"/>, and the reference <c>merge_gn</c> writes its output in the order of <see cref="Enumerate"/>.
/// </summary>
public static class ImageTokenLayout
{
    /// <summary>
    /// The number of tokens <see cref="Enumerate"/> yields: (rows cols + 1) g^2 + 1 + (rows + 1) g with g = G / 2
    /// (for G = 40: (rows cols + 1) 400 + 1 + (rows + 1) 20).
    /// </summary>
    public static int Count(int G, int rows, int cols)
    {
        Check(G, rows, cols);
        int g = G / 2;
        return checked((rows * cols + 1) * g * g + 1 + (rows + 1) * g);
    }

    /// <summary>The tokens of one image, in sequence order.</summary>
    public static IEnumerable<ImageToken> Enumerate(int G, int rows, int cols)
    {
        Check(G, rows, cols);
        return Tokens(G / 2, rows, cols);
    }

    private static IEnumerable<ImageToken> Tokens(int g, int rows, int cols)
    {
        for (int r = 0; r < g; r++)
        {
            for (int c = 0; c < g; c++) yield return new ImageToken(ImageTokenKind.GlobalCell, -1, r, c);
            yield return new ImageToken(ImageTokenKind.SubSeparator, -1, r, -1);
        }
        yield return new ImageToken(ImageTokenKind.GlobalSeparator, -1, -1, -1);
        for (int R = 0; R < g * rows; R++)
        {
            for (int C = 0; C < g * cols; C++)
                yield return new ImageToken(ImageTokenKind.CropCell, R / g * cols + C / g, R % g, C % g);
            yield return new ImageToken(ImageTokenKind.SubSeparator, -1, R, -1);
        }
    }

    private static void Check(int G, int rows, int cols)
    {
        if (G < 2 || G % 2 != 0) throw new IxcException($"image token layout: patch grid {G} must be even and positive");
        if (rows < 1 || cols < 1) throw new IxcException($"image token layout: crop grid {rows}x{cols} is empty");
    }
}
