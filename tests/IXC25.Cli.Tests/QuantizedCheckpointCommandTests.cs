using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Cli.Tests;

/// <summary>
/// `ixc25 quantize` and the commands on its output: a quantized checkpoint traces and chats bit for bit as
/// `--weights F` on the original, `serve` answers as `chat --weights` does, `info` reports the formats and their bytes,
/// and a killed quantize leaves no checkpoint.
/// </summary>
[Collection("console")]
public sealed class QuantizedCheckpointCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-qckpt-cli-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");
    private static string Cars => RepoLayout.Path("golden", "media", "cars1.jpg");

    private string Quantize(string format, string name = "q")
    {
        string output = Path.Combine(_dir, name);
        var (code, stdout, err) = CliRunner.Run("quantize", "--model", Tiny, "--format", format, "--out", output);
        Assert.True(code == 0, err);
        Assert.Equal("", stdout);
        Assert.Contains($"wrote {output} in ", err);
        return output;
    }

    [Theory]
    [InlineData("q8_0")]
    [InlineData("q4_0")]
    public void AQuantizedCheckpointTracesEveryTapAndChatsBitIdenticallyToWeightsOnTheOriginal(string format)
    {
        string q = Quantize(format);
        string a = Path.Combine(_dir, "weights.safetensors"), b = Path.Combine(_dir, "checkpoint.safetensors");
        string[] trace = ["trace", "--image", Cars, "--prompt", "Describe this image in detail.", "--threads", "2"];
        var (code, _, err) = CliRunner.Run([.. trace, "--model", Tiny, "--weights", format, "--out", a]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run([.. trace, "--model", q, "--out", b]);
        Assert.True(code == 0, err);
        Assert.Contains($"weights {format}: 11 linears held quantized", err);   // the same quantized path, on the stored blocks
        using (var fa = new SafetensorsFile(a))
        using (var fb = new SafetensorsFile(b))
        {
            Assert.Equal(fa.Tensors.Select(t => t.Name), fb.Tensors.Select(t => t.Name));
            Assert.True(fa.Tensors.Count > 20, "every tap");
            foreach (var t in fa.Tensors)
                Assert.True(t.Data.Bytes.SequenceEqual(fb[t.Name].Data.Bytes), $"tap {t.Name} differs");
        }
        string[] chat = ["chat", "--image", Cars, "--greedy", "--max-new-tokens", "12", "Describe this image."];
        var (c1, o1, e1) = CliRunner.Run([.. chat, "--model", Tiny, "--weights", format]);
        var (c2, o2, e2) = CliRunner.Run([.. chat, "--model", q]);
        Assert.True(c1 == 0 && c2 == 0, e1 + e2);
        Assert.Equal(o1, o2);
        Assert.Contains($"weights {format}", e2);
        // another format on it is refused in one line; so is quantizing it again
        (code, _, err) = CliRunner.Run([.. chat, "--model", q, "--weights", format == "q8_0" ? "q4_0" : "q8_0"]);
        Assert.Equal(1, code);
        Assert.Contains($"a {format}-quantized checkpoint runs as {format} only", err);
        (code, _, err) = CliRunner.Run("quantize", "--model", q, "--format", format, "--out", Path.Combine(_dir, "again"));
        Assert.Equal(1, code);
        Assert.Contains($"is already a {format}-quantized checkpoint", err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "again")));
    }

    [Fact]
    public void InfoShowsTheWeightFormatsAndTheirBytes()
    {
        string q = Quantize("q8_0");
        var (code, output, err) = CliRunner.Run("info", "--model", q);
        Assert.True(code == 0, err);
        Assert.Contains("format       q8_0-quantized checkpoint: 11 linear weights in q8_0; 14 linears kept as stored", output);
        Assert.Contains("quantized    3.0 MiB (8.5 bits per weight)", output);
        Assert.Contains("as stored    6.3 MiB (131 tensors, bf16)", output);
        Assert.Contains("weights      9.3 MiB (q8_0 blocks and the rest, memory-mapped)", output);
        (code, output, err) = CliRunner.Run("info", "--model", Tiny);
        Assert.True(code == 0, err);
        Assert.Contains("format       bf16 as stored: 142 tensors, 12.0 MiB", output);
        // the 7B from its config and index alone: the sizes after quantizing at load
        foreach (var (f, size, total) in new[] { ("q8_0", "7.61 GiB", "9.45 GiB"), ("q4_0", "4.03 GiB", "5.87 GiB") })
        {
            (code, output, err) = CliRunner.Run("info", "--model", RepoLayout.Path("golden", "model", "config-7b"), "--weights", f);
            Assert.True(code == 0, err);
            Assert.Contains($"--weights {f}: quantized at load: 307 linear weights in {f}", output);
            Assert.Contains($"quantized    {size} ", output);
            Assert.Contains($"weights      {total} ", output);
        }
        (code, _, err) = CliRunner.Run("info", "--model", q, "--weights", "q4_0");
        Assert.Equal(1, code);
        Assert.Contains("runs as q8_0 only (--weights q4_0 given)", err);
    }

    private static ProcessStartInfo Cli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ixc25.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServeAnswersAQuantizedRequestAsChatWithWeightsDoes(bool checkpoint)
    {
        const int Tokens = 8;
        var (code, expected, err) = CliRunner.Run("chat", "--model", Tiny, "--weights", "q4_0", "--image", Cars, "--greedy", "--max-new-tokens", Tokens.ToString(CultureInfo.InvariantCulture), "Describe this image.");
        Assert.True(code == 0, err);
        string[] model = checkpoint ? ["--model", Quantize("q4_0")] : ["--model", Tiny, "--weights", "q4_0"];
        using var server = Process.Start(Cli(["serve", .. model, "--port", "0", "--threads", "2", "--model-id", "tiny"]))!;
        try
        {
            var log = new System.Text.StringBuilder();
            string? address = null;
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
                while (address is null)
                {
                    string line = await server.StandardError.ReadLineAsync(limit.Token) ?? throw new InvalidOperationException("serve exited: " + log);
                    log.AppendLine(line);
                    if (line.StartsWith("serving ", StringComparison.Ordinal)) address = line.Split(" on ")[1].Split(' ')[0];
                }
            Assert.Contains("weights q4_0", log.ToString());
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
            var body = new
            {
                model = "tiny",
                temperature = 0,
                max_tokens = Tokens,
                messages = new object[]
                {
                    new
                    {
                        role = "user",
                        content = new object[]
                        {
                            new { type = "text", text = "Describe this image." },
                            new { type = "image_url", image_url = new { url = "data:image/jpeg;base64," + Convert.ToBase64String(File.ReadAllBytes(Cars)) } },
                        },
                    },
                },
            };
            using var response = await http.PostAsJsonAsync(new Uri(new Uri(address), "v1/chat/completions"), body);
            string json = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, json);
            var answer = (string)JsonNode.Parse(json)!["choices"]![0]!["message"]!["content"]!;
            Assert.Equal(expected.TrimEnd('\n'), answer);
        }
        finally
        {
            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
            if (!server.WaitForExit(30_000)) server.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task AKilledQuantizeLeavesNoCheckpointAndTheNextRunClearsItsFolder()
    {
        string output = Path.Combine(_dir, "killed");
        bool killed = false;
        for (int attempt = 0; attempt < 3 && !killed; attempt++)
        {
            using var run = Process.Start(Cli("quantize", "--model", Tiny, "--format", "q8_0", "--out", output))!;
            _ = run.StandardError.ReadToEndAsync();
            var sw = Stopwatch.StartNew();
            // kill -9 as soon as its temporary folder appears (nothing runs after a SIGKILL: no cleanup)
            while (!run.HasExited && !Directory.EnumerateDirectories(_dir, ".killed.quantize-*").Any() && sw.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(2);
            if (!run.HasExited) run.Kill();
            await run.WaitForExitAsync();
            killed = run.ExitCode != 0;
            if (!killed) Directory.Delete(output, recursive: true);   // it finished first: try again
        }
        Assert.True(killed, "quantize finished before it could be killed, three times");
        Assert.False(Directory.Exists(output));
        Assert.Single(Directory.EnumerateDirectories(_dir, ".killed.quantize-*"));
        var (code, _, err) = CliRunner.Run("quantize", "--model", Tiny, "--format", "q8_0", "--out", output);
        Assert.True(code == 0, err);
        Assert.Empty(Directory.EnumerateDirectories(_dir, ".killed.*"));
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
    }

    [Fact]
    public void QuantizeRefusalsAreOneLine()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "full"));
        File.WriteAllText(Path.Combine(_dir, "full", "x"), "x");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["--format", "q5_1", "--out", Path.Combine(_dir, "a")], "unknown weight format 'q5_1' (known: q8_0, q4_0)"),
            (["--format", "q8_0", "--out", Path.Combine(_dir, "full")], "exists and is not empty (--force replaces it)"),
            (["--format", "q8_0", "--out", Path.Combine(_dir, "no", "such")], "does not exist"),
        })
        {
            var (code, _, err) = CliRunner.Run(["quantize", "--model", Tiny, .. args]);
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
            Assert.Single(err.TrimEnd('\n').Split('\n'));
        }
    }
}
