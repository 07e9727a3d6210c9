namespace IXC25.Vision.Partition;

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
/// cell in the 20x20 grid of its view; the cell concatenates the ViT patches
/// (2r, 2c), (2r, 2c+1), (2r+1, 2c), (2r+1, 2c+1) of that view's 40x40 patch grid, in that order.
/// </summary>
public readonly record struct ImageToken(ImageTokenKind Kind, int Crop, int CellRow, int CellCol)
{
    /// <summary>The 4 patch indices (row * 40 + col in the view's 40x40 patch grid) of a cell, in concatenation order.</summary>
    public (int, int, int, int) Patches => Kind is ImageTokenKind.GlobalCell or ImageTokenKind.CropCell
        ? (Patch(2 * CellRow, 2 * CellCol), Patch(2 * CellRow, 2 * CellCol + 1), Patch(2 * CellRow + 1, 2 * CellCol), Patch(2 * CellRow + 1, 2 * CellCol + 1))
        : throw new InvalidOperationException($"{Kind} has no patches");

    private static int Patch(int r, int c) => r * TokenLayout.PatchesPerSide + c;
}

/// <summary>
/// Upstream's layout of one image in the LLM sequence (build_mlp.py, <c>forward</c>): the global view
/// as 20 rows of [20 cells, sub_GN]; glb_GN; then the h x w crops tiled into one (20h) x (20w) grid of
/// cells, row by row (cell row R, column C belongs to crop (R / 20) * w + C / 20), each row followed by
/// sub_GN. Its length is <see cref="HdPartition.TokenCount"/>.
/// </summary>
public static class TokenLayout
{
    public const int PatchesPerSide = 40;
    public const int CellsPerSide = 20;

    public static IEnumerable<ImageToken> Enumerate(int gridRows, int gridCols)
    {
        if (gridRows < 1 || gridCols < 1) throw new ArgumentOutOfRangeException(nameof(gridRows), $"grid {gridRows}x{gridCols}");
        for (int r = 0; r < CellsPerSide; r++)
        {
            for (int c = 0; c < CellsPerSide; c++) yield return new ImageToken(ImageTokenKind.GlobalCell, -1, r, c);
            yield return new ImageToken(ImageTokenKind.SubSeparator, -1, r, -1);
        }
        yield return new ImageToken(ImageTokenKind.GlobalSeparator, -1, -1, -1);
        for (int R = 0; R < CellsPerSide * gridRows; R++)
        {
            for (int C = 0; C < CellsPerSide * gridCols; C++)
                yield return new ImageToken(ImageTokenKind.CropCell, R / CellsPerSide * gridCols + C / CellsPerSide, R % CellsPerSide, C % CellsPerSide);
            yield return new ImageToken(ImageTokenKind.SubSeparator, -1, R, -1);
        }
    }
}
