using System.Text.Json.Nodes;

namespace IXC25.Cli.Tests;

/// <summary>
/// `ixc25 conform` against `ixc25 serve-port` (this engine speaking the protocol, as a real child process
/// built next to the tests): every surface passes; the JSON report, replay and the errors of a bad --port.
/// </summary>
public sealed class ConformCommandTests
{
    /// <summary>The serve-port command of the ixc25 built next to these tests.</summary>
    internal static string ServePort(string backend = "reference") =>
        $"dotnet {Path.Combine(AppContext.BaseDirectory, "ixc25.dll")} serve-port --backend {backend} --threads 2";

    [Fact]
    public void Serve_port_passes_every_surface_with_a_few_cases()
    {
        string outDir = Path.Combine(Path.GetTempPath(), $"ixc25-conform-{Guid.NewGuid():N}");
        var (code, stdout, stderr) = CliRunner.Run("conform", "--port", ServePort(), "--cases", "4", "--json", "--out", outDir);
        Assert.True(code == 0, stdout + stderr);
        var report = JsonNode.Parse(stdout)!;
        Assert.True((bool)report["passed"]!);
        foreach (var s in report["surfaces"]!.AsArray())
        {
            Assert.True((bool)s!["covered"]!, $"{s["surface"]} not covered by serve-port");
            Assert.Equal(4, (int)s["cases"]!);
            Assert.Equal(4, (int)s["passed"]!);
        }
        Assert.False(Directory.Exists(outDir)); // nothing failed: no case folders
    }

    [Fact]
    public void Cpu_backend_agrees_with_the_reference_on_ops_and_layers()
    {
        // two backends cross-checked with the same kit: the port is this engine on its SIMD backend
        var (code, stdout, stderr) = CliRunner.Run("conform", "--port", ServePort("cpu"), "--surface", "op", "--surface", "layer", "--cases", "40");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("op         40 cases, 40 passed", stdout);
        Assert.Contains("worst matmul", stdout);
    }

    [Fact]
    public void Gpu_simulator_agrees_with_the_reference_on_ops_and_layers()
    {
        // issue 12: the kit cross-checks the device backend (its resident kernels on ILGPU's CPU accelerator here,
        // CUDA on a GPU machine); the model surface on gpu-sim is the goldens' (EndToEndGoldenTests, 1-2 min here)
        var (code, stdout, stderr) = CliRunner.Run("conform", "--port", ServePort("gpu-sim"), "--surface", "op", "--surface", "layer", "--cases", "12");
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("op         12 cases, 12 passed", stdout);
        Assert.Contains("layer      12 cases, 12 passed", stdout);
        Assert.Contains("worst llm", stdout);
    }

    [Fact]
    public void Bad_port_command_is_one_line()
    {
        var (code, _, stderr) = CliRunner.Run("conform", "--port", "/nonexistent/port", "--surface", "tokenize");
        Assert.Equal(1, code);
        Assert.Contains("no valid handshake", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Unknown_surface_is_one_line()
    {
        var (code, _, stderr) = CliRunner.Run("conform", "--port", ServePort(), "--surface", "nonsense");
        Assert.Equal(1, code);
        Assert.Contains("--surface nonsense: not a surface of the kit", stderr);
    }

    [Fact]
    public void A_failing_case_is_written_and_replayed()
    {
        // a shell port that gets every tokenize case wrong: the kit shrinks, writes a folder, prints the replay line
        string script = IXC25.Conformance.Tests.ShellPort.Write("printf '{\"id\":%s,\"status\":\"ok\",\"ids\":[1,2]}\\n' \"$id\"", "wrong");
        string outDir = Path.Combine(Path.GetTempPath(), $"ixc25-conform-{Guid.NewGuid():N}");
        try
        {
            var (code, stdout, _) = CliRunner.Run("conform", "--port", "/bin/sh " + script, "--surface", "tokenize", "--cases", "20", "--out", outDir);
            Assert.Equal(1, code);
            Assert.Contains("FAIL case", stdout);
            Assert.Contains("replay: ./ixc25 conform --port", stdout);
            string caseJson = Directory.GetFiles(outDir, "case.json", SearchOption.AllDirectories).First();
            foreach (var f in new[] { "request.json", "reply.port.json", "reply.reference.json", "verdict.txt" })
                Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(caseJson)!, f)), f);
            var (rcode, rout, _) = CliRunner.Run("conform", "--port", "/bin/sh " + script, "--replay", caseJson, "--out", outDir);
            Assert.Equal(1, rcode);
            Assert.Contains("ids differs", rout);
        }
        finally
        {
            File.Delete(script);
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        }
    }
}
