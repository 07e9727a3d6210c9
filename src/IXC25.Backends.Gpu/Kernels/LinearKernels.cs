using ILGPU;
using ILGPU.Runtime;

namespace IXC25.Backends.Gpu.Kernels;

/// <summary>
/// The products of the ILGPU backend: y[t, o] = sum_i x[t, i] W[o, i] (+ b[o]) with W stored as f32, bf16 or f16 and
/// widened as it is read. Two kernels:
/// <list type="bullet">
/// <item><see cref="Rows"/>: one group per output column; each thread sums a strided slice of the row in ascending
/// order for up to <see cref="RowsPerPass"/> rows at once (one weight read serves them all), then a fixed tree over
/// the group. A row's order depends only on the group size, never on T: every row equals the op on that row alone
/// (the decode step, batched decode's row_exact, the LoRA products).</item>
/// <item><see cref="Tile"/>: a square group of ts x ts threads computes a (4 ts) x (4 ts) block of outputs (4 x 4 per
/// thread) from K tiles of x and W staged in shared memory; each output sums i in ascending order (prefill).</item>
/// </list>
/// Both are deterministic on a device: no atomics, fixed orders.
/// </summary>
public static class LinearKernels
{
    /// <summary>Rows summed together per weight read by <see cref="Rows"/>.</summary>
    public const int RowsPerPass = 8;

    /// <summary>Outputs per thread along each side of <see cref="Tile"/>'s block.</summary>
    public const int PerThread = 4;

    /// <summary>Inner-dimension elements staged per step by <see cref="Tile"/>.</summary>
    public const int KTile = 64;

    /// <summary>OUT groups of groupSize threads (a power of two), RowsPerPass floats of shared memory per thread.</summary>
    public static KernelConfig RowsConfig(int outputs, int groupSize) =>
        new(new Index1D(outputs), new Index1D(groupSize), SharedMemoryConfig.RequestDynamic<float>(RowsPerPass * groupSize));

    /// <summary>x [T, IN], W [OUT, IN], bias [OUT] when hasBias, y [T, OUT] (row stride yStride, column offset yOffset).</summary>
    public static void Rows(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int kind, ArrayView<float> bias, int hasBias,
        ArrayView<float> y, int T, int IN, int OUT)
    {
        int g = Group.DimX;
        int tid = Group.IdxX;
        int o = Grid.IdxX;
        var shared = SharedMemory.GetDynamic<float>();
        var acc = LocalMemory.Allocate<float>(RowsPerPass);
        long wo = (long)o * IN;
        for (int t0 = 0; t0 < T; t0 += RowsPerPass)
        {
            int rows = T - t0 < RowsPerPass ? T - t0 : RowsPerPass;
            for (int r = 0; r < RowsPerPass; r++) acc[r] = 0f;
            for (int i = tid; i < IN; i += g)
            {
                float wv = DeviceNumbers.Weight(w32, w16, kind, wo + i);
                for (int r = 0; r < rows; r++) acc[r] += x[(long)(t0 + r) * IN + i] * wv;
            }
            for (int r = 0; r < RowsPerPass; r++) shared[r * g + tid] = acc[r];
            Group.Barrier();
            for (int s = g / 2; s > 0; s >>= 1)
            {
                if (tid < s)
                    for (int r = 0; r < rows; r++) shared[r * g + tid] += shared[r * g + tid + s];
                Group.Barrier();
            }
            if (tid == 0)
                for (int r = 0; r < rows; r++)
                {
                    float v = shared[r * g];
                    y[(long)(t0 + r) * OUT + o] = hasBias != 0 ? v + bias[o] : v;
                }
            Group.Barrier();
        }
    }

    /// <summary>Groups of ts x ts threads over the (4 ts)-square output blocks; shared memory for the two staged tiles.</summary>
    public static KernelConfig TileConfig(int T, int OUT, int ts)
    {
        int side = PerThread * ts;
        int blocks = ((T + side - 1) / side) * ((OUT + side - 1) / side);
        return new(new Index1D(blocks), new Index1D(ts * ts), SharedMemoryConfig.RequestDynamic<float>(2 * side * KTile));
    }

    /// <summary>x [T, IN], W [OUT, IN], bias [OUT] when hasBias, y [T, OUT]; launched with TileConfig(T, OUT, ts).</summary>
    public static void Tile(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int kind, ArrayView<float> bias, int hasBias,
        ArrayView<float> y, int T, int IN, int OUT, int ts)
    {
        int side = PerThread * ts;
        int tid = Group.IdxX;
        int nThreads = ts * ts;
        int tx = tid % ts, ty = tid / ts;
        int colBlocks = (OUT + side - 1) / side;
        int t0 = (Grid.IdxX / colBlocks) * side;
        int o0 = (Grid.IdxX % colBlocks) * side;
        var shared = SharedMemory.GetDynamic<float>();
        int wsBase = side * KTile; // xs [side][KTile], then ws [side][KTile]
        var acc = LocalMemory.Allocate<float>(PerThread * PerThread);
        for (int a = 0; a < PerThread * PerThread; a++) acc[a] = 0f;
        for (int k0 = 0; k0 < IN; k0 += KTile)
        {
            for (int e = tid; e < side * KTile; e += nThreads)
            {
                int r = e / KTile, kk = e % KTile;
                int k = k0 + kk;
                int t = t0 + r, o = o0 + r;
                shared[e] = t < T && k < IN ? x[(long)t * IN + k] : 0f;
                shared[wsBase + e] = o < OUT && k < IN ? DeviceNumbers.Weight(w32, w16, kind, (long)o * IN + k) : 0f;
            }
            Group.Barrier();
            int kEnd = IN - k0 < KTile ? IN - k0 : KTile;
            for (int kk = 0; kk < kEnd; kk++)
                for (int i = 0; i < PerThread; i++)
                {
                    float xv = shared[(ty * PerThread + i) * KTile + kk];
                    for (int j = 0; j < PerThread; j++)
                        acc[i * PerThread + j] += xv * shared[wsBase + (tx * PerThread + j) * KTile + kk];
                }
            Group.Barrier();
        }
        for (int i = 0; i < PerThread; i++)
        {
            int t = t0 + ty * PerThread + i;
            if (t >= T) continue;
            for (int j = 0; j < PerThread; j++)
            {
                int o = o0 + tx * PerThread + j;
                if (o >= OUT) continue;
                float v = acc[i * PerThread + j];
                y[(long)t * OUT + o] = hasBias != 0 ? v + bias[o] : v;
            }
        }
    }

    /// <summary>One group: flag[0] = 1 when any mask byte is nonzero, else 0.</summary>
    public static KernelConfig AnyConfig(int groupSize) => new(new Index1D(1), new Index1D(groupSize), SharedMemoryConfig.RequestDynamic<int>(groupSize));

    /// <summary>flag[0] = whether any of mask[0 .. T) is nonzero.</summary>
    public static void AnyNonZero(ArrayView<byte> mask, ArrayView<int> flag, int T)
    {
        int g = Group.DimX, tid = Group.IdxX;
        var shared = SharedMemory.GetDynamic<int>();
        int any = 0;
        for (int t = tid; t < T; t += g) if (mask[t] != 0) any = 1;
        shared[tid] = any;
        Group.Barrier();
        for (int s = g / 2; s > 0; s >>= 1)
        {
            if (tid < s && shared[tid + s] != 0) shared[tid] = 1;
            Group.Barrier();
        }
        if (tid == 0) flag[0] = shared[0];
    }

    /// <summary>
    /// Partial LoRA's add, y [T, OUT] += lb [T, OUT] * factor, per row as upstream: with any masked row (flag[0] = 1),
    /// masked rows get scale and the others nothing; with none, row 0 gets factor 0 (the quirk); with rowExact every
    /// row is its own call: masked rows get scale, unmasked rows factor 0.
    /// </summary>
    public static void LoraAdd(Index1D i, ArrayView<float> y, ArrayView<float> lb, ArrayView<byte> mask, ArrayView<int> flag, int OUT, float scale, int rowExact)
    {
        int t = (int)(i / OUT);
        bool masked = mask[t] != 0;
        float f;
        if (rowExact != 0) f = masked ? scale : 0f;
        else if (flag[0] != 0) { if (!masked) return; f = scale; }
        else { if (t != 0) return; f = 0f; }
        y[i] = y[i] + lb[i] * f;
    }

    /// <summary>y[t, c] = table[ids[t], c] widened (ids checked on the host first).</summary>
    public static void Embedding(Index1D i, ArrayView<long> ids, ArrayView<float> w32, ArrayView<ushort> w16, int kind, ArrayView<float> y, int C)
    {
        long t = i / C, c = i % C;
        y[i] = DeviceNumbers.Weight(w32, w16, kind, ids[t] * C + c);
    }
}
