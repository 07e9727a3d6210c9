using IXC25.Server.Api;

namespace IXC25.Server.Tests;

/// <summary>Stop sequences over streamed text: nothing that may begin a stop sequence is released early; the first match ends the answer.</summary>
public sealed class StopMatcherTests
{
    private static (string Released, bool Stopped) Run(string[] deltas, params string[] stops)
    {
        var m = new StopMatcher(stops);
        var sb = new System.Text.StringBuilder();
        foreach (var d in deltas) sb.Append(m.Add(d));
        sb.Append(m.Finish());
        Assert.Equal(m.Text, sb.ToString());
        return (sb.ToString(), m.Stopped);
    }

    [Fact]
    public void AStopSplitAcrossDeltasCutsBeforeIt() => Assert.Equal(("Hello ", true), Run(["Hel", "lo E", "ND more"], "END"));

    [Fact]
    public void TheEarliestOfSeveralStopsWins() => Assert.Equal(("a", true), Run(["ab", "cd"], "cd", "b"));

    [Fact]
    public void HeldBackTextIsReleasedWhenItTurnsOutNotToBeAStop() => Assert.Equal(("x EN y EN", false), Run(["x E", "N y", " EN"], "END"));

    [Fact]
    public void WithoutStopsEverythingPassesThrough() => Assert.Equal(("abc", false), Run(["a", "b", "c"]));

    [Fact]
    public void PrefixesAreHeldUntilDecided()
    {
        var m = new StopMatcher(["###"]);
        Assert.Equal("ok ", m.Add("ok ##"));
        Assert.Equal("##x", m.Add("x"));
        Assert.False(m.Stopped);
    }
}
