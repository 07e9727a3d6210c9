using IXC25.Runtime.Tensors;
using IXC25.Runtime.Spec;

namespace IXC25.Runtime.Compare;

/// <summary>
/// The outcome of comparing a tensor with its reference under a tolerance class.
/// </summary>
/// <param name="Count">Elements compared.</param>
/// <param name="MaxAbs">Largest |actual - reference| over finite pairs.</param>
/// <param name="MaxRel">Largest |actual - reference| / |reference| over finite pairs with a non-zero reference.</param>
/// <param name="Nmse">sum((a - r)^2) / sum(r^2) over finite pairs (0 when both are zero).</param>
/// <param name="FirstBad">Index of the first element outside atol + rtol |r|, or of the first NaN/Inf mismatch; -1 if none.</param>
/// <param name="NonFiniteMismatch">A NaN or infinity of one side is not matched (same position, same sign) on the other.</param>
public sealed record CompareResult(long Count, double MaxAbs, double MaxRel, double Nmse, long FirstBad, bool NonFiniteMismatch, ToleranceInfo Tolerance)
{
    /// <summary>Every element within atol + rtol |reference|, NMSE within bound, NaN/Inf parity.</summary>
    public bool Pass => !NonFiniteMismatch && FirstBad < 0 && Nmse <= Tolerance.Nmse;

    public override string ToString() =>
        FormattableString.Invariant($"{(Pass ? "ok  " : "FAIL")} max_abs {MaxAbs:0.###e+0} max_rel {MaxRel:0.###e+0} nmse {Nmse:0.###e+0} (class {Tolerance.Name}: atol {Tolerance.Atol:0.###e+0} rtol {Tolerance.Rtol:0.###e+0} nmse {Tolerance.Nmse:0.###e+0})") +
        (NonFiniteMismatch ? FormattableString.Invariant($"; NaN/Inf mismatch at {FirstBad}") : FirstBad >= 0 ? FormattableString.Invariant($"; first offending index {FirstBad}") : "");
}

/// <summary>Element-wise and whole-tensor comparison with the rule of spec/tolerances.json.</summary>
public static class TensorComparer
{
    public static CompareResult Compare(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference, ToleranceInfo tol)
    {
        if (actual.Length != reference.Length)
            throw new ArgumentException($"length {actual.Length} vs reference {reference.Length}");
        var acc = new CompareAccumulator(tol);
        acc.Add(actual, reference);
        return acc.Result();
    }
}

/// <summary>
/// The statistics of <see cref="TensorComparer.Compare"/> gathered over a tensor fed in consecutive pieces
/// (a tensor above 2 GiB is compared straight from its mapping, a piece at a time). The result does not
/// depend on where the pieces are cut, bit for bit: every element is visited once, in index order, by the
/// same loop; max |a - r| and max relative error are maxima (order-free); the sums behind NMSE are one
/// running double carried from piece to piece (never per-piece partial sums added afterwards), so they add
/// the same terms in the same order as a single pass; the first offending index and the first NaN/Inf
/// mismatch are global indices (piece offset + position) kept from the first piece that sets them.
/// </summary>
public sealed class CompareAccumulator(ToleranceInfo tol)
{
    private double _maxAbs, _maxRel, _err2, _ref2;
    private long _count, _firstBad = -1;
    private bool _nonFinite;

    /// <summary>Elements seen so far (the global index of the next element).</summary>
    public long Count => _count;

    /// <summary>Adds the next piece: element i of these spans is element <see cref="Count"/> + i of the tensor.</summary>
    public void Add(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference)
    {
        if (actual.Length != reference.Length)
            throw new ArgumentException($"length {actual.Length} vs reference {reference.Length}");
        double maxAbs = _maxAbs, maxRel = _maxRel, err2 = _err2, ref2 = _ref2;
        long firstBad = _firstBad, at = _count;
        bool nonFinite = _nonFinite;
        double atol = tol.Atol, rtol = tol.Rtol;
        for (int i = 0; i < actual.Length; i++)
        {
            float a = actual[i], r = reference[i];
            bool fa = float.IsFinite(a), fr = float.IsFinite(r);
            if (!fa || !fr)
            {
                bool same = (float.IsNaN(a) && float.IsNaN(r)) || (float.IsInfinity(a) && a == r);
                if (!same && !nonFinite) { nonFinite = true; firstBad = at + i; }
                continue;
            }
            double d = Math.Abs((double)a - r), ar = Math.Abs((double)r);
            if (d > maxAbs) maxAbs = d;
            if (r != 0) { double rel = d / ar; if (rel > maxRel) maxRel = rel; } // never NaN: d finite, ar > 0
            err2 += d * d;
            ref2 += ar * ar;
            if (firstBad < 0 && d > atol + rtol * ar) firstBad = at + i;
        }
        _maxAbs = maxAbs; _maxRel = maxRel; _err2 = err2; _ref2 = ref2;
        _firstBad = firstBad; _nonFinite = nonFinite;
        _count += actual.Length;
    }

    public CompareResult Result()
    {
        double nmse = _ref2 > 0 ? _err2 / _ref2 : _err2 > 0 ? double.PositiveInfinity : 0;
        return new CompareResult(_count, _maxAbs, _maxRel, nmse, _firstBad, _nonFinite, tol);
    }
}

/// <summary>The verdict of comparing one named tensor with its reference.</summary>
/// <param name="Stats">Error statistics (float tensors of equal shape), else null.</param>
public sealed record TensorVerdict(string Name, bool Pass, string Text, CompareResult? Stats);

/// <summary>
/// Compares named tensors of any dtype: shapes first, floats under a tolerance, others exactly. Tensors of
/// any size (above 2 GiB too) are read in pieces of <c>chunkElements</c> elements straight from their
/// buffers (a mapped file is never copied whole); the verdict does not depend on the piece size
/// (<see cref="CompareAccumulator"/>).
/// </summary>
public static class NamedTensorComparer
{
    /// <summary>Elements compared per piece by default (4 MiB of f32 per side).</summary>
    public const int DefaultChunkElements = 1 << 20;

    public static TensorVerdict Compare(Tensors.NamedTensor actual, Tensors.NamedTensor reference, ToleranceInfo tol, int chunkElements = DefaultChunkElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkElements, 1);
        if (!actual.Shape.AsSpan().SequenceEqual(reference.Shape))
            return new(reference.Name, false, $"FAIL shape {Tensors.Shape.Format(actual.Shape)} vs {Tensors.Shape.Format(reference.Shape)}", null);
        long numel = reference.Numel;
        if (actual.DType.IsFloat() && reference.DType.IsFloat())
        {
            var acc = new CompareAccumulator(tol);
            bool direct = actual.DType == Tensors.DType.F32 && reference.DType == Tensors.DType.F32;
            float[]? ba = null, br = null;
            if (!direct)
            {
                int n = (int)Math.Min(chunkElements, numel);
                ba = new float[n];
                br = new float[n];
            }
            for (long start = 0; start < numel; start += chunkElements)
            {
                int n = (int)Math.Min(chunkElements, numel - start);
                if (direct)
                {
                    // f32 on both sides: compare the mapped bytes in place
                    acc.Add(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(actual.ByteSlice(start * 4, checked(n * 4))),
                            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reference.ByteSlice(start * 4, checked(n * 4))));
                }
                else
                {
                    actual.ReadFloat32(start, ba.AsSpan(0, n));
                    reference.ReadFloat32(start, br.AsSpan(0, n));
                    acc.Add(ba.AsSpan(0, n), br.AsSpan(0, n));
                }
            }
            var r = acc.Result();
            return new(reference.Name, r.Pass, r.ToString(), r);
        }
        if (actual.DType != reference.DType)
            return new(reference.Name, false, $"FAIL dtype {actual.DType.SpecName()} vs {reference.DType.SpecName()}", null);
        int size = actual.DType.Size();
        long pieceBytes = (long)Math.Min(chunkElements, int.MaxValue / size) * size;
        long total = actual.Data.ByteLength;
        for (long offset = 0; offset < total; offset += pieceBytes)
        {
            int n = (int)Math.Min(pieceBytes, total - offset);
            var a = actual.ByteSlice(offset, n);
            var b = reference.ByteSlice(offset, n);
            if (a.SequenceEqual(b)) continue;
            long first = (offset + a.CommonPrefixLength(b)) / size;
            return new(reference.Name, false, $"FAIL values differ; first offending index {first}", null);
        }
        return new(reference.Name, true, "ok   exact", null);
    }
}
