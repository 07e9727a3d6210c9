using IXC25.Runtime;
using IXC25.Vision.Partition;

namespace IXC25.Vision.Tests;

public class HdPartitionTests
{
    [Theory]
    // examples from IXC25-SEMANTICS.md section 3
    [InlineData(1920, 1080, 24, 2240, 1260, 2240, 1680, 3, 4, 5281)]
    [InlineData(560, 560, 24, 560, 560, 560, 560, 1, 1, 841)]
    [InlineData(100, 50, 24, 560, 280, 560, 560, 1, 1, 841)]
    // portrait: transposed, padded on the right
    [InlineData(1080, 1920, 24, 1260, 2240, 1680, 2240, 4, 3, 5301)] // 4 rows: (12+1)*400 + 1 + 5*20
    [InlineData(1000, 1000, 1, 560, 560, 560, 560, 1, 1, 841)]
    public void MatchesUpstreamGeometry(int w, int h, int hd, int rw, int rh, int pw, int ph, int rows, int cols, int tokens)
    {
        var p = HdPartition.Plan(w, h, hd);
        Assert.Equal((rw, rh, pw, ph, rows, cols, tokens), (p.ResizedWidth, p.ResizedHeight, p.PaddedWidth, p.PaddedHeight, p.GridRows, p.GridCols, p.ImageTokens));
    }

    [Fact]
    public void RejectsEmptyAndDegenerateInput()
    {
        Assert.Throws<IxcException>(() => HdPartition.Plan(0, 10, 24));
        Assert.Throws<IxcException>(() => HdPartition.Plan(10, 10, 0));
        Assert.Contains("too thin", Assert.Throws<IxcException>(() => HdPartition.Plan(100000, 1, 1)).Message);
    }
}
