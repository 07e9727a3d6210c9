using IXC25.Tests.Hostile;

namespace IXC25.Runtime.Tests.Hostile;

/// <summary>The harness of the hostile-input properties: it runs the number of cases it says, over distinct seeds, and reports a violation with its description.</summary>
public sealed class ContractHarnessTests
{
    [Fact]
    public void ForSeedsRunsEveryCaseOverWideSeeds()
    {
        var seen = new List<int>();
        Contract.ForSeeds(1234, seen.Add);
        Assert.Equal(1234 * Contract.Scale, seen.Count);
        Assert.True(seen.Distinct().Count() > 1200 * Contract.Scale, "seeds repeat: the properties would explore little");
    }

    [Fact]
    public void AnExceptionOtherThanIxcExceptionFailsWithTheDescription()
    {
        var e = Assert.ThrowsAny<Exception>(() => Contract.Holds("case 42: flip bit 3", () => throw new OverflowException()));
        Assert.Contains("case 42: flip bit 3", e.Message);
        Assert.Contains("OverflowException", e.Message);
        Contract.Holds("refused", () => throw new IxcException("x.bin: refused"));
        Assert.ThrowsAny<Exception>(() => Contract.Holds("empty message", () => throw new IxcException("")));
    }

    [Fact]
    public void ACaseThatSpinsIsAHangByItsCpuTimeLongBeforeTheWallCeiling()
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.ThrowsAny<Exception>(() => Contract.Holds("case 7: spins", () => { while (true) Thread.SpinWait(1000); },
            TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(60)));
        Assert.Contains("case 7: spins", e.Message);
        Assert.Contains("no result within", e.Message);
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(30), $"caught after {wall.Elapsed}: the CPU limit did not act");
    }

    [Fact]
    public void ACaseThatBlocksWithoutCpuIsAHangAtTheWallCeiling()
    {
        var e = Assert.ThrowsAny<Exception>(() => Contract.Holds("case 8: blocks", () => Thread.Sleep(Timeout.Infinite),
            TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(400)));
        Assert.Contains("case 8: blocks", e.Message);
        Assert.Contains("wall time", e.Message);
    }

    [Fact]
    public void ACaseThatWaitsForACoreButUsesLittleCpuIsNotAHang()
    {
        // sleeping stands in for waiting on a loaded machine: wall time past the CPU limit, CPU time far under it
        Contract.Holds("case 9: waits", () => Thread.Sleep(600), TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(60));
    }
}
