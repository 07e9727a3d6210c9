using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Kit;

/// <summary>
/// Compares a port's reply with the reference's under the rules of docs/PORTING.md: refusals first (both
/// refuse: agree; the port answers where the reference refuses: lenient; the port refuses where the
/// reference answers: fail), then every response field spec/port.json marks "compare", then every output
/// tensor the reference wrote: present (unless the surface's outputs are optional), same dtype and shape,
/// values within the tensor's tolerance class (rows at their position's tolerance where it grows).
/// </summary>
public static class ReplyComparer
{
    public static CaseVerdict Compare(ISurface surface, object c, PortReply reference, string? referenceOut, PortReply port, string? portOut)
    {
        var problems = new List<string>();
        var stats = new List<TensorStat>();
        var notCovered = new List<string>();
        if (reference.Status is not (ReplyStatus.Ok or ReplyStatus.Refused))
            throw new IxcException($"the reference failed on this case ({reference.Status}: {reference.Message}); this is a bug of the kit or the engine, please report it");
        switch (port.Status)
        {
            case ReplyStatus.Refused when reference.Status == ReplyStatus.Refused:
                return new(Outcome.Pass, [], [], []);
            case ReplyStatus.Ok when reference.Status == ReplyStatus.Refused:
                return new(Outcome.Lenient, [$"answers where the reference refuses (reference: {reference.Message})"], [], []);
            case ReplyStatus.Refused:
                return new(Outcome.Fail, [$"refuses where the reference answers: {port.Message}"], [], []);
            case ReplyStatus.Error:
                return new(Outcome.Fail, [$"port error: {port.Message}"], [], []);
            case ReplyStatus.Crashed:
                return new(Outcome.Fail, [$"port crashed: {port.Message}"], [], []);
            case ReplyStatus.TimedOut:
                return new(Outcome.Fail, [$"port hung: {port.Message}"], [], []);
            case ReplyStatus.Garbage:
                return new(Outcome.Fail, [$"port wrote garbage: {port.Message}"], [], []);
        }

        foreach (var f in surface.Schema.Response.Where(f => f.Compare is not null))
        {
            var want = reference.Fields[f.Name];
            var got = port.Fields[f.Name];
            if (!JsonNode.DeepEquals(want, got)) problems.Add($"{f.Name} differs: {FirstDifference(want, got)}");
        }

        if (surface.Schema.HasTensors)
            CompareTensors(surface, c, referenceOut!, portOut!, problems, stats, notCovered);
        return new(problems.Count == 0 ? Outcome.Pass : Outcome.Fail, problems, stats, notCovered);
    }

    private static void CompareTensors(ISurface surface, object c, string referenceOut, string portOut, List<string> problems, List<TensorStat> stats, List<string> notCovered)
    {
        using var expected = new SafetensorsFile(referenceOut);
        if (!File.Exists(portOut))
        {
            problems.Add($"the port answered ok but wrote no output file {Path.GetFileName(portOut)}");
            return;
        }
        SafetensorsFile actual;
        try { actual = new SafetensorsFile(portOut); }
        catch (IxcException e)
        {
            problems.Add($"the port's output file is not a valid safetensors file: {e.Message}");
            return;
        }
        using (actual)
        {
            foreach (var want in expected.Tensors)
            {
                if (!actual.TryGet(want.Name, out var got))
                {
                    if (surface.OutputsOptional) notCovered.Add(want.Name);
                    else problems.Add($"tensor {want.Name} missing from the port's output");
                    continue;
                }
                if (got.DType != want.DType)
                {
                    problems.Add($"tensor {want.Name}: dtype {got.DType.SpecName()}, expected {want.DType.SpecName()}");
                    continue;
                }
                if (!got.Shape.AsSpan().SequenceEqual(want.Shape))
                {
                    problems.Add($"tensor {want.Name}: shape {Shape.Format(got.Shape)}, expected {Shape.Format(want.Shape)}");
                    continue;
                }
                var tol = surface.Tolerance(c, want.Name);
                CompareResult result;
                if (!want.DType.IsFloat())
                {
                    var exact = CompareIntegers(got, want, tol);
                    stats.Add(new TensorStat(want.Name, tol.Name, exact));
                    if (!exact.Pass) problems.Add($"tensor {want.Name} differs ({tol.Name}): {exact}{Where(want, exact)}");
                    continue;
                }
                result = CompareFloat(surface, c, want, got, tol);
                stats.Add(new TensorStat(want.Name, tol.Name, result));
                if (!result.Pass) problems.Add($"tensor {want.Name} outside tolerance: {result}{Where(want, result)}");
            }
        }
    }

    /// <summary>Floats under the tensor's class; when the class grows with position, row by row at each row's position.</summary>
    private static CompareResult CompareFloat(ISurface surface, object c, NamedTensor want, NamedTensor got, Runtime.Spec.ToleranceInfo tol)
    {
        var a = got.ToFloat32();
        var r = want.ToFloat32();
        if (tol.AtolPerPosition == 0 || want.Shape.Length < 2) return TensorComparer.Compare(a, r, tol);
        long rows = want.Shape[0], width = want.Numel / Math.Max(1, rows);
        double maxAbs = 0, maxRel = 0, e2 = 0, ref2 = 0;
        long firstBad = -1;
        bool nonFinite = false;
        for (long row = 0; row < rows; row++)
        {
            long pos = surface.RowPosition(c, want.Name, row) ?? row;
            var res = TensorComparer.Compare(a.AsSpan((int)(row * width), (int)width), r.AsSpan((int)(row * width), (int)width), tol.AtPosition(pos));
            maxAbs = Math.Max(maxAbs, res.MaxAbs);
            maxRel = Math.Max(maxRel, res.MaxRel);
            if (firstBad < 0 && res.FirstBad >= 0) { firstBad = row * width + res.FirstBad; nonFinite = res.NonFiniteMismatch; }
        }
        for (int i = 0; i < a.Length; i++)
            if (float.IsFinite(a[i]) && float.IsFinite(r[i]))
            {
                double d = (double)a[i] - r[i];
                e2 += d * d;
                ref2 += (double)r[i] * r[i];
            }
        double nmse = ref2 == 0 ? (e2 == 0 ? 0 : double.PositiveInfinity) : e2 / ref2;
        return new CompareResult(a.Length, maxAbs, maxRel, nmse, firstBad, nonFinite, tol);
    }

    /// <summary>Integer tensors (u8, i32, i64) element by element: the largest difference and the first differing index.</summary>
    private static CompareResult CompareIntegers(NamedTensor got, NamedTensor want, Runtime.Spec.ToleranceInfo tol)
    {
        long n = want.Numel, firstBad = -1;
        double maxAbs = 0;
        for (long i = 0; i < n; i++)
        {
            long a = IntegerAt(got, i), r = IntegerAt(want, i);
            if (a == r) continue;
            maxAbs = Math.Max(maxAbs, Math.Abs((double)a - r));
            if (firstBad < 0) firstBad = i;
        }
        return new CompareResult(n, maxAbs, 0, 0, firstBad, false, tol);
    }

    private static long IntegerAt(NamedTensor t, long i) => t.DType switch
    {
        DType.U8 => t.ByteSlice(i, 1)[0],
        DType.I32 => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(t.ByteSlice(i * 4, 4)),
        DType.I64 => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(t.ByteSlice(i * 8, 8)),
        var d => throw new IxcException($"tensor {t.Name}: dtype {d.SpecName()} is not compared (the protocol's tensors are f32, u8, i32 or i64)"),
    };

    private static string Where(NamedTensor t, CompareResult r)
    {
        if (r.FirstBad < 0 || t.Shape.Length == 0) return "";
        var idx = new long[t.Shape.Length];
        long rest = r.FirstBad;
        for (int d = t.Shape.Length - 1; d >= 0; d--) { idx[d] = t.Shape[d] == 0 ? 0 : rest % t.Shape[d]; rest /= Math.Max(1, t.Shape[d]); }
        return $" at [{string.Join(", ", idx)}]";
    }

    /// <summary>Where two JSON values first differ: index and both values for arrays, else both values.</summary>
    public static string FirstDifference(JsonNode? want, JsonNode? got)
    {
        if (want is JsonArray wa && got is JsonArray ga)
        {
            int n = Math.Min(wa.Count, ga.Count);
            for (int i = 0; i < n; i++)
                if (!JsonNode.DeepEquals(wa[i], ga[i]))
                    return $"first at index {i}: reference {PortSchema.Short(wa[i])}, port {PortSchema.Short(ga[i])} (lengths {wa.Count} and {ga.Count})";
            return $"lengths {ga.Count} vs reference {wa.Count} (equal up to {n})";
        }
        return $"reference {PortSchema.Short(want)}, port {PortSchema.Short(got)}";
    }
}
