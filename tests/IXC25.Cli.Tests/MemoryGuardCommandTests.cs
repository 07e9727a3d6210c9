using IXC25.Runtime;

namespace IXC25.Cli.Tests;

/// <summary>The load-time RAM guard from the command line: a context no machine holds is refused before loading, with the
/// estimate, what is available and the override flag; --ignore-memory-check loads anyway.</summary>
[Collection("console")]
public class MemoryGuardCommandTests
{
    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    [Theory]
    [InlineData("chat")]
    [InlineData("trace")]
    public void AContextNoMachineHoldsIsRefusedBeforeLoading(string command)
    {
        // 2^31 - 1 tokens of KV cache of the tiny model: 512 GiB
        string[] rest = command == "chat" ? ["--max-new-tokens", "2", "Hi"] : ["--prompt", "Hi", "--out", Path.Combine(Path.GetTempPath(), $"ixc25-memguard-{Guid.NewGuid():N}.safetensors")];
        var (code, output, err) = CliRunner.Run([command, "--model", Tiny, "--max-context", "2147483647", .. rest]);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        string line = Assert.Single(err.TrimEnd('\n').Split('\n'), l => l.StartsWith("ixc25: ", StringComparison.Ordinal));
        Assert.Matches(@"^ixc25: \S+: the model needs about \d+\.\d\d GiB \(weights 12\.\d MiB as stored, KV cache 512\.00 GiB for 2,147,483,647 tokens in f32, work [^)]+\) but \d+\.\d+ [GM]iB is available \(.+\); nothing was loaded\..* --ignore-memory-check loads it anyway$", line);
        Assert.DoesNotContain("loaded in", err);
    }

    [Fact]
    public void TheFlagLoadsAnyway()
    {
        var (code, _, err) = CliRunner.Run("chat", "--model", Tiny, "--max-context", "2147483647", "--ignore-memory-check", "--greedy", "--max-new-tokens", "2", "Hi");
        Assert.True(code == 0, err);
        Assert.Contains("loaded in", err);
    }
}
