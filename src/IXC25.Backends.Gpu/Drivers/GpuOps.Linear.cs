using ILGPU;
using ILGPU.Runtime;
using IXC25.Backends.Gpu.Kernels;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>The products on the device: linear, Partial LoRA, the embedding lookup (Kernels/LinearKernels).</summary>
public sealed partial class GpuOps
{
    /// <summary>Rows up to which a product runs the row kernel (one weight read per row pass) instead of the tiles.</summary>
    public const int RowKernelMaxRows = LinearKernels.RowsPerPass;

    void IGpuKernels.Embedding(GpuAct ids, NamedTensor table, in EmbeddingDims d, EmbeddingAttrs attrs, GpuAct y)
    {
        if (d.T == 0 || d.C == 0) return;
        // ids are checked on the host (T values) so that an id outside the vocabulary is an error, not a wild read
        var host = ids.ToArray<long>();
        for (int t = 0; t < host.Length; t++)
            if (host[t] < 0 || host[t] >= d.V) throw new IxcException($"embedding: id {host[t]} at position {t} is outside the vocabulary [0, {d.V})");
        var w = Weights.Get(table);
        Kernel("embedding", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<long>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int>(LinearKernels.Embedding))(
            new Index1D(checked(d.T * d.C)), ids.I64, w.W32, w.W16, w.KindCode, y.F, d.C);
    }

    void IGpuKernels.Linear(GpuAct x, NamedTensor weight, NamedTensor? bias, in LinearDims d, LinearAttrs attrs, GpuAct y) =>
        Product(x.F, d.T, d.IN, weight, bias, y.F, d.OUT, attrs.RowExact);

    void IGpuKernels.PloraLinear(GpuAct x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, GpuAct imMask, in PloraLinearDims d, PloraLinearAttrs attrs, GpuAct y)
    {
        if (d.T == 0 || d.OUT == 0) return;
        Product(x.F, d.T, d.IN, weight, null, y.F, d.OUT, attrs.RowExact);
        // upstream's separate products: A x, then B (A x), then * scale, then the add (on masked rows; the quirks in LoraAdd)
        using var xa = Alloc(DType.F32, d.T, d.R);
        using var lb = Alloc(DType.F32, d.T, d.OUT);
        Product(x.F, d.T, d.IN, loraA, null, xa.FOrDummy, d.R, attrs.RowExact);
        Product(xa.FOrDummy, d.T, d.R, loraB, null, lb.F, d.OUT, attrs.RowExact);
        Kernel("plora_any", a => a.LoadStreamKernel<ArrayView<byte>, ArrayView<int>, int>(LinearKernels.AnyNonZero))(
            LinearKernels.AnyConfig(GroupSize), imMask.U8, _flag.View, d.T);
        Kernel("plora_add", a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<byte>, ArrayView<int>, int, float, int>(LinearKernels.LoraAdd))(
            new Index1D(checked(d.T * d.OUT)), y.F, lb.F, imMask.U8, _flag.View, d.OUT, attrs.Scale, attrs.RowExact ? 1 : 0);
        _accelerator.DefaultStream.Synchronize(); // before the temporaries are freed
    }

    /// <summary>
    /// y [T, OUT] = x [T, IN] W^T (+ bias). Up to <see cref="RowKernelMaxRows"/> rows, or with rowExact, the row kernel
    /// (each row summed as if alone); more rows the tiled kernel.
    /// </summary>
    private void Product(ArrayView<float> x, int T, int IN, NamedTensor weight, NamedTensor? bias, ArrayView<float> y, int OUT, bool rowExact)
    {
        if (T == 0 || OUT == 0) return;
        var w = Weights.Get(weight);
        var b = bias is null ? default : Weights.GetF32(bias);
        var bv = bias is null ? Weights.Placeholder32 : b;
        int hasBias = bias is null ? 0 : 1;
        if (rowExact || T <= RowKernelMaxRows)
            Kernel("linear_rows", a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, ArrayView<float>, int, int, int>(LinearKernels.Rows))(
                LinearKernels.RowsConfig(OUT, GroupSize), x, w.W32, w.W16, w.KindCode, bv, hasBias, y, T, IN, OUT);
        else
            Kernel("linear_tile", a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<ushort>, int, ArrayView<float>, int, ArrayView<float>, int, int, int, int>(LinearKernels.Tile))(
                LinearKernels.TileConfig(T, OUT, TileSide), x, w.W32, w.W16, w.KindCode, bv, hasBias, y, T, IN, OUT, TileSide);
    }

    /// <summary>The first index of the largest of the row's n values, computed on the device (one int comes back).</summary>
    public int ArgMax(GpuAct row)
    {
        if (row.DType != DType.F32) throw new IxcException($"argmax of {row}: a float32 row is needed");
        long n = row.Numel;
        if (n == 0) throw new IxcException("argmax of an empty row");
        if (n > int.MaxValue) throw new IxcException($"argmax of {n:N0} values: at most {int.MaxValue:N0}");
        Kernel("argmax", a => a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int>(ArgMaxKernels.Reduce))(
            ArgMaxKernels.Config(GroupSize), row.F, _flag.View, (int)n);
        var result = new int[1];
        _flag.View.CopyToCPU(_accelerator.DefaultStream, result);
        _accelerator.DefaultStream.Synchronize();
        return result[0];
    }
}
