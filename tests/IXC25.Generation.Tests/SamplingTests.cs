using FsCheck;
using FsCheck.Fluent;
using IXC25.Generation.Decoding;

namespace IXC25.Generation.Tests;

/// <summary>The RNG, the samplers, and properties of sampling through the warpers and the generator.</summary>
public sealed class SamplingTests
{
    [Fact]
    public void RngStreamIsFixedBySeed()
    {
        // xoshiro256** seeded by splitmix64: the first output for seed 0 is fixed forever (reproducible runs)
        var a = new Xoshiro256StarStar(0);
        var b = new Xoshiro256StarStar(0);
        var first = Enumerable.Range(0, 4).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(first, Enumerable.Range(0, 4).Select(_ => b.NextUInt64()).ToArray());
        Assert.Equal(0x99EC5F36CB75F2B4UL, first[0]);
        Assert.NotEqual(first[0], new Xoshiro256StarStar(1).NextUInt64());
        for (int i = 0; i < 1000; i++) Assert.InRange(a.NextDouble(), 0.0, Math.BitDecrement(1.0));
    }

    [Fact]
    public void SampleOneFollowsTheDistribution()
    {
        double[] probs = [0.5, 0.0, 0.3, 0.15, 0.05];
        var rng = new Xoshiro256StarStar(7);
        var counts = new int[probs.Length];
        const int n = 40000;
        for (int i = 0; i < n; i++) counts[Sampler.SampleOne(probs, rng)]++;
        Assert.Equal(0, counts[1]);
        for (int i = 0; i < probs.Length; i++)
            Assert.True(Math.Abs(counts[i] / (double)n - probs[i]) < 0.01, $"token {i}: {counts[i] / (double)n} vs {probs[i]}");
    }

    [Fact]
    public void WithoutReplacementDrawsDistinctPositiveIndicesFirst()
    {
        var rng = new Xoshiro256StarStar(3);
        for (int trial = 0; trial < 200; trial++)
        {
            double[] probs = [0.4, 0, 0.3, 0, 0.2, 0.1, 0];
            float[] scores = [1, -1, 0.5f, float.NegativeInfinity, 0.2f, 0.1f, -2];
            var picked = Sampler.SampleWithoutReplacement(probs, 6, rng, scores);
            Assert.Equal(6, picked.Distinct().Count());
            Assert.Equal([0, 2, 4, 5], picked.Take(4).Order().ToArray());
            Assert.Equal([1, 6], picked.Skip(4).ToArray()); // then zero-probability ones by score, never -inf
        }
    }

    private static Gen<float[]> Logits(int vocab) =>
        Gen.Choose(-4000, 4000).Select(i => i / 500f).ArrayOf(vocab).Select(a =>
        {
            // a few exact ties and -inf entries, as real processed scores have
            a[1] = a[0];
            a[^1] = float.NegativeInfinity;
            return a;
        });

    [Fact]
    public void TopKAndTopPNeverLetAFilteredTokenBeSampled()
    {
        var cases = from logits in Logits(40)
                    from k in Gen.Choose(0, 45)
                    from p in Gen.Choose(0, 100).Select(x => x / 100.0)
                    from keep in Gen.Choose(1, 4)
                    from seed in Gen.Choose(0, int.MaxValue)
                    select (logits, k, p, keep, seed);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var scores = (float[])c.logits.Clone();
            if (c.k > 0) new TopKWarper(c.k, c.keep).Process([], scores);
            if (c.p < 1) new TopPWarper(c.p, c.keep).Process([], scores);
            // independent top-k check: the survivors are at least as large as the k-th largest raw score
            int kept = scores.Count(float.IsFinite);
            Assert.True(kept >= Math.Min(c.keep, c.logits.Count(float.IsFinite)));
            if (c.k > 0)
            {
                float kth = c.logits.OrderDescending().ElementAt(Math.Min(Math.Max(c.k, c.keep), c.logits.Length) - 1);
                Assert.All(Enumerable.Range(0, scores.Length).Where(i => float.IsFinite(scores[i])), i => Assert.True(c.logits[i] >= kth));
            }
            var probs = new double[scores.Length];
            ScoreMath.Softmax(scores, probs);
            var rng = new Xoshiro256StarStar((ulong)c.seed);
            for (int draw = 0; draw < 20; draw++)
            {
                int t = Sampler.SampleOne(probs, rng);
                Assert.True(float.IsFinite(scores[t]), $"sampled filtered token {t}");
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void TopPKeepsTheSmallestSetAboveTheMass()
    {
        // independent double-precision check away from the float32 rounding of the cut
        var cases = from logits in Logits(30) from p in Gen.Choose(1, 99).Select(x => x / 100.0) select (logits, p);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var order = Enumerable.Range(0, c.logits.Length).OrderByDescending(i => c.logits[i]).ThenByDescending(i => i).ToArray();
            double max = c.logits.Max(), z = c.logits.Sum(x => Math.Exp(x - max));
            var prob = c.logits.Select(x => Math.Exp(x - max) / z).ToArray();
            // the kept tokens are those whose ascending cumulative mass is > 1 - p
            double removedMass = 0;
            var expectRemoved = new HashSet<int>();
            foreach (int i in order.Reverse())
            {
                removedMass += prob[i];
                if (removedMass <= 1 - c.p) expectRemoved.Add(i);
                else break;
            }
            if (Math.Abs(removedMass - (1 - c.p)) < 1e-5) return; // too close to the float32 cut to judge here
            expectRemoved.Remove(order[0]); // min_tokens_to_keep 1
            var scores = (float[])c.logits.Clone();
            new TopPWarper(c.p).Process([], scores);
            for (int i = 0; i < scores.Length; i++)
                Assert.Equal(expectRemoved.Contains(i) || float.IsNegativeInfinity(c.logits[i]), float.IsNegativeInfinity(scores[i]));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void GeneratedTokensAreNeverFilteredOnes()
    {
        var cases = from k in Gen.Choose(1, 8)
                    from p in Gen.Choose(10, 100).Select(x => x / 100.0)
                    from beams in Gen.Choose(1, 3)
                    from seed in Gen.Choose(0, int.MaxValue)
                    select (k, p, beams, seed);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            const int V = 64;
            var model = new FakeDecoder(V);
            var config = new GenerationConfig
            {
                DoSample = true, TopK = c.k, TopP = c.p, NumBeams = c.beams, MaxNewTokens = 6, EosTokenIds = [], Seed = (ulong)c.seed,
            };
            var result = Generator.Generate(model, config);
            Assert.Equal(6, result.Tokens.Count);
            int minKeep = c.beams > 1 ? 2 : 1;
            // each token is within the top-k of its row's log-probabilities (warpers are shift-invariant per row)
            for (int t = 0; t < result.Tokens.Count; t++)
            {
                var row = model.Logits(result.Tokens.Take(t).ToList());
                float kth = row.OrderDescending().ElementAt(Math.Max(c.k, minKeep) - 1);
                Assert.True(row[result.Tokens[t]] >= kth, $"token {t} ({result.Tokens[t]}) is outside the top {c.k}");
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void BeamReassignmentGivesEveryBeamItsParentsState()
    {
        var cases = from nb in Gen.Choose(1, 5)
                    from parents in Gen.Choose(0, nb - 1).ArrayOf(nb)
                    from aliased in Gen.Elements(true, false)
                    select (nb, parents, aliased);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var model = new FakeDecoder(4);
            var shared = new FakeDecoder.Sequence(model, [100]);
            var old = Enumerable.Range(0, c.nb).Select(b => c.aliased ? (IDecoderSequence)shared : new FakeDecoder.Sequence(model, [b])).ToArray();
            var before = old.Select(s => ((FakeDecoder.Sequence)s).History.ToList()).ToArray();
            var result = Generator.ReassignSequences(old, c.parents, out int copies);
            for (int j = 0; j < c.nb; j++) Assert.Equal(before[c.parents[j]], ((FakeDecoder.Sequence)result[j]).History);
            Assert.Equal(c.nb, result.Distinct(ReferenceEqualityComparer.Instance).Count());
            int distinctParents = c.parents.Select(p => old[p]).Distinct(ReferenceEqualityComparer.Instance).Count();
            Assert.Equal(c.nb - distinctParents, copies);
            Assert.Equal(copies, model.Copies);
        }).QuickCheckThrowOnFailure();
    }
}
