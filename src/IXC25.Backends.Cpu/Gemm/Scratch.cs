using System.Runtime.InteropServices;
using IXC25.Runtime;

namespace IXC25.Backends.Cpu.Gemm;

/// <summary>
/// Reusable, 64-byte-aligned native scratch memory for the GEMM and attention drivers: packed
/// activation panels, gathered rows, score tiles, attention accumulators. It never holds weights
/// (weights are read where they are stored and widened per cache block). Released buffers go back to
/// a small process-wide pool so that repeated calls do not page-fault fresh memory; the pool retains
/// at most <see cref="MaxRetainedBytes"/> in total and frees anything beyond.
/// </summary>
internal static unsafe class Scratch
{
    /// <summary>Upper bound on the scratch memory kept between calls.</summary>
    public const long MaxRetainedBytes = 256L << 20;

    private static readonly List<(nint Pointer, long Bytes)> Pool = new();
    private static long _retained;

    /// <summary>A buffer of at least <paramref name="floats"/> float32 values (contents undefined).</summary>
    public static Lease Rent(long floats)
    {
        long bytes = Math.Max(64, (floats * sizeof(float) + 63) & ~63L);
        lock (Pool)
        {
            int best = -1;
            for (int i = 0; i < Pool.Count; i++)
                if (Pool[i].Bytes >= bytes && (best < 0 || Pool[i].Bytes < Pool[best].Bytes)) best = i;
            if (best >= 0)
            {
                var (p, b) = Pool[best];
                Pool.RemoveAt(best);
                _retained -= b;
                return new Lease((float*)p, b);
            }
        }
        void* mem;
        try { mem = NativeMemory.AlignedAlloc((nuint)bytes, 64); }
        catch (OutOfMemoryException e) { throw new IxcException($"cannot allocate {bytes} bytes of scratch memory", e); }
        return new Lease((float*)mem, bytes);
    }

    private static void Return(float* p, long bytes)
    {
        lock (Pool)
        {
            if (_retained + bytes <= MaxRetainedBytes)
            {
                Pool.Add(((nint)p, bytes));
                _retained += bytes;
                return;
            }
        }
        NativeMemory.AlignedFree(p);
    }

    /// <summary>A rented buffer; dispose to give it back.</summary>
    public sealed class Lease : IDisposable
    {
        private float* _pointer;

        internal Lease(float* pointer, long bytes)
        {
            _pointer = pointer;
            Bytes = bytes;
        }

        public float* Pointer => _pointer != null ? _pointer : throw new ObjectDisposedException(nameof(Lease));
        public long Bytes { get; }

        public void Dispose()
        {
            if (_pointer == null) return;
            Return(_pointer, Bytes);
            _pointer = null;
        }
    }
}
