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
}
