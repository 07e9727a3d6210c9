using FsCheck;
using FsCheck.Fluent;
using IXC25.Cli.Batch;

namespace IXC25.Cli.Tests.Batch;

/// <summary>The small parts of `ixc25 batch`: trace folder names, shards, the derived seed, progress.</summary>
public class BatchPartsTests
{
    [Theory]
    [InlineData("plain-id_1.x", "plain-id_1.x")]
    [InlineData(".", "%2E")]
    [InlineData("..", "%2E.")]
    [InlineData("../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd")]
    [InlineData("/abs", "%2Fabs")]
    [InlineData("a\\b", "a%5Cb")]
    [InlineData("100%", "100%25")]
    [InlineData("é 1", "%C3%A9%201")]
    [InlineData("a~b", "a%7Eb")]
    public void IdsBecomeOneSafeFolderName(string id, string expected) => Assert.Equal(expected, SafeFileName.For(id));

    [Fact]
    public void LongIdsKeepAPrefixAndAHashAndStayDistinct()
    {
        string a = new string('x', 300), b = a + "y", c = new string('/', 100);
        var names = new[] { a, b, c }.Select(SafeFileName.For).ToList();
        Assert.All(names, n => Assert.True(n.Length <= SafeFileName.MaxLength, n));
        Assert.Equal(3, names.Distinct().Count());
        Assert.Matches("^(%2F)+~[0-9a-f]{16}$", names[2]); // no escape cut in half
    }

    [Fact]
    public void NamesAreDistinctForDistinctIds() =>
        Prop.ForAll<string, string>((x, y) => x is null || y is null || x == y || SafeFileName.For(x) != SafeFileName.For(y))
            .QuickCheckThrowOnFailure();

    [Fact]
    public void ShardsCoverEveryIndexOnce()
    {
        for (int n = 1; n <= 7; n++)
            for (int i = 0; i < 50; i++)
                Assert.Single(Enumerable.Range(0, n), k => new ShardSpec(k, n).Takes(i));
        Assert.Equal(new ShardSpec(2, 5), ShardSpec.Parse("2/5"));
        Assert.Equal(ShardSpec.All, ShardSpec.Parse(null));
    }

    [Fact]
    public void TheDerivedSeedIsFixedByTheId()
    {
        Assert.Equal(BatchRequest.DerivedSeed("a"), BatchRequest.DerivedSeed("a"));
        Assert.NotEqual(BatchRequest.DerivedSeed("a"), BatchRequest.DerivedSeed("b"));
        Assert.Equal(0xcabd1bca128197caUL, BatchRequest.DerivedSeed("a")); // sha256("a") = ca978112ca1bbdca...: its first 8 bytes, little-endian
    }

    [Fact]
    public void ProgressLinesCountAndEstimate()
    {
        var err = new StringWriter();
        var t = TimeSpan.Zero;
        var p = new BatchProgress(err, terminal: false, total: 10, alreadyDone: 2, () => t);
        Assert.Equal("--:--:--", p.Eta());
        t = TimeSpan.FromSeconds(30);
        p.Finished("x", TimeSpan.FromSeconds(30), null);
        t = TimeSpan.FromSeconds(60);
        p.Finished("y", TimeSpan.FromSeconds(30), "bad image");
        Assert.Equal("00:03:00", p.Eta()); // 6 left at 30 s each
        var lines = err.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal("batch: 3/10 (30%) 'x' ok (30.00 s); elapsed 00:00:30, ETA 00:03:30", lines[0]);
        Assert.StartsWith("batch: 4/10 (40%) 'y' error: bad image", lines[1]);

        var bar = new StringWriter();
        var q = new BatchProgress(bar, terminal: true, total: 4, alreadyDone: 0, () => t);
        q.Starting("first");
        q.Finished("first", TimeSpan.FromSeconds(1), null);
        q.Complete();
        Assert.Contains("\r[#######-----------------------] 1/4  25% elapsed 00:01:00 ETA 00:03:00", bar.ToString());
        Assert.EndsWith("\n", bar.ToString());
    }
}
