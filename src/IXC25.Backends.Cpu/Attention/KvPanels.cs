using System.Runtime.InteropServices;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Runtime;

namespace IXC25.Backends.Cpu.Attention;

/// <summary>
/// The key/value cache of one attention layer, in native memory, laid out for the attention kernels
/// (<see cref="CpuOps.Attention(ReadOnlySpan{float}, int, int, int, int, ReadOnlySpan{float}, ReadOnlySpan{float}, KvPanels, Span{float})"/>):
/// <list type="bullet">
/// <item>keys per KV head in panels of <see cref="KeyPanel"/> = 32 tokens, each panel transposed: [HKV][Capacity / 32][D][32]
/// (element (s, d) at panel s / 32, [d * 32 + s % 32]). A panel is 32 keys x D contiguous: scores for 32 keys are one
/// microkernel call reading one contiguous block (decode streams the cache), and appending a token writes one
/// column of one panel;</item>
/// <item>values per KV head in panels of 32 head dims: [HKV][DV / 32][Capacity][32] with DV = D rounded up to 32
/// (element (s, d) at panel d / 32, [s * 32 + d % 32]): the probability-times-value product for 32 dims streams one
/// contiguous panel, and appending a token writes DV / 32 runs of 32 values.</item>
/// </list>
/// <see cref="Capacity"/> is preallocated and grows by doubling (rounded to 64 tokens), copying the
/// stored tokens once; appending a token otherwise costs O(HKV * D). Holds HKV * Capacity * (D + DV)
/// float32 values. Not thread-safe: one cache belongs to one sequence.
/// </summary>
public sealed unsafe class KvPanels : IDisposable
{
    /// <summary>Tokens per key panel.</summary>
    public const int KeyPanel = 32;

    private float* _keys;   // [HKV][Capacity / 32][D][32]
    private float* _values; // [HKV][DV / 32][Capacity][32]
    private Scratch.Lease? _keyLease, _valueLease; // pooled storage of a temporary cache
    private readonly bool _pooled;
    private bool _disposed;

    /// <param name="kvHeads">HKV.</param>
    /// <param name="headDim">D.</param>
    /// <param name="capacity">Tokens to preallocate (grows on demand).</param>
    public KvPanels(int kvHeads, int headDim, int capacity = 0) : this(kvHeads, headDim, capacity, pooled: false)
    {
    }

    /// <summary>
    /// A temporary cache (one call of the reference-compatible attention, sdpa) whose storage comes from the
    /// scratch pool and is not cleared: padding columns then hold stale values, which only ever reach discarded
    /// score lanes and output columns.
    /// </summary>
    internal static KvPanels Temporary(int kvHeads, int headDim, int capacity) => new(kvHeads, headDim, capacity, pooled: true);

    private KvPanels(int kvHeads, int headDim, int capacity, bool pooled)
    {
        _pooled = pooled;
        if (kvHeads <= 0 || headDim <= 0) throw new IxcException($"kv cache: kv_heads {kvHeads} and head_dim {headDim} must be positive");
        if (capacity < 0) throw new IxcException($"kv cache: capacity {capacity} must be >= 0");
        KvHeads = kvHeads;
        HeadDim = headDim;
        ValueStride = (headDim + 31) / 32 * 32;
        Reserve(capacity);
    }

    public int KvHeads { get; }
    public int HeadDim { get; }

    /// <summary>Tokens stored.</summary>
    public int Length { get; private set; }

    /// <summary>Tokens that fit without reallocation (a multiple of 64).</summary>
    public int Capacity { get; private set; }

    /// <summary>DV: D rounded up to 32 (whole value panels).</summary>
    internal int ValueStride { get; }

    /// <summary>Head dims per value panel.</summary>
    public const int ValuePanel = 32;

    /// <summary>Floats per value panel (Capacity * 32).</summary>
    internal nint ValuePanelStride => (nint)Capacity * ValuePanel;

    /// <summary>Keys of KV head g: element (s, d) at [(s / 32) * <see cref="KeyPanelStride"/> + d * 32 + s % 32].</summary>
    internal float* Keys(int g) => Live(_keys) + (nint)g * HeadDim * Capacity;

    /// <summary>Floats per key panel (32 D).</summary>
    internal int KeyPanelStride => KeyPanel * HeadDim;

    /// <summary>Values of KV head g: element (s, d) at [(d / 32) * <see cref="ValuePanelStride"/> + s * 32 + d % 32].</summary>
    internal float* Values(int g) => Live(_values) + (nint)g * Capacity * ValueStride;

    /// <summary>Makes room for at least <paramref name="tokens"/> tokens.</summary>
    public void Reserve(int tokens)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens <= Capacity && _keys != null) return;
        int cap = Math.Max(64, Capacity);
        while (cap < tokens) cap = checked(cap * 2);
        cap = (cap + 63) / 64 * 64;
        long kFloats = (long)KvHeads * HeadDim * cap, vFloats = (long)KvHeads * cap * ValueStride;
        Scratch.Lease? kLease = null, vLease = null;
        float* k, v;
        if (_pooled)
        {
            kLease = Scratch.Rent(kFloats);
            vLease = Scratch.Rent(vFloats);
            k = kLease.Pointer;
            v = vLease.Pointer;
        }
        else
        {
            k = Alloc(kFloats);
            v = Alloc(vFloats);
        }
        if (_keys != null)
        {
            long panelBytes = (long)(Length + KeyPanel - 1) / KeyPanel * KeyPanel * HeadDim * 4;
            for (int g = 0; g < KvHeads; g++)
            {
                Buffer.MemoryCopy(_keys + (long)g * HeadDim * Capacity, k + (long)g * HeadDim * cap, panelBytes, panelBytes);
                for (int p = 0; p < ValueStride / ValuePanel; p++)
                    Buffer.MemoryCopy(_values + ((long)g * ValueStride / ValuePanel + p) * Capacity * ValuePanel,
                        v + ((long)g * ValueStride / ValuePanel + p) * cap * ValuePanel, (long)Length * ValuePanel * 4, (long)Length * ValuePanel * 4);
            }
            Free();
        }
        _keys = k;
        _values = v;
        _keyLease = kLease;
        _valueLease = vLease;
        Capacity = cap;
    }

    /// <summary>Appends T tokens: k, v [HKV, T, D] (keys already rotated).</summary>
    public void Append(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T)
    {
        long n = (long)KvHeads * T * HeadDim;
        if (T < 0 || k.Length != n || v.Length != n)
            throw new IxcException($"kv cache append: k has {k.Length} and v {v.Length} elements, expected {n} ([{KvHeads}, {T}, {HeadDim}])");
        Reserve(checked(Length + T));
        int D = HeadDim;
        fixed (float* kp = k)
            for (int g = 0; g < KvHeads; g++)
            {
                float* keys = Keys(g), vv = Values(g), src = kp + (nint)g * T * D;
                for (int t = 0; t < T; t++)
                {
                    int s = Length + t;
                    float* col = keys + (nint)(s / KeyPanel) * KeyPanelStride + s % KeyPanel, ks = src + (nint)t * D;
                    for (int d = 0; d < D; d++) col[d * KeyPanel] = ks[d];
                    var vs = v.Slice((g * T + t) * D, D);
                    for (int d0 = 0; d0 < D; d0 += ValuePanel)
                        vs.Slice(d0, Math.Min(ValuePanel, D - d0)).CopyTo(new Span<float>(vv + (d0 / ValuePanel) * ValuePanelStride + (nint)s * ValuePanel, ValuePanel));
                }
            }
        Length += T;
    }

    /// <summary>Keeps the first <paramref name="length"/> tokens (e.g. to roll back a chat turn).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new IxcException($"kv cache: cannot truncate {Length} tokens to {length}");
        Length = length;
    }

    public void Clear() => Length = 0;

    /// <summary>Copies the stored tokens out as k, v [HKV, Length, D].</summary>
    public void CopyTo(Span<float> k, Span<float> v)
    {
        long n = (long)KvHeads * Length * HeadDim;
        if (k.Length != n || v.Length != n) throw new IxcException($"kv cache copy: k has {k.Length} and v {v.Length} elements, expected {n}");
        int D = HeadDim;
        for (int g = 0; g < KvHeads; g++)
        {
            float* keys = Keys(g), vv = Values(g);
            for (int s = 0; s < Length; s++)
            {
                var kd = k.Slice((g * Length + s) * D, D);
                float* col = keys + (nint)(s / KeyPanel) * KeyPanelStride + s % KeyPanel;
                for (int d = 0; d < D; d++) kd[d] = col[d * KeyPanel];
                var vd = v.Slice((g * Length + s) * D, D);
                for (int d0 = 0; d0 < D; d0 += ValuePanel)
                    new ReadOnlySpan<float>(vv + (d0 / ValuePanel) * ValuePanelStride + (nint)s * ValuePanel, Math.Min(ValuePanel, D - d0)).CopyTo(vd.Slice(d0));
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Free();
        Capacity = 0;
        Length = 0;
    }

    private void Free()
    {
        if (_pooled)
        {
            _keyLease?.Dispose();
            _valueLease?.Dispose();
            _keyLease = _valueLease = null;
        }
        else
        {
            if (_keys != null) NativeMemory.AlignedFree(_keys);
            if (_values != null) NativeMemory.AlignedFree(_values);
        }
        _keys = null;
        _values = null;
    }

    private static float* Live(float* p) => p != null ? p : throw new ObjectDisposedException(nameof(KvPanels));

    private static float* Alloc(long floats)
    {
        nuint bytes = (nuint)Math.Max(64, floats * 4);
        try
        {
            var p = (float*)NativeMemory.AlignedAlloc(bytes, 64);
            NativeMemory.Clear(p, bytes);
            return p;
        }
        catch (OutOfMemoryException e) { throw new IxcException($"kv cache: cannot allocate {bytes} bytes", e); }
    }
}
