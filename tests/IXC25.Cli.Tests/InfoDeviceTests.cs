namespace IXC25.Cli.Tests;

/// <summary>Issue 12: `info --backend gpu-sim` prints the device memory a context needs and whether the device has it.</summary>
public sealed class InfoDeviceTests
{
    private static string Tiny => IXC25.Runtime.RepoLayout.Path("golden", "model", "tiny", "safetensors");

    [Fact]
    public void InfoSizesTheLoadForTheDevice()
    {
        var (code, stdout, stderr) = CliRunner.Run("info", "--model", Tiny, "--context", "2048", "--backend", "gpu-sim");
        Assert.True(code == 0, stderr);
        Assert.Contains("device memory (gpu-sim):", stdout);
        Assert.Contains("for 2,048 tokens in f32", stdout);
        Assert.Contains("stored dtype, uploaded once", stdout);
        Assert.Contains("CPU accelerator has ", stdout);
        Assert.Contains(": fits (", stdout);
    }

    [Fact]
    public void InfoWithoutABackendPrintsNoDeviceSectionAndAnUnknownBackendIsOneLine()
    {
        var (code, stdout, _) = CliRunner.Run("info", "--model", Tiny);
        Assert.Equal(0, code);
        Assert.DoesNotContain("device memory", stdout);
        var (bad, _, err) = CliRunner.Run("info", "--model", Tiny, "--backend", "tpu");
        Assert.Equal(1, bad);
        Assert.Contains("unknown backend 'tpu'", err);
    }
}
