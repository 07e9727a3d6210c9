using IXC25.Backends.Reference;
using IXC25.Backends.Cpu.Simd;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Elementwise and row ops. Lowering: the generated SIMD kernels (IXC25.Backends.Cpu.Simd.<Op>Kernel,
// best accelerated tier), split over independent rows (or flat element ranges) with Workers when the work is big enough.
// Spans cannot be captured by the parallel lambdas, so the parallel path pins them and passes addresses.
public sealed partial class CpuOps
{
    /// <summary>x [T, C], weight [C], y [T, C] (may be x).</summary>
    public unsafe void RmsNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, float eps, Span<float> y)
    {
        RefOps.Length(x.Length, (long)T * C, "rms_norm", "x");
        RefOps.Length(weight.Length, C, "rms_norm", "weight");
        RefOps.Length(y.Length, (long)T * C, "rms_norm", "y");
        if (T == 0 || C == 0) return;
        if (!Workers.Worth(Threads, x.Length)) { RmsNormKernel.Run(x, C, weight, eps, y); return; }
        fixed (float* px = x, pw = weight, py = y)
        {
            nint ax = (nint)px, aw = (nint)pw, ay = (nint)py;
            Workers.Run(Threads, T, C, (r0, r1) => RmsNormKernel.Run(
                new ReadOnlySpan<float>((float*)ax + (long)r0 * C, (r1 - r0) * C), C, new ReadOnlySpan<float>((float*)aw, C), eps,
                new Span<float>((float*)ay + (long)r0 * C, (r1 - r0) * C)));
        }
    }

    /// <summary>x [T, C], weight [C], bias [C], y [T, C] (may be x).</summary>
    public unsafe void LayerNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y)
    {
        RefOps.Length(x.Length, (long)T * C, "layer_norm", "x");
        RefOps.Length(weight.Length, C, "layer_norm", "weight");
        RefOps.Length(bias.Length, C, "layer_norm", "bias");
        RefOps.Length(y.Length, (long)T * C, "layer_norm", "y");
        if (T == 0 || C == 0) return;
        if (!Workers.Worth(Threads, x.Length)) { LayerNormKernel.Run(x, C, weight, bias, eps, y); return; }
        fixed (float* px = x, pw = weight, pb = bias, py = y)
        {
            nint ax = (nint)px, aw = (nint)pw, ab = (nint)pb, ay = (nint)py;
            Workers.Run(Threads, T, C, (r0, r1) => LayerNormKernel.Run(
                new ReadOnlySpan<float>((float*)ax + (long)r0 * C, (r1 - r0) * C), C, new ReadOnlySpan<float>((float*)aw, C), new ReadOnlySpan<float>((float*)ab, C), eps,
                new Span<float>((float*)ay + (long)r0 * C, (r1 - r0) * C)));
        }
    }

    /// <summary>x, y [any] (y may be x).</summary>
    public unsafe void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        RefOps.Length(y.Length, x.Length, "gelu", "y");
        if (!Workers.Worth(Threads, x.Length)) { GeluKernel.Run(x, y); return; }
        fixed (float* px = x, py = y)
        {
            nint ax = (nint)px, ay = (nint)py;
            Workers.RunElements(Threads, x.Length, (s, e) => GeluKernel.Run(new ReadOnlySpan<float>((float*)ax + s, e - s), new Span<float>((float*)ay + s, e - s)));
        }
    }

    /// <summary>x, y [any] (y may be x).</summary>
    public unsafe void QuickGelu(ReadOnlySpan<float> x, Span<float> y)
    {
        RefOps.Length(y.Length, x.Length, "quick_gelu", "y");
        if (!Workers.Worth(Threads, x.Length)) { QuickGeluKernel.Run(x, y); return; }
        fixed (float* px = x, py = y)
        {
            nint ax = (nint)px, ay = (nint)py;
            Workers.RunElements(Threads, x.Length, (s, e) => QuickGeluKernel.Run(new ReadOnlySpan<float>((float*)ax + s, e - s), new Span<float>((float*)ay + s, e - s)));
        }
    }

    /// <summary>a, b, y [any] (y may be a or b).</summary>
    public unsafe void SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        RefOps.Length(b.Length, a.Length, "silu_gate", "b");
        RefOps.Length(y.Length, a.Length, "silu_gate", "y");
        if (!Workers.Worth(Threads, a.Length)) { SiluGateKernel.Run(a, b, y); return; }
        fixed (float* pa = a, pb = b, py = y)
        {
            nint aa = (nint)pa, ab = (nint)pb, ay = (nint)py;
            Workers.RunElements(Threads, a.Length, (s, e) => SiluGateKernel.Run(
                new ReadOnlySpan<float>((float*)aa + s, e - s), new ReadOnlySpan<float>((float*)ab + s, e - s), new Span<float>((float*)ay + s, e - s)));
        }
    }

    /// <summary>a, b, y [any] (y may be a or b).</summary>
    public unsafe void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        RefOps.Length(b.Length, a.Length, "add", "b");
        RefOps.Length(y.Length, a.Length, "add", "y");
        if (!Workers.Worth(Threads, a.Length)) { AddKernel.Run(a, b, y); return; }
        fixed (float* pa = a, pb = b, py = y)
        {
            nint aa = (nint)pa, ab = (nint)pb, ay = (nint)py;
            Workers.RunElements(Threads, a.Length, (s, e) => AddKernel.Run(
                new ReadOnlySpan<float>((float*)aa + s, e - s), new ReadOnlySpan<float>((float*)ab + s, e - s), new Span<float>((float*)ay + s, e - s)));
        }
    }

    /// <summary>x [T, K], y [T, K] (may be x). A row with NaN, +inf or only -inf is all NaN (as torch).</summary>
    public unsafe void Softmax(ReadOnlySpan<float> x, int T, int K, Span<float> y)
    {
        RefOps.Length(x.Length, (long)T * K, "softmax", "x");
        RefOps.Length(y.Length, (long)T * K, "softmax", "y");
        if (T == 0 || K == 0) return;
        if (!Workers.Worth(Threads, x.Length)) { SoftmaxKernel.Run(x, K, y); return; }
        fixed (float* px = x, py = y)
        {
            nint ax = (nint)px, ay = (nint)py;
            Workers.Run(Threads, T, K, (r0, r1) => SoftmaxKernel.Run(
                new ReadOnlySpan<float>((float*)ax + (long)r0 * K, (r1 - r0) * K), K, new Span<float>((float*)ay + (long)r0 * K, (r1 - r0) * K)));
        }
    }

    /// <summary>x [HX, T, D], cos/sin [T, D], y [HX, T, D] (may be x).</summary>
    public unsafe void Rope(ReadOnlySpan<float> x, int HX, int T, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y)
    {
        RefOps.Require(D > 0 && D % 2 == 0, "rope", $"head dim {D} must be positive and even");
        RefOps.Length(x.Length, (long)HX * T * D, "rope", "x");
        RefOps.Length(cos.Length, (long)T * D, "rope", "cos");
        RefOps.Length(sin.Length, (long)T * D, "rope", "sin");
        RefOps.Length(y.Length, (long)HX * T * D, "rope", "y");
        if (HX == 0 || T == 0) return;
        if (!Workers.Worth(Threads, x.Length)) { RopeRows(x, T, D, cos, sin, y, 0, HX * T); return; }
        fixed (float* px = x, pc = cos, ps = sin, py = y)
        {
            nint ax = (nint)px, ac = (nint)pc, aS = (nint)ps, ay = (nint)py;
            int total = x.Length;
            Workers.Run(Threads, HX * T, D, (r0, r1) => RopeRows(
                new ReadOnlySpan<float>((float*)ax, total), T, D, new ReadOnlySpan<float>((float*)ac, T * D), new ReadOnlySpan<float>((float*)aS, T * D),
                new Span<float>((float*)ay, total), r0, r1));
        }
    }

    /// <summary>Rows [r0, r1) of x viewed as [HX * T, D]; row r is token r % T, so each run stays inside one head.</summary>
    private static void RopeRows(ReadOnlySpan<float> x, int T, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y, int r0, int r1)
    {
        int r = r0, end = r1;
        while (r < end)
        {
            int t = r % T, n = Math.Min(end - r, T - t);
            RopeKernel.Run(x.Slice(r * D, n * D), D, cos.Slice(t * D, n * D), sin.Slice(t * D, n * D), y.Slice(r * D, n * D));
            r += n;
        }
    }

    /// <summary>ids [T], table [V, C] as stored, y [T, C].</summary>
    public void Embedding(ReadOnlySpan<long> ids, NamedTensor table, Span<float> y)
    {
        int V = checked((int)table.Shape[0]), C = checked((int)table.Shape[1]);
        for (int t = 0; t < ids.Length; t++)
        {
            long id = ids[t];
            if (id < 0 || id >= V) throw new IXC25.Runtime.IxcException($"embedding: id {id} at position {t} is outside the vocabulary [0, {V})");
            var dst = y.Slice(t * C, C);
            switch (table.DType)
            {
                case DType.BF16: BFloat16.Widen(table.AsSpan<ushort>().Slice((int)id * C, C), dst); break;
                case DType.F16:
                    var h = table.AsSpan<Half>().Slice((int)id * C, C);
                    for (int c = 0; c < C; c++) dst[c] = (float)h[c];
                    break;
                default: table.AsSpan<float>().Slice((int)id * C, C).CopyTo(dst); break;
            }
        }
    }
}
