using System.Globalization;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;

namespace IXC25.Cli.Tests;

/// <summary>Quantized weights through the commands on the tiny checkpoint: trace and chat with --weights, drift.</summary>
[Collection("console")]
public sealed class QuantCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-quant-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    [Fact]
    public void TraceWithQuantizedWeightsDriftsALittleFromTheReference()
    {
        string stored = Path.Combine(_dir, "stored.safetensors"), q8 = Path.Combine(_dir, "q8.safetensors"), q4 = Path.Combine(_dir, "q4.safetensors");
        foreach (var (weights, path) in new[] { ((string?)null, stored), ("q8_0", q8), ("q4_0", q4) })
        {
            string[] args = ["trace", "--model", Tiny, "--prompt", "What is a quantized weight?", "--out", path, "--taps", "llm.*"];
            var (code, _, err) = CliRunner.Run(weights is null ? args : [.. args, "--weights", weights]);
            Assert.True(code == 0, err);
            // text only: wqkv, wo, w1, w3 of both layers and the output head; w2 (F = 88) stays as stored
            if (weights is not null) Assert.Matches($"weights {weights}: 9 linears held quantized .*; 2 kept as stored", err);
        }
        using var s = new SafetensorsFile(stored);
        using var a = new SafetensorsFile(q8);
        using var b = new SafetensorsFile(q4);
        var r = s["llm.layer.1.output"].ToFloat32();
        var d8 = DriftMetrics.Tensor(a["llm.layer.1.output"].ToFloat32(), r);
        var d4 = DriftMetrics.Tensor(b["llm.layer.1.output"].ToFloat32(), r);
        Assert.True(d8.Nmse > 0 && d8.Nmse < 1e-3, $"q8_0 NMSE {d8.Nmse}");   // quantized, and close
        Assert.True(d4.Nmse > d8.Nmse && d4.Nmse < 5e-2, $"q4_0 NMSE {d4.Nmse} (q8_0 {d8.Nmse})");
    }

    [Fact]
    public void ChatRunsOnQuantizedWeightsAndABadFormatIsOneLine()
    {
        var (code, output, err) = CliRunner.Run("chat", "--model", Tiny, "--image", RepoLayout.Path("golden", "media", "cars1.jpg"),
            "--greedy", "--max-new-tokens", "4", "--weights", "q4_0", "Describe this image.");
        Assert.True(code == 0, err);
        Assert.Single(output.TrimEnd('\n').Split('\n'));
        Assert.Contains("weights q4_0", err);
        (code, _, err) = CliRunner.Run("chat", "--model", Tiny, "--weights", "q5_1", "Hi");
        Assert.Equal(1, code);
        Assert.Contains("unknown weight format 'q5_1' (known: q8_0, q4_0)", err);
        Assert.Single(err.TrimEnd('\n').Split('\n')); // refused before loading
    }

    [Fact]
    public void DriftReportsEveryTapAndItsStepMetricsAreThoseOfTheSavedLogits()
    {
        string save = Path.Combine(_dir, "drift");
        var (code, output, err) = CliRunner.Run("drift", "--model", Tiny, "--format", "q8_0", "--prompt", "Tell me a story.", "--steps", "3", "--save", save);
        Assert.True(code == 0, err);
        Assert.Contains("llm.layer.0.qkv", output);
        Assert.Contains("llm.logits", output);
        var steps = output.Split('\n').Single(l => l.StartsWith("steps ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("3", steps[1]);
        using var rf = new SafetensorsFile(Path.Combine(save, "reference.safetensors"));
        using var qf = new SafetensorsFile(Path.Combine(save, "quantized.safetensors"));
        var rl = rf["steps.logits"].ToFloat32();
        var ql = qf["steps.logits"].ToFloat32();
        int V = (int)rf["steps.logits"].Shape[1];
        var m = Enumerable.Range(0, 3).Select(t => DriftMetrics.Logits(ql.AsSpan(t * V, V), rl.AsSpan(t * V, V))).ToList();
        Assert.Equal(m.Average(x => x.Kl).ToString("0.000e+00", CultureInfo.InvariantCulture), steps[2]);
        Assert.Equal((m.Count(x => x.Top1) / 3.0).ToString("0.0000", CultureInfo.InvariantCulture), steps[4]);
        Assert.Equal(m.Max(x => x.Rank).ToString(CultureInfo.InvariantCulture), steps[6]);
    }

    [Fact]
    public void QuantizedTracesAreBitIdenticalAcrossThreadCounts()
    {
        var files = new List<string>();
        foreach (var threads in new[] { "1", "3" })
        {
            string path = Path.Combine(_dir, $"t{threads}.safetensors");
            var (code, _, err) = CliRunner.Run("trace", "--model", Tiny, "--image", RepoLayout.Path("golden", "media", "cars1.jpg"),
                "--prompt", "Describe this image.", "--weights", "q4_0", "--threads", threads, "--out", path);
            Assert.True(code == 0, err);
            Assert.Contains("weights q4_0: 11 linears held quantized", err); // the vision projector's two linears too
            files.Add(path);
        }
        Assert.Equal(File.ReadAllBytes(files[0]), File.ReadAllBytes(files[1]));
    }
}
