using System.Text.Json;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Model.Tests;

/// <summary>The rotary module against upstream's (golden/rope: modeling_ref's mirror of the three rotary classes).</summary>
public class RopeTests
{
    public static TheoryData<string> Files() => ["ixc7b_hf", "ixc7b_stateless", "tiny_hf", "tiny_stateless", "linear", "none"];

    private sealed record Golden(RopeConfig Config, RopeMode Mode, int[] Calls, long[] Positions, SafetensorsFile File);

    private static Golden Load(string name)
    {
        var f = new SafetensorsFile(RepoLayout.Path("golden", "rope", "data", name + ".safetensors"));
        var m = f.Metadata;
        var scaling = m["scaling"] switch { "dynamic" => RopeScaling.Dynamic, "linear" => RopeScaling.Linear, _ => RopeScaling.None };
        var cfg = new RopeConfig(int.Parse(m["head_dim"]), double.Parse(m["theta"], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m["max_pos"]), scaling, double.Parse(m["factor"], System.Globalization.CultureInfo.InvariantCulture));
        return new Golden(cfg, m["mode"] == "hf" ? RopeMode.Hf : RopeMode.Stateless,
            JsonSerializer.Deserialize<int[]>(m["calls"])!, JsonSerializer.Deserialize<long[]>(m["positions"])!, f);
    }

    private static int UlpDistance(float a, float b) => Math.Abs(BitConverter.SingleToInt32Bits(a) - BitConverter.SingleToInt32Bits(b));

    [Theory]
    [MemberData(nameof(Files))]
    public void InvFreqFollowsUpstreamStateAcrossCalls(string name)
    {
        var g = Load(name);
        using var _ = g.File;
        var rope = new RotaryEmbedding(g.Config, g.Mode);
        for (int k = 0; k < g.Calls.Length; k++)
        {
            rope.BeginPass(g.Calls[k]);
            var expected = g.File[$"call{k}.inv_freq"].AsSpan<float>();
            // torch evaluates pow with SLEEF's float32 pow (1 ulp accuracy), we with double pow rounded once:
            // they agree to 2 ulp; a different base (a state bug) would differ by far more.
            for (int i = 0; i < expected.Length; i++)
                Assert.True(UlpDistance(expected[i], rope.InvFreqCurrent[i]) <= 2,
                    $"{name} call {k} (L={g.Calls[k]}) inv_freq[{i}]: torch {expected[i]:R}, ours {rope.InvFreqCurrent[i]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void TablesFromTheSameInvFreqMatchTorch(string name)
    {
        var g = Load(name);
        using var _ = g.File;
        float linear = g.Config.Scaling == RopeScaling.Linear ? (float)g.Config.Factor : 1f;
        int D = g.Config.HeadDim;
        for (int k = 0; k < g.Calls.Length; k++)
        {
            var pos = g.Positions.Where(p => p < g.Calls[k]).ToArray();
            var cos = new float[pos.Length * D];
            var sin = new float[pos.Length * D];
            RotaryEmbedding.Rows(pos, g.File[$"call{k}.inv_freq"].AsSpan<float>(), linear, cos, sin);
            var ec = g.File[$"call{k}.cos"].AsSpan<float>();
            var es = g.File[$"call{k}.sin"].AsSpan<float>();
            for (int i = 0; i < cos.Length; i++)
            {
                // same float32 angle; torch's SLEEF cosf/sinf are within 1 ulp of the correctly rounded value we compute
                Assert.True(Math.Abs(cos[i] - ec[i]) <= 6e-8 + 1.2e-7 * Math.Abs(ec[i]), $"{name} call {k} cos[{i}] {cos[i]:R} vs {ec[i]:R}");
                Assert.True(Math.Abs(sin[i] - es[i]) <= 6e-8 + 1.2e-7 * Math.Abs(es[i]), $"{name} call {k} sin[{i}] {sin[i]:R} vs {es[i]:R}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void OwnTablesMatchTorchWithinTheInvFreqBound(string name)
    {
        var g = Load(name);
        using var _ = g.File;
        var rope = new RotaryEmbedding(g.Config, g.Mode);
        int D = g.Config.HeadDim;
        float linear = g.Config.Scaling == RopeScaling.Linear ? (float)g.Config.Factor : 1f;
        for (int k = 0; k < g.Calls.Length; k++)
        {
            rope.BeginPass(g.Calls[k]);
            var pos = g.Positions.Where(p => p < g.Calls[k]).ToArray();
            var cos = new float[pos.Length * D];
            var sin = new float[pos.Length * D];
            rope.Gather(pos, cos, sin);
            var ec = g.File[$"call{k}.cos"].AsSpan<float>();
            var inv = g.File[$"call{k}.inv_freq"].AsSpan<float>();
            for (int n = 0; n < pos.Length; n++)
                for (int d = 0; d < D; d++)
                {
                    int i = d % (D / 2);
                    // |cos(t a) - cos(t b)| <= t |a - b| (+ one ulp each for cos and the product)
                    double bound = (double)pos[n] / linear * Math.Abs(inv[i] - rope.InvFreqCurrent[i]) + 2.4e-7 + pos[n] / linear * inv[i] * 1.2e-7;
                    Assert.True(Math.Abs(cos[n * D + d] - ec[n * D + d]) <= bound, $"{name} call {k} position {pos[n]} dim {d}");
                }
        }
    }

    [Fact]
    public void HfModeKeepsTheEnlargedBaseForShortPrompts()
    {
        var rope = new RotaryEmbedding(new RopeConfig(128, 1e6, 24576, RopeScaling.Dynamic, 2.0), RopeMode.Hf);
        rope.BeginPass(100);
        Assert.Equal(1e6, rope.CurrentBase);
        rope.BeginPass(30000);
        double enlarged = rope.CurrentBase;
        Assert.True(enlarged > 1e6);
        rope.BeginPass(100);
        Assert.Equal(enlarged, rope.CurrentBase);      // upstream quirk: stays
        rope.BeginPass(30001);                          // past the maximum: rebuilt for the new length
        Assert.True(rope.CurrentBase > enlarged);
        var stateless = new RotaryEmbedding(rope.Config, RopeMode.Stateless);
        stateless.BeginPass(30000);
        stateless.BeginPass(100);
        Assert.Equal(1e6, stateless.CurrentBase);
    }

    [Fact]
    public void WorksFarBeyondTheTrainedContext()
    {
        var rope = new RotaryEmbedding(new RopeConfig(128, 1e6, 24576, RopeScaling.Dynamic, 2.0));
        rope.BeginPass(200_000);
        var cos = new float[128];
        var sin = new float[128];
        rope.Gather([199_999], cos, sin);
        Assert.All(cos.Zip(sin), cs => Assert.InRange(cs.First * cs.First + cs.Second * cs.Second, 0.9999, 1.0001));
    }

    [Fact]
    public void InvalidConfigurationsAreRejected()
    {
        Assert.Throws<IxcException>(() => new RotaryEmbedding(new RopeConfig(7, 1e6, 100, RopeScaling.None, 1)));
        Assert.Throws<IxcException>(() => new RotaryEmbedding(new RopeConfig(8, -1, 100, RopeScaling.None, 1)));
        Assert.Throws<IxcException>(() => new RotaryEmbedding(new RopeConfig(8, 1e6, 100, RopeScaling.Dynamic, 0)));
        Assert.Throws<IxcException>(() => new RotaryEmbedding(new RopeConfig(8, 1e6, 100, RopeScaling.None, 1)).BeginPass(0));
    }
}
