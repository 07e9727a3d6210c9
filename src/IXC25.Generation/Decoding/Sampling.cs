namespace IXC25.Generation.Decoding;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through splitmix64: our sampling RNG. A seed gives the same
/// stream on every machine and .NET version; it is NOT torch's generator, so sampled tokens differ from
/// upstream's for the same seed (documented in docs/DEVIATIONS.md).
/// </summary>
public sealed class Xoshiro256StarStar
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256StarStar(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}

/// <summary>Draws from categorical distributions (the role of torch.multinomial in 4.33's sample / beam_sample).</summary>
public static class Sampler
{
    /// <summary>
    /// One index with probability probs[i] / sum(probs) by inverse CDF (u * total walked in index order).
    /// An index of probability 0 is never returned.
    /// </summary>
    public static int SampleOne(ReadOnlySpan<double> probs, Xoshiro256StarStar rng)
    {
        double total = 0;
        foreach (double p in probs) total += p;
        if (!(total > 0)) throw new InvalidOperationException("no token has a positive probability");
        double target = rng.NextDouble() * total, acc = 0;
        int last = -1;
        for (int i = 0; i < probs.Length; i++)
        {
            if (probs[i] <= 0) continue;
            acc += probs[i];
            last = i;
            if (acc > target) return i;
        }
        return last; // target rounded past the final partial sum
    }

    /// <summary>
    /// <paramref name="n"/> distinct indices, drawn one after another without replacement (each draw
    /// proportional to the remaining probabilities): the distribution of torch.multinomial(probs, n,
    /// replacement=False). Where fewer than n indices have a positive probability, the rest are taken
    /// among the zero-probability indices by descending <paramref name="fallbackScores"/> (skipping -inf),
    /// ties by index; torch would return arbitrary zero-probability indices there.
    /// </summary>
    public static int[] SampleWithoutReplacement(Span<double> probs, int n, Xoshiro256StarStar rng, ReadOnlySpan<float> fallbackScores)
    {
        var picked = new int[n];
        int count = 0;
        for (; count < n; count++)
        {
            double total = 0;
            foreach (double p in probs) total += p;
            if (!(total > 0)) break;
            int i = SampleOne(probs, rng);
            picked[count] = i;
            probs[i] = 0;
        }
        if (count < n)
        {
            var taken = new HashSet<int>(picked.AsSpan(0, count).ToArray());
            var scores = fallbackScores.ToArray();
            var rest = Enumerable.Range(0, scores.Length)
                .Where(i => !taken.Contains(i) && !float.IsNegativeInfinity(scores[i]))
                .ToArray();
            Array.Sort(rest, (a, b) => scores[b] != scores[a] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b));
            if (rest.Length < n - count) throw new InvalidOperationException($"only {count + rest.Length} candidates can be drawn, {n} are needed");
            for (int j = 0; count < n; j++) picked[count++] = rest[j];
        }
        return picked;
    }
}
