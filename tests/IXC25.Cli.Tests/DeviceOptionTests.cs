using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Tests;

/// <summary>--backend gpu and --device N through the commands: the load line says which device auto picked, and an
/// index past the devices (or on a host backend) is one line and exit 1 before anything runs.</summary>
[Collection("console")]
public sealed class DeviceOptionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-device-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    private string RmsNormInput()
    {
        var rng = new Random(5);
        string input = Path.Combine(_dir, "in.safetensors");
        SafetensorsWriter.Write(input, [
            NamedTensor.F32("x", [3, 37], Enumerable.Range(0, 3 * 37).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray()),
            NamedTensor.F32("weight", [37], Enumerable.Range(0, 37).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray())]);
        return input;
    }

    [Fact]
    public void OpRunsOnTheDeviceGpuPicks()
    {
        string input = RmsNormInput(), gpu = Path.Combine(_dir, "gpu.safetensors"), reference = Path.Combine(_dir, "ref.safetensors");
        var (code, _, err) = CliRunner.Run("op", "rms_norm", "--in", input, "--out", gpu, "--backend", "gpu", "--device", "0");
        Assert.True(code == 0, err);
        Assert.Equal(0, CliRunner.Run("op", "rms_norm", "--in", input, "--out", reference).Code);
        using var a = new SafetensorsFile(gpu);
        using var b = new SafetensorsFile(reference);
        var r = TensorComparer.Compare(a["y"].AsSpan<float>(), b["y"].AsSpan<float>(), ToleranceTable.Set.Get("reduction", backend: "gpu"));
        Assert.True(r.Pass, r.ToString());
        Assert.Equal("gpu", a.Metadata["implementation"]);
    }

    [Theory]
    [InlineData("gpu-sim", "ixc25: --device 1 is out of range: 1 CPU accelerator here (--device 0)")]
    [InlineData("cpu", "ixc25: --device 1 picks a GPU device; the cpu backend runs on the host (--device applies to gpu, gpu-sim and gpu-ocl)")]
    public void OpWithADeviceItCannotHaveIsOneLine(string backend, string line)
    {
        string output = Path.Combine(_dir, "o.safetensors");
        var (code, stdout, err) = CliRunner.Run("op", "rms_norm", "--in", RmsNormInput(), "--out", output, "--backend", backend, "--device", "1");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(line, Assert.Single(err.TrimEnd('\n').Split('\n')));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void ChatSaysWhichDeviceGpuPicked()
    {
        var (code, _, err) = CliRunner.Run("chat", "--model", Tiny, "--backend", "gpu", "--device", "0", "--greedy", "--max-new-tokens", "1", "Hi");
        Assert.True(code == 0, err);
        Assert.Contains("gpu (ilgpu auto: ", err);
    }

    [Fact]
    public void ChatWithAnIndexPastTheDevicesIsAnError()
    {
        var (code, stdout, err) = CliRunner.Run("chat", "--model", Tiny, "--backend", "gpu-sim", "--device", "3", "--greedy", "--max-new-tokens", "1", "Hi");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.EndsWith("ixc25: --device 3 is out of range: 1 CPU accelerator here (--device 0)\n", err);
    }
}
