using IXC25.Runtime;
using IXC25.Vision.Imaging;

namespace IXC25.Vision.Resampling;

/// <summary>
/// PIL 9.4's <c>Image.resize(size, Image.BILINEAR)</c> on an RGB image (what torchvision 0.14's
/// <c>transforms.functional.resize</c> does for PIL input), reproduced bit for bit.
///
/// PIL's algorithm (libImaging/Resample.c): a separable convolution with the triangle filter whose
/// support is stretched by the downscale factor (antialiasing). For each output index the taps are
/// computed in double precision, normalised to sum 1, and converted to fixed point with
/// <see cref="PrecisionBits"/> = 22 fractional bits (rounded half away from zero). The horizontal
/// pass runs first (only when the width changes) and its result is rounded to 8 bits; the vertical
/// pass (only when the height changes) reads that 8-bit intermediate. Each output value is
/// <c>clip8((sum + 2^21) &gt;&gt; 22)</c> with an arithmetic shift and clamping to 0..255.
/// </summary>
public static class PilBilinear
{
    /// <summary>32 - 8 - 2: 8 bits for the result, 2 for overflow and sign.</summary>
    public const int PrecisionBits = 32 - 8 - 2;

    /// <summary>
    /// Taps of a 1-D resampling of <c>inSize</c> samples to <c>outSize</c>: output i reads inputs
    /// <c>Start[i] .. Start[i] + Count[i] - 1</c> with fixed-point weights
    /// <c>Weights[i * MaxTaps + k]</c>.
    /// </summary>
    public sealed class Coefficients
    {
        public required int InSize { get; init; }
        public required int OutSize { get; init; }
        public required int MaxTaps { get; init; }
        public required int[] Start { get; init; }
        public required int[] Count { get; init; }
        public required int[] Weights { get; init; }
        /// <summary>The double-precision normalised weights before fixed-point conversion (for tests).</summary>
        public required double[] Exact { get; init; }
    }

    /// <summary>PIL's <c>precompute_coeffs</c> + <c>normalize_coeffs_8bpc</c> for the bilinear (triangle) filter, box = (0, inSize).</summary>
    public static Coefficients Compute(int inSize, int outSize)
    {
        if (inSize <= 0 || outSize <= 0) throw new IxcException($"cannot resample {inSize} samples to {outSize}");
        const double filterSupport = 1.0;
        // box is float in PIL: (float)(in1 - in0) is exact for any realistic size
        double scale = (double)(float)inSize / outSize;
        double filterScale = scale < 1.0 ? 1.0 : scale;
        double support = filterSupport * filterScale;
        int maxTaps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var exact = new double[(long)outSize * maxTaps];
        var fixedPoint = new int[exact.Length];
        double ss = 1.0 / filterScale;
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale; // in0 = 0
            double ww = 0.0;
            int xmin = (int)(center - support + 0.5); // C cast: truncation toward zero
            if (xmin < 0) xmin = 0;
            int xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            int row = xx * maxTaps;
            for (int x = 0; x < xmax; x++)
            {
                double w = Triangle((x + xmin - center + 0.5) * ss);
                exact[row + x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++)
                if (ww != 0.0) exact[row + x] /= ww;
            for (int x = 0; x < maxTaps; x++)
            {
                double k = exact[row + x];
                fixedPoint[row + x] = k < 0
                    ? (int)(-0.5 + k * (1 << PrecisionBits))
                    : (int)(0.5 + k * (1 << PrecisionBits));
            }
            start[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients { InSize = inSize, OutSize = outSize, MaxTaps = maxTaps, Start = start, Count = count, Weights = fixedPoint, Exact = exact };
    }

    private static double Triangle(double x)
    {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /// <summary>PIL's clip8: arithmetic shift by 22, clamped to 0..255.</summary>
    internal static byte Clip8(int sum)
    {
        int v = sum >> PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    /// <summary>Resizes <paramref name="src"/> to <paramref name="width"/> x <paramref name="height"/> exactly as PIL.
    /// Rows are split across threads; the result does not depend on <paramref name="maxThreads"/>.</summary>
    public static RgbImage Resize(RgbImage src, int width, int height, int maxThreads = -1)
    {
        CheckSize(src, width, height);
        var dst = GC.AllocateUninitializedArray<byte>(checked(width * height * 3));
        ResizeInto(src, width, height, dst, maxThreads);
        return new RgbImage(width, height, dst);
    }

    /// <summary>
    /// <see cref="Resize"/> writing the result into the first <c>width * height * 3</c> bytes of
    /// <paramref name="dst"/> (the rest is left as is: callers pad below it).
    /// </summary>
    public static void ResizeInto(RgbImage src, int width, int height, byte[] dst, int maxThreads = -1)
    {
        CheckSize(src, width, height);
        int outLen = checked(width * height * 3);
        if (dst.Length < outLen) throw new ArgumentException($"{dst.Length} bytes for a {width}x{height} RGB image", nameof(dst));
        if (width == src.Width && height == src.Height) { src.Pixels.AsSpan().CopyTo(dst); return; }

        var vert = Compute(src.Height, height);
        if (width == src.Width)
        {
            PilResampleKernels.Vertical(src.Pixels, width, 0, dst, height, vert, maxThreads);
            return;
        }
        var hor = Compute(src.Width, width);
        if (height == src.Height)
        {
            PilResampleKernels.Horizontal(src.Pixels, src.Width, 0, dst, width, height, hor, maxThreads);
            return;
        }
        // rows of the source that the vertical pass reads; the horizontal pass produces only those
        int firstRow = vert.Start[0];
        int lastRow = vert.Start[height - 1] + vert.Count[height - 1];
        int rows = lastRow - firstRow;
        byte[] tmp = System.Buffers.ArrayPool<byte>.Shared.Rent(checked(width * rows * 3));
        try
        {
            PilResampleKernels.Horizontal(src.Pixels, src.Width, firstRow, tmp, width, rows, hor, maxThreads);
            PilResampleKernels.Vertical(tmp, width, firstRow, dst, height, vert, maxThreads);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(tmp); }
    }

    private static void CheckSize(RgbImage src, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new IxcException($"cannot resize a {src.Width}x{src.Height} image to {width}x{height} (a side would be empty)");
    }

    /// <summary>
    /// The plain reference: PIL's loops written out with no optimisation (one output value at a time).
    /// The fast kernels in <see cref="PilResampleKernels"/> are tested against it.
    /// </summary>
    public static RgbImage ResizeReference(RgbImage src, int width, int height)
    {
        if (width <= 0 || height <= 0)
            throw new IxcException($"cannot resize a {src.Width}x{src.Height} image to {width}x{height} (a side would be empty)");
        byte[] cur = src.Pixels;
        int curW = src.Width, curH = src.Height;
        var vert = Compute(src.Height, height);
        int firstRow = vert.Start[0];
        int lastRow = vert.Start[height - 1] + vert.Count[height - 1];
        int vertOffset = 0;
        if (width != curW)
        {
            var hor = Compute(curW, width);
            int rows = lastRow - firstRow;
            var tmp = new byte[width * rows * 3];
            for (int yy = 0; yy < rows; yy++)
                for (int xx = 0; xx < width; xx++)
                {
                    int xmin = hor.Start[xx], n = hor.Count[xx];
                    for (int c = 0; c < 3; c++)
                    {
                        int ss = 1 << (PrecisionBits - 1);
                        for (int x = 0; x < n; x++)
                            ss += cur[((yy + firstRow) * curW + x + xmin) * 3 + c] * hor.Weights[xx * hor.MaxTaps + x];
                        tmp[(yy * width + xx) * 3 + c] = Clip8(ss);
                    }
                }
            cur = tmp; curW = width; curH = rows; vertOffset = firstRow;
        }
        if (height != src.Height)
        {
            var dst = new byte[width * height * 3];
            for (int yy = 0; yy < height; yy++)
            {
                int ymin = vert.Start[yy] - vertOffset, n = vert.Count[yy];
                for (int xx = 0; xx < width; xx++)
                    for (int c = 0; c < 3; c++)
                    {
                        int ss = 1 << (PrecisionBits - 1);
                        for (int y = 0; y < n; y++)
                            ss += cur[((y + ymin) * curW + xx) * 3 + c] * vert.Weights[yy * vert.MaxTaps + y];
                        dst[(yy * width + xx) * 3 + c] = Clip8(ss);
                    }
            }
            cur = dst; curH = height;
        }
        return new RgbImage(width, curH, cur == src.Pixels ? (byte[])cur.Clone() : cur);
    }
}
