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
        double maxAbs = 0, maxRel = 0, err2 = 0, ref2 = 0;
        long firstBad = -1;
        bool nonFinite = false;
        for (int i = 0; i < actual.Length; i++)
        {
            float a = actual[i], r = reference[i];
            bool fa = float.IsFinite(a), fr = float.IsFinite(r);
            if (!fa || !fr)
            {
                bool same = (float.IsNaN(a) && float.IsNaN(r)) || (float.IsInfinity(a) && a == r);
                if (!same && !nonFinite) { nonFinite = true; firstBad = i; }
                continue;
            }
            double d = Math.Abs((double)a - r);
            if (d > maxAbs) maxAbs = d;
            if (r != 0) maxRel = Math.Max(maxRel, d / Math.Abs((double)r));
            err2 += d * d;
            ref2 += (double)r * r;
            if (firstBad < 0 && d > tol.Atol + tol.Rtol * Math.Abs((double)r)) firstBad = i;
        }
        double nmse = ref2 > 0 ? err2 / ref2 : err2 > 0 ? double.PositiveInfinity : 0;
        return new CompareResult(actual.Length, maxAbs, maxRel, nmse, firstBad, nonFinite, tol);
    }
}

/// <summary>The verdict of comparing one named tensor with its reference.</summary>
/// <param name="Stats">Error statistics (float tensors of equal shape), else null.</param>
public sealed record TensorVerdict(string Name, bool Pass, string Text, CompareResult? Stats);

/// <summary>Compares named tensors of any dtype: shapes first, floats under a tolerance, others exactly.</summary>
public static class NamedTensorComparer
{
    public static TensorVerdict Compare(Tensors.NamedTensor actual, Tensors.NamedTensor reference, ToleranceInfo tol)
    {
        if (!actual.Shape.AsSpan().SequenceEqual(reference.Shape))
            return new(reference.Name, false, $"FAIL shape {Tensors.Shape.Format(actual.Shape)} vs {Tensors.Shape.Format(reference.Shape)}", null);
        if (actual.DType.IsFloat() && reference.DType.IsFloat())
        {
            var r = TensorComparer.Compare(actual.ToFloat32(), reference.ToFloat32(), tol);
            return new(reference.Name, r.Pass, r.ToString(), r);
        }
        if (actual.DType != reference.DType)
            return new(reference.Name, false, $"FAIL dtype {actual.DType.SpecName()} vs {reference.DType.SpecName()}", null);
        var a = actual.Data.Bytes;
        var b = reference.Data.Bytes;
        if (a.SequenceEqual(b)) return new(reference.Name, true, "ok   exact", null);
        long first = a.CommonPrefixLength(b) / actual.DType.Size();
        return new(reference.Name, false, $"FAIL values differ; first offending index {first}", null);
    }
}
