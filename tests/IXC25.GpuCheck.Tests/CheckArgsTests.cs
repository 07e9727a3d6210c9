using IXC25.Runtime;

namespace IXC25.GpuCheck.Tests;

public class CheckArgsTests
{
    [Fact]
    public void ValuesInsideTheirRangesAreRead()
    {
        var a = new CheckArgs(["--runs", "7", "--kv", "bf16", "--peak-bw", "3.35"]);
        Assert.Equal(7, a.Int("runs", 5, 1, 100));
        Assert.Equal("bf16", a.Text("kv", "f32", "f32", "bf16"));
        Assert.Equal(3.35, a.PositiveOrNull("peak-bw", 0, 100));
        Assert.Equal(30, a.Int("budget", 30, 1, 600));
        a.Done("bench");
    }

    [Theory]
    [InlineData(new[] { "--runs", "0" }, "--runs 0: must be at least 1 and at most 100")]
    [InlineData(new[] { "--runs", "101" }, "--runs 101: must be at least 1 and at most 100")]
    [InlineData(new[] { "--runs", "99999999999" }, "--runs 99999999999: must be at least 1 and at most 100")]
    [InlineData(new[] { "--runs", "x" }, "--runs x: not an integer")]
    [InlineData(new[] { "--runs" }, "option --runs needs a value")]
    [InlineData(new[] { "--runs", "3", "--runs", "4" }, "option --runs given twice")]
    [InlineData(new[] { "runs" }, "unexpected argument 'runs'")]
    public void BadIntegersAreOneLineErrors(string[] args, string message)
    {
        var e = Assert.Throws<IxcException>(() => new CheckArgs(args).Int("runs", 5, 1, 100));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("0", "must be greater than 0 and at most 100")]
    [InlineData("100.5", "must be greater than 0 and at most 100")]
    [InlineData("NaN", "not a number")]
    public void BadBandwidthsAreOneLineErrors(string value, string message)
    {
        var e = Assert.Throws<IxcException>(() => new CheckArgs(["--peak-bw", value]).PositiveOrNull("peak-bw", 0, 100));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void AnOptionNotInTheListOrNotReadIsAnError()
    {
        Assert.Contains("--kv q4: expected one of f32, bf16", Assert.Throws<IxcException>(() => new CheckArgs(["--kv", "q4"]).Text("kv", "f32", "f32", "bf16")).Message);
        var a = new CheckArgs(["--rnus", "3"]);
        a.Int("runs", 5, 1, 100);
        Assert.Contains("bench: unknown option --rnus", Assert.Throws<IxcException>(() => a.Done("bench")).Message);
    }
}
