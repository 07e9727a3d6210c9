using IXC25.Runtime;

namespace IXC25.Cli.Tests;

public class CliContractTests
{
    public static TheoryData<string> CommandNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in IXC25.Cli.Cli.BuildRoot().Subcommands) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void EveryCommandHasHelp(string name)
    {
        var (code, output, err) = CliRunner.Run(name, "--help");
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains(name, output);
        Assert.Equal("", err);
    }

    [Fact]
    public void UnknownCommandIsOneLineError()
    {
        var (code, output, err) = CliRunner.Run("frobnicate");
        Assert.NotEqual(0, code);
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("ixc25: ", err);
    }

    [Fact]
    public void MissingRequiredOptionIsOneLineError()
    {
        var (code, _, err) = CliRunner.Run("info");
        Assert.Equal(2, code);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.Contains("--model", err);
    }
}

public class InfoCommandTests
{
    private static string Tiny(string form) => RepoLayout.Path("golden", "model", "tiny", form);

    [Fact]
    public void ReportsTheTinyCheckpointIdenticallyFromBothForms()
    {
        var (c1, bin, e1) = CliRunner.Run("info", "--model", Tiny("bin"));
        var (c2, st, e2) = CliRunner.Run("info", "--model", Tiny("safetensors"));
        Assert.True(c1 == 0, e1);
        Assert.True(c2 == 0, e2);
        Assert.Contains("format       torch .bin (zip/pickle), 2 shards", bin);
        Assert.Contains("format       safetensors, 2 shards", st);
        static string WithoutFormat(string s) => string.Join('\n', s.Split('\n').Where(l => !l.TrimStart().StartsWith("format ", StringComparison.Ordinal)));
        Assert.Equal(WithoutFormat(bin), WithoutFormat(st));
        Assert.Contains("validation   ok: 142 tensors match the spec", st);
        Assert.Contains("total (without task LoRAs)", st);
        Assert.Contains("task LoRA lora_web", st);
    }

    [Fact]
    public void ReportsTheSevenBillionModelFromConfigAndIndexOnly()
    {
        var (code, output, err) = CliRunner.Run("info", "--model", RepoLayout.Path("golden", "model", "config-7b"));
        Assert.True(code == 0, err);
        Assert.Contains("8,679,815,168  (8.680e9)", output);
        Assert.Contains("not checked (shards absent)", output);
        Assert.Contains("weights      16.17 GiB", output);
        Assert.Contains("kv cache     2.00 GiB for 8,192 tokens in f32", output);
    }

    [Fact]
    public void KvDtypeAndContextChangeTheEstimate()
    {
        var (code, output, _) = CliRunner.Run("info", "--model", RepoLayout.Path("golden", "model", "config-7b"), "--context", "98304", "--kv-dtype", "bf16");
        Assert.Equal(0, code);
        Assert.Contains("kv cache     12.00 GiB for 98,304 tokens in bf16", output);
    }

    [Theory]
    [InlineData("/nonexistent/model", "model directory not found")]
    public void BadModelDirectoryIsOneLineError(string path, string expected)
    {
        var (code, output, err) = CliRunner.Run("info", "--model", path);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains(expected, err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
    }
}

public class DemoCommandTests
{
    [Fact]
    public void DemoRunsEveryStageAndAgreesWithTheGolden()
    {
        var (code, output, err) = CliRunner.Run("demo");
        Assert.True(code == 0, output + err);
        foreach (var stage in new[] { "load", "preprocess", "prompt", "vision", "prefill", "decode", "compare" })
            Assert.Contains(". " + stage, output);
        Assert.Contains("0 outside tolerance", output);
        Assert.Contains("greedy tokens identical", output);
        Assert.Contains("7 stages ran.", output);
    }
}
