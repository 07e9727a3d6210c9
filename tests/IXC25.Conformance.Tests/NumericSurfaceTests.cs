using IXC25.Conformance.Kit;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces;
using IXC25.Graph;

namespace IXC25.Conformance.Tests;

/// <summary>The rope, op and layer surfaces: their default cases are ones the reference answers, cover what they claim, and replay from JSON.</summary>
public sealed class NumericSurfaceTests(ReferenceFixture fixture) : IClassFixture<ReferenceFixture>
{
    /// <summary>The reference's status on each default case (seed 1) of a surface.</summary>
    private List<(object Case, PortReply Reply)> RunDefaults(ISurface s)
    {
        var list = new List<(object, PortReply)>();
        string work = Path.Combine(Path.GetTempPath(), $"ixc25-numeric-{s.Name}-{Environment.ProcessId}");
        try
        {
            for (int i = 0; i < s.DefaultCases; i++)
            {
                Directory.CreateDirectory(work);
                var c = s.Generate(1, i, s.DefaultCases);
                var request = s.Prepare(c, work).With("out", "reference.safetensors");
                list.Add((c, fixture.Reference.Call(request)));
                Directory.Delete(work, recursive: true);
            }
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
        return list;
    }

    [Theory]
    [InlineData("op")]
    [InlineData("layer")]
    public void The_reference_answers_every_default_case(string surface)
    {
        var bad = RunDefaults(SurfaceCatalog.Get(surface)).Where(r => r.Reply.Status != ReplyStatus.Ok)
            .Select(r => $"{SurfaceCatalog.Get(surface).Describe(r.Case)}: {r.Reply.Status} {r.Reply.Message}").ToList();
        Assert.True(bad.Count == 0, string.Join("\n", bad));
    }

    [Fact]
    public void Rope_refuses_only_what_upstream_refuses_and_covers_the_quirk()
    {
        var runs = RunDefaults(SurfaceCatalog.Get("rope"));
        foreach (var (o, reply) in runs)
        {
            var c = (RopeCase)o;
            // upstream's config refuses a factor below 1; its dynamic NTK divides by zero for head dim 2 once a pass needs the base
            bool upstreamRefuses = c.Scaling != "none" && c.Factor < 1
                || c.Scaling == "dynamic" && c.HeadDim == 2 && c.Calls.Max() > c.MaxPositionEmbeddings;
            Assert.True(upstreamRefuses == (reply.Status == ReplyStatus.Refused), $"{SurfaceCatalog.Get("rope").Describe(c)}: {reply.Status} {reply.Message}");
        }
        Assert.Contains(runs, r => ((RopeCase)r.Case).HeadDim == 2 && r.Reply.Status == ReplyStatus.Refused);
        Assert.Contains(runs, r => ((RopeCase)r.Case).Factor < 1 && r.Reply.Status == ReplyStatus.Refused);
        // a long pass beyond max_position_embeddings followed by a shorter one: where HF's stale base shows
        bool Quirk(RopeCase c) => c.Scaling == "dynamic" && c.HeadDim > 2 && Enumerable.Range(1, c.Calls.Length - 1)
            .Any(k => c.Calls[..k].Max() > c.MaxPositionEmbeddings && c.Calls[k] < c.Calls[..k].Max() && c.RowsOf(k).Any(p => p > 0));
        Assert.True(runs.Count(r => Quirk((RopeCase)r.Case)) >= 20, "fewer than 20 default rope cases cross max_position_embeddings and come back shorter");
    }

    [Fact]
    public void Rope_tolerance_grows_with_the_position_of_each_row()
    {
        var s = new RopeSurface();
        var c = new RopeCase(8, 10000, 16, "dynamic", 2, [40, 10], [0, 5, 12, 39]);
        Assert.Equal(39, ((ISurface)s).RowPosition(c, "call0.cos", 3));
        Assert.Equal(5, ((ISurface)s).RowPosition(c, "call1.sin", 1));
        Assert.Null(((ISurface)s).RowPosition(c, "call1.sin", 2)); // call 1 reports only 0 and 5
        var tol = ((ISurface)s).Tolerance(c, "call0.cos");
        Assert.True(tol.AtPosition(39).Atol > tol.AtPosition(0).Atol);
    }

    [Fact]
    public void Default_op_cases_reach_every_op_of_the_spec()
    {
        var s = (ISurface)new OpSurface();
        var ops = Enumerable.Range(0, s.DefaultCases).Select(i => ((OpCase)s.Generate(1, i, s.DefaultCases)).Op).ToList();
        foreach (var op in OpCatalog.All)
            Assert.True(ops.Count(o => o == op.Name) >= 3, $"op {op.Name}: {ops.Count(o => o == op.Name)} default cases");
    }

    [Fact]
    public void Op_shrink_candidates_fit_the_spec_and_are_smaller()
    {
        var s = new OpSurface();
        for (int i = 0; i < 60; i++)
        {
            var c = (OpCase)((ISurface)s).Generate(7, i, 60);
            foreach (var smaller in s.Shrink(c))
            {
                Assert.True(OpSurface.Fits(smaller), smaller.Line);
                Assert.True(s.Size(smaller) <= s.Size(c), $"{smaller.Line} is larger than {c.Line}");
            }
        }
    }

    [Theory]
    [InlineData("rope")]
    [InlineData("op")]
    [InlineData("layer")]
    public void Cases_replay_from_their_json(string surface)
    {
        var s = SurfaceCatalog.Get(surface);
        for (int i = 0; i < 20; i++)
        {
            var c = s.Generate(3, i, 20);
            var back = s.FromJson(System.Text.Json.Nodes.JsonNode.Parse(s.ToJson(c).ToJsonString())!);
            Assert.Equal(s.Describe(c), s.Describe(back));
        }
    }
}
