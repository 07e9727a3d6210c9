using FsCheck;
using FsCheck.Fluent;
using IXC25.Runtime;

namespace IXC25.Tests.Hostile;

/// <summary>
/// The contract of every parser of outside data: it returns, or throws <see cref="IxcException"/> with a
/// non-empty message; never another exception type, never a hang (a per-case time limit). A violation
/// fails with the case's seed and the description of the mutated input, so it can be replayed.
/// Shared by the hostile-input properties of every test project (linked, not copied).
/// </summary>
internal static class Contract
{
    public static readonly TimeSpan PerCase = TimeSpan.FromSeconds(2);

    /// <summary>Multiplies every property's case count (environment variable IXC25_HOSTILE_SCALE, default 1) for a longer search outside the suite.</summary>
    public static int Scale => int.TryParse(Environment.GetEnvironmentVariable("IXC25_HOSTILE_SCALE"), out int s) && s > 0 ? s : 1;

    /// <summary>Runs <paramref name="check"/> for <paramref name="cases"/> (times <see cref="Scale"/>) seeds drawn over the whole int range.</summary>
    /// <remarks>The first case may take <see cref="FirstCase"/>: it pays for JIT compilation and the seeds' lazy loading,
    /// which on a loaded 2-core machine (the whole suite in parallel) can pass <see cref="PerCase"/>.</remarks>
    public static void ForSeeds(int cases, Action<int> check, TimeSpan? perCase = null)
    {
        _limit = FirstCase;
        try
        {
            Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed => { check(seed); _limit = perCase ?? PerCase; return true; })
                .Check(Config.QuickThrowOnFailure.WithMaxTest(cases * Scale).WithQuietOnSuccess(true));
        }
        finally { _limit = null; }
    }

    public static readonly TimeSpan FirstCase = TimeSpan.FromSeconds(30);

    [ThreadStatic] private static TimeSpan? _limit;

    /// <summary>Asserts the contract for one load of the input described by <paramref name="description"/>.</summary>
    public static void Holds(string description, Action load)
    {
        Exception? other = null;
        var task = Task.Run(() =>
        {
            try { load(); }
            catch (IxcException e) when (!string.IsNullOrWhiteSpace(e.Message)) { }
            catch (Exception e) { other = e; }
        });
        var limit = _limit ?? PerCase;
        if (!task.Wait(limit)) throw new Xunit.Sdk.XunitException($"no result within {limit.TotalSeconds} s for: {description}");
        if (other is not null)
            throw new Xunit.Sdk.XunitException($"{other.GetType().Name} (not an IxcException with a message) for: {description}\n{other}");
    }
}
