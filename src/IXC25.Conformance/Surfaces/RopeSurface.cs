using System.Globalization;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;

namespace IXC25.Conformance.Surfaces;

/// <summary>A rope case: one rotary module's config, the total lengths of its successive forward passes, the positions reported after each.</summary>
public sealed record RopeCase(int HeadDim, double Theta, int MaxPositionEmbeddings, string Scaling, double Factor, long[] Calls, long[] Positions)
{
    /// <summary>The positions reported after call <paramref name="k"/>: those below its length, in request order.</summary>
    public long[] RowsOf(int k) => Positions.Where(p => p < Calls[k]).ToArray();
}

/// <summary>
/// rope: the rotary module after a sequence of forward passes (IXC25-SEMANTICS.md section 6). max_position_embeddings
/// is small (1..64) so that call sequences cross it in both directions: a long pass then a shorter one (HF keeps the
/// enlarged NTK base), then a longer one still (HF rebuilds). Head dims from 2 (dynamic NTK refused once it is
/// needed, as upstream divides by zero) to 128, several thetas, factors 1..8, positions spread over the range
/// including 0 and the longest pass's last position. Tables are compared under the tolerance class "rope", whose
/// bound grows with each row's position (<see cref="RowPosition"/>). Shrinks by dropping calls and positions,
/// shortening calls, lowering max_position_embeddings, positions and the head dim, and dropping the scaling.
/// </summary>
public sealed class RopeSurface : Surface<RopeCase>
{
    public override string Name => "rope";
    public override int DefaultCases => 200;

    private static readonly int[] HeadDims = [2, 4, 6, 8, 16, 34, 64, 128];
    private static readonly double[] Thetas = [10000, 1000000, 500000, 100, 2.5, 50000000];
    private static readonly double[] Factors = [0.5, 1, 1.5, 2, 3, 4, 8]; // 0.5: upstream's config refuses a factor below 1

    public override Gen<RopeCase> Generator =>
        from d in Gen.Frequency((1, Gen.Constant(2)), (8, Gen.Elements(HeadDims)))
        from theta in Gen.Elements(Thetas)
        from maxPos in Gen.Frequency((1, Gen.Choose(1, 7)), (5, Gen.Choose(8, 64)))
        from scaling in Gen.Frequency((1, Gen.Constant("none")), (1, Gen.Constant("linear")), (4, Gen.Constant("dynamic")))
        from factor in scaling == "none" ? Gen.Constant(1.0) : Gen.Elements(Factors)
        from calls in Calls(maxPos)
        from positions in Positions(calls, maxPos)
        select new RopeCase(d, theta, maxPos, scaling, factor, calls, positions);

    /// <summary>1..7 pass lengths around max_position_embeddings, often the long-short-longer pattern of the HF quirk.</summary>
    private static Gen<long[]> Calls(int maxPos)
    {
        var length = Gen.Frequency(
            (2, Gen.Choose(1, Math.Max(1, maxPos))),
            (2, Gen.Elements(maxPos - 1, maxPos, maxPos + 1, maxPos + 2).Select(v => Math.Max(1, v))),
            (3, Gen.Choose(maxPos + 1, 3 * maxPos + 2)),
            (1, Gen.Constant(1)));
        var free = Gen.Sized(s => Gen.Choose(1, Math.Min(7, 2 + s / 20))).SelectMany(n => Gen.ArrayOf(length, n));
        var quirk = from l1 in Gen.Choose(maxPos + 1, 3 * maxPos + 2)
                    from l2 in Gen.Choose(1, l1 - 1)
                    from l3 in Gen.Choose(l1 + 1, 4 * maxPos + 4)
                    from l4 in Gen.Choose(1, l3)
                    select new long[] { l1, l2, l3, l4 };
        return Gen.Frequency((3, free.Select(a => a.Select(v => (long)v).ToArray())), (2, quirk));
    }

    /// <summary>A few distinct positions below the longest pass: 0, its last, max_position_embeddings - 1 and some spread in between.</summary>
    private static Gen<long[]> Positions(long[] calls, int maxPos)
    {
        long top = calls.Max();
        return from n in Gen.Choose(0, 5)
               from spread in Gen.ArrayOf(Gen.Choose(0, (int)top - 1), n)
               from withMax in Gen.Elements(true, false)
               let chosen = new long[] { 0, top - 1 }.Concat(spread.Select(v => (long)v)).Concat(withMax && maxPos - 1 < top ? [maxPos - 1L] : [])
               select chosen.Distinct().OrderBy(p => p).ToArray();
    }

    public override IEnumerable<RopeCase> Shrink(RopeCase c)
    {
        for (int i = 0; i < c.Calls.Length && c.Calls.Length > 1; i++) yield return c with { Calls = Without(c.Calls, i) };
        for (int i = 0; i < c.Positions.Length && c.Positions.Length > 1; i++) yield return c with { Positions = Without(c.Positions, i) };
        if (c.Scaling != "none") yield return c with { Scaling = "none", Factor = 1 };
        foreach (int m in new[] { 1, c.MaxPositionEmbeddings / 2, c.MaxPositionEmbeddings - 1 }.Distinct())
            if (m >= 1 && m < c.MaxPositionEmbeddings) yield return c with { MaxPositionEmbeddings = m };
        foreach (int d in new[] { 4, 2, c.HeadDim / 2, c.HeadDim - 2 }.Distinct())
            if (d >= 2 && d % 2 == 0 && d < c.HeadDim) yield return c with { HeadDim = d };
        // same size, plainer numbers (a larger angle per position makes a wrong base show at smaller positions)
        if (c.Theta != 10000) yield return c with { Theta = 10000 };
        if (c.Factor > 2) yield return c with { Factor = 2 };
        for (int i = 0; i < c.Positions.Length; i++)
            foreach (long p in new[] { 1, 0, c.Positions[i] / 2, c.Positions[i] - 1 }.Distinct())
                if (p >= 0 && p < c.Positions[i] && !c.Positions.Contains(p)) yield return c with { Positions = With(c.Positions, i, p) };
        for (int i = 0; i < c.Calls.Length; i++)
        {
            // first the shortest length that still reports the same rows (just past its last position)
            long tight = c.Positions.Where(p => p < c.Calls[i]).DefaultIfEmpty(0).Max() + 1;
            foreach (long l in new[] { tight, 1, c.Calls[i] / 2, c.Calls[i] - 1 }.Distinct())
                if (l >= 1 && l < c.Calls[i]) yield return c with { Calls = With(c.Calls, i, l) };
        }
    }

    private static long[] Without(long[] a, int i) => [.. a[..i], .. a[(i + 1)..]];
    private static long[] With(long[] a, int i, long v) { var b = (long[])a.Clone(); b[i] = v; return b; }

    /// <summary>Table values written (rows of every call times D), plus the lengths, positions and max_position_embeddings (so that shortening them counts).</summary>
    public override long Size(RopeCase c) =>
        Enumerable.Range(0, c.Calls.Length).Sum(k => (long)c.RowsOf(k).Length * c.HeadDim) + c.Calls.Sum() + c.Positions.Sum() + c.MaxPositionEmbeddings + (c.Scaling == "none" ? 0 : 1);

    public override string Describe(RopeCase c) => string.Create(CultureInfo.InvariantCulture,
        $"head_dim {c.HeadDim}, theta {c.Theta}, max_position_embeddings {c.MaxPositionEmbeddings}, scaling {c.Scaling}{(c.Scaling == "none" ? "" : $" x{c.Factor}")}, calls [{string.Join(", ", c.Calls)}], positions [{string.Join(", ", c.Positions)}]");

    public override JsonNode ToJson(RopeCase c) => new JsonObject
    {
        ["head_dim"] = c.HeadDim,
        ["theta"] = c.Theta,
        ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["scaling"] = c.Scaling,
        ["factor"] = c.Factor,
        ["calls"] = new JsonArray(c.Calls.Select(v => (JsonNode)v).ToArray()),
        ["positions"] = new JsonArray(c.Positions.Select(v => (JsonNode)v).ToArray()),
    };

    public override RopeCase FromJson(JsonNode json) => new(
        Engine.RequestFields.Int(json["head_dim"], "head_dim"), Engine.RequestFields.Double(json["theta"], "theta"),
        Engine.RequestFields.Int(json["max_position_embeddings"], "max_position_embeddings"), (string?)json["scaling"] ?? throw new IxcException("rope case: no 'scaling'"),
        Engine.RequestFields.Double(json["factor"], "factor"), Engine.RequestFields.Longs(json["calls"], "calls"), Engine.RequestFields.Longs(json["positions"], "positions"));

    public override PortRequest Prepare(RopeCase c, string work) => new("rope", work, (JsonObject)ToJson(c));

    /// <summary>Row r of call{k}.cos/.sin is the r-th position below calls[k].</summary>
    public override long? RowPosition(RopeCase c, string tensor, long row)
    {
        int dot = tensor.IndexOf('.');
        if (!tensor.StartsWith("call", StringComparison.Ordinal) || dot < 5 || !int.TryParse(tensor.AsSpan(4, dot - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int k) || k >= c.Calls.Length)
            return null;
        var rows = c.RowsOf(k);
        return row < rows.Length ? rows[row] : null;
    }
}
