namespace IXC25.Vision.Imaging;

/// <summary>Exact pixel operations of PIL used by the front end: transpose, white padding, paste.</summary>
public static class ImageOps
{
    /// <summary>PIL's <c>Image.transpose(Image.TRANSPOSE)</c>: swaps x and y (a mirror on the main diagonal, not a rotation).</summary>
    public static RgbImage Transpose(RgbImage src)
    {
        int w = src.Width, h = src.Height;
        var dst = GC.AllocateUninitializedArray<byte>(src.Pixels.Length);
        var s = src.Pixels;
        // blocked for cache locality: dst(x=y', y=x') = src(x', y')
        const int B = 32;
        for (int y0 = 0; y0 < h; y0 += B)
            for (int x0 = 0; x0 < w; x0 += B)
            {
                int y1 = Math.Min(h, y0 + B), x1 = Math.Min(w, x0 + B);
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                    {
                        int si = (y * w + x) * 3, di = (x * h + y) * 3;
                        dst[di] = s[si]; dst[di + 1] = s[si + 1]; dst[di + 2] = s[si + 2];
                    }
            }
        return new RgbImage(h, w, dst);
    }

    /// <summary>torchvision's <c>pad(img, [0, 0, 0, bottom], fill=[255, 255, 255])</c>: white rows appended at the bottom.</summary>
    public static RgbImage PadBottomWhite(RgbImage src, int newHeight)
    {
        if (newHeight < src.Height) throw new ArgumentOutOfRangeException(nameof(newHeight), $"{newHeight} < {src.Height}");
        if (newHeight == src.Height) return src;
        var dst = GC.AllocateUninitializedArray<byte>(checked(src.Width * newHeight * 3));
        src.Pixels.AsSpan().CopyTo(dst);
        dst.AsSpan(src.Pixels.Length).Fill(255);
        return new RgbImage(src.Width, newHeight, dst);
    }

    /// <summary>PIL's <c>canvas.paste(img, (x, y))</c> for RGB on RGB, clipped to the canvas.</summary>
    public static void Paste(RgbImage canvas, RgbImage img, int x, int y)
    {
        int x0 = Math.Max(0, x), y0 = Math.Max(0, y);
        int x1 = Math.Min(canvas.Width, x + img.Width), y1 = Math.Min(canvas.Height, y + img.Height);
        if (x1 <= x0 || y1 <= y0) return;
        int len = (x1 - x0) * 3;
        for (int yy = y0; yy < y1; yy++)
            img.Pixels.AsSpan(((yy - y) * img.Width + (x0 - x)) * 3, len).CopyTo(canvas.Pixels.AsSpan((yy * canvas.Width + x0) * 3, len));
    }

    /// <summary>Rectangle of pixels [x0, x1) x [y0, y1) set to (r, g, b), clipped to the image.</summary>
    public static void FillRect(RgbImage img, int x0, int y0, int x1, int y1, byte r, byte g, byte b)
    {
        x0 = Math.Max(0, x0); y0 = Math.Max(0, y0);
        x1 = Math.Min(img.Width, x1); y1 = Math.Min(img.Height, y1);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
            {
                int i = (y * img.Width + x) * 3;
                img.Pixels[i] = r; img.Pixels[i + 1] = g; img.Pixels[i + 2] = b;
            }
    }
}
