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

    /// <summary>Runs <paramref name="check"/> for <paramref name="cases"/> seeds drawn over the whole int range.</summary>
    public static void ForSeeds(int cases, Action<int> check) =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed => { check(seed); return true; })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(cases).WithQuietOnSuccess(true));

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
        if (!task.Wait(PerCase)) throw new Xunit.Sdk.XunitException($"no result within {PerCase.TotalSeconds} s for: {description}");
        if (other is not null)
            throw new Xunit.Sdk.XunitException($"{other.GetType().Name} (not an IxcException with a message) for: {description}\n{other}");
    }
}
