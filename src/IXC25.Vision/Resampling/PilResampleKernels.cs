using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace IXC25.Vision.Resampling;

/// <summary>
/// The two passes of <see cref="PilBilinear"/> on interleaved RGB rows, written for speed: integer
/// arithmetic identical to PIL (32-bit sums, the same order is irrelevant for integers), vectorised
/// across channels (horizontal pass) or across a whole row (vertical pass), rows split across threads.
/// Bit-identical to <see cref="PilBilinear.ResizeReference"/> for every thread count and instruction set.
/// </summary>
internal static unsafe class PilResampleKernels
{
    private const int Round = 1 << (PilBilinear.PrecisionBits - 1);

    /// <summary>Rows per parallel work item: enough work to amortise scheduling.</summary>
    private static int RowsPerChunk(long valuesPerRow) => (int)Math.Clamp(65536 / Math.Max(1, valuesPerRow), 1, 64);

    /// <summary>
    /// Horizontal pass: <paramref name="dst"/> [rows, outW, 3] from <paramref name="src"/> rows
    /// <paramref name="firstRow"/> .. firstRow + rows - 1 of width <paramref name="inW"/>.
    /// </summary>
    public static void Horizontal(byte[] src, int inW, int firstRow, byte[] dst, int outW, int rows, PilBilinear.Coefficients k, int maxThreads)
    {
        int chunk = RowsPerChunk((long)outW * k.MaxTaps);
        int chunks = (rows + chunk - 1) / chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, ci =>
        {
            int y0 = ci * chunk, y1 = Math.Min(rows, y0 + chunk);
            fixed (byte* s = src)
            fixed (byte* d = dst)
            fixed (int* w = k.Weights)
            fixed (int* start = k.Start)
            fixed (int* count = k.Count)
            {
                long srcLen = (long)(firstRow + rows) * inW * 3; // the last byte this pass may read is below this
                for (int y = y0; y < y1; y++)
                {
                    byte* inRow = s + (long)(y + firstRow) * inW * 3;
                    byte* outRow = d + (long)y * outW * 3;
                    HorizontalRow(inRow, outRow, outW, w, start, count, k.MaxTaps, s + srcLen);
                }
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void HorizontalRow(byte* inRow, byte* outRow, int outW, int* weights, int* start, int* count, int maxTaps, byte* srcEnd)
    {
        int xx = 0;
        if (Sse41.IsSupported)
        {
            // one pixel = 4 lanes (R, G, B, and the next pixel's R which is ignored): a 4-byte load
            // may read one byte past the pixel, so the last pixel of the buffer goes the scalar way.
            var round = Vector128.Create(Round);
            for (; xx < outW; xx++)
            {
                int xmin = start[xx], n = count[xx];
                byte* p = inRow + xmin * 3;
                if (p + n * 3 + 1 > srcEnd) break;
                int* kk = weights + xx * maxTaps;
                var acc = round;
                for (int x = 0; x < n; x++)
                {
                    var px = Sse41.ConvertToVector128Int32(Vector128.CreateScalarUnsafe(*(int*)(p + x * 3)).AsByte());
                    acc += px * Vector128.Create(kk[x]);
                }
                acc = Vector128.ShiftRightArithmetic(acc, PilBilinear.PrecisionBits);
                acc = Vector128.Min(Vector128.Max(acc, Vector128<int>.Zero), Vector128.Create(255));
                byte* o = outRow + xx * 3;
                o[0] = (byte)acc.GetElement(0);
                o[1] = (byte)acc.GetElement(1);
                o[2] = (byte)acc.GetElement(2);
            }
        }
        for (; xx < outW; xx++)
        {
            int xmin = start[xx], n = count[xx];
            int* kk = weights + xx * maxTaps;
            byte* p = inRow + xmin * 3;
            int s0 = Round, s1 = Round, s2 = Round;
            for (int x = 0; x < n; x++)
            {
                int kx = kk[x];
                s0 += p[x * 3] * kx;
                s1 += p[x * 3 + 1] * kx;
                s2 += p[x * 3 + 2] * kx;
            }
            byte* o = outRow + xx * 3;
            o[0] = PilBilinear.Clip8(s0);
            o[1] = PilBilinear.Clip8(s1);
            o[2] = PilBilinear.Clip8(s2);
        }
    }

    /// <summary>
    /// Vertical pass: <paramref name="dst"/> [outH, width, 3] from <paramref name="src"/> [*, width, 3],
    /// where source row r of the coefficients is row r - <paramref name="rowOffset"/> of src.
    /// </summary>
    public static void Vertical(byte[] src, int width, int rowOffset, byte[] dst, int outH, PilBilinear.Coefficients k, int maxThreads)
    {
        int rowLen = width * 3;
        int chunk = RowsPerChunk((long)rowLen * k.MaxTaps);
        int chunks = (outH + chunk - 1) / chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, ci =>
        {
            int y0 = ci * chunk, y1 = Math.Min(outH, y0 + chunk);
            fixed (byte* s = src)
            fixed (byte* d = dst)
            fixed (int* w = k.Weights)
            {
                for (int yy = y0; yy < y1; yy++)
                {
                    byte* first = s + (long)(k.Start[yy] - rowOffset) * rowLen;
                    VerticalRow(first, rowLen, k.Count[yy], w + yy * k.MaxTaps, d + (long)yy * rowLen);
                }
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalRow(byte* first, int rowLen, int n, int* kk, byte* o)
    {
        int i = 0;
        if (Avx512F.IsSupported && Avx512BW.IsSupported)
        {
            var round = Vector512.Create(Round);
            for (; i + 16 <= rowLen; i += 16)
            {
                var acc = round;
                byte* p = first + i;
                for (int y = 0; y < n; y++, p += rowLen)
                    acc += Avx512F.ConvertToVector512Int32(Vector128.Load(p)) * Vector512.Create(kk[y]);
                acc = Vector512.ShiftRightArithmetic(acc, PilBilinear.PrecisionBits);
                acc = Vector512.Max(acc, Vector512<int>.Zero);
                Avx512F.ConvertToVector128ByteWithSaturation(acc.AsUInt32()).Store(o + i);
            }
        }
        else if (Avx2.IsSupported)
        {
            var round = Vector256.Create(Round);
            for (; i + 8 <= rowLen; i += 8)
            {
                var acc = round;
                byte* p = first + i;
                for (int y = 0; y < n; y++, p += rowLen)
                    acc += Avx2.ConvertToVector256Int32(p) * Vector256.Create(kk[y]);
                acc = Vector256.ShiftRightArithmetic(acc, PilBilinear.PrecisionBits);
                acc = Vector256.Min(Vector256.Max(acc, Vector256<int>.Zero), Vector256.Create(255));
                // Vector256.Narrow keeps element order: the first 8 bytes are the 8 results
                var s16 = Vector256.Narrow(acc, acc);
                var b8 = Vector256.Narrow(s16.AsUInt16(), s16.AsUInt16());
                *(long*)(o + i) = b8.AsInt64().GetElement(0);
            }
        }
        for (; i < rowLen; i++)
        {
            int ss = Round;
            byte* p = first + i;
            for (int y = 0; y < n; y++, p += rowLen) ss += *p * kk[y];
            o[i] = PilBilinear.Clip8(ss);
        }
    }
}
