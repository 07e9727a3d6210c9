using System.Globalization;
using IXC25.Runtime;

namespace IXC25.Cli.Batch;

/// <summary>
/// `--shard K/N`: this process takes the requests whose 0-based index (their order in the requests file,
/// blank lines not counted) is K modulo N. The N shards K = 0..N-1 together take every request exactly once.
/// </summary>
internal readonly record struct ShardSpec(int K, int N)
{
    public static ShardSpec All => new(0, 1);

    public bool Takes(int index) => index % N == K;

    public static ShardSpec Parse(string? text)
    {
        if (text is null) return All;
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new IxcException($"--shard must be K/N with whole numbers, e.g. 0/4 (got '{text}')");
        if (n < 1) throw new IxcException($"--shard {text}: N must be at least 1");
        if (k >= n) throw new IxcException($"--shard {text}: K must be from 0 to N-1 = {n - 1} (shards are 0-based)");
        return new ShardSpec(k, n);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{K}/{N}");
}
