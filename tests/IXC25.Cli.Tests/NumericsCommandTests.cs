using IXC25.Backends;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Tests;

public sealed class NumericsCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-cli-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void OpListNamesEveryOpWithItsPorts()
    {
        var (code, output, _) = CliRunner.Run("op", "--list");
        Assert.Equal(0, code);
        foreach (var op in OpCatalog.All) Assert.Contains(op.Name + "\n", output);
        Assert.Contains("inputs:  x: f32[T, IN]; weight: f32|bf16|f16[OUT, IN]; lora_a: f32|bf16|f16[R, IN]; lora_b: f32|bf16|f16[OUT, R]; im_mask: u8[T]", output);
    }

    [Fact]
    public void OpRunsPloraLinearWithBf16WeightsLikePyTorch()
    {
        // the golden case with a partial mask and bf16 weights, fed through the CLI contract
        using var g = new SafetensorsFile(RepoLayout.Path("golden", "ops", "data", "plora_linear.safetensors"));
        int n = Enumerable.Range(0, 100).First(i => g.TryGet($"c{i}.weight", out var w) && w.DType == DType.BF16 && g[$"c{i}.im_mask"].AsSpan<byte>().IndexOf((byte)0) >= 0 && g[$"c{i}.im_mask"].AsSpan<byte>().IndexOf((byte)1) >= 0);
        string input = Path.Combine(_dir, "in.safetensors"), output = Path.Combine(_dir, "out.safetensors");
        SafetensorsWriter.Write(input, new[] { "x", "weight", "lora_a", "lora_b", "im_mask" }.Select(p => { var t = g[$"c{n}.{p}"]; return new NamedTensor(p, t.DType, t.Shape, t.Data); }));
        var (code, stdout, err) = CliRunner.Run("op", "plora_linear", "--in", input, "--out", output, "--attr", "scale=1.0");
        Assert.True(code == 0, err);
        Assert.StartsWith("y: f32[", stdout);
        using var o = new SafetensorsFile(output);
        var r = TensorComparer.Compare(o["y"].AsSpan<float>(), g[$"c{n}.y"].AsSpan<float>(), ToleranceTable.Find("matmul")!);
        Assert.True(r.Pass, r.ToString());
        Assert.Equal("plora_linear", o.Metadata["op"]);
    }

    [Theory]
    [InlineData("nosuchop", "unknown op 'nosuchop'")]
    [InlineData("rms_norm", "missing input 'weight'")]
    public void OpErrorsAreOneLine(string op, string expected)
    {
        string input = Path.Combine(_dir, "in.safetensors");
        SafetensorsWriter.Write(input, [NamedTensor.F32("x", [2, 3], new float[6])]);
        var (code, _, err) = CliRunner.Run("op", op, "--in", input, "--out", Path.Combine(_dir, "o.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains(expected, err);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(Path.Combine(_dir, "o.safetensors")));
    }

    [Fact]
    public void RopeTableWritesEachCallsRowsBelowItsLength()
    {
        string output = Path.Combine(_dir, "rope.safetensors");
        var (code, _, err) = CliRunner.Run("rope-table", "--head-dim", "128", "--theta", "1000000", "--max-pos", "24576", "--scaling", "dynamic",
            "--factor", "2", "--mode", "hf", "--calls", "512,30000,1000", "--positions", "0,511,512,29999,98303", "--out", output);
        Assert.True(code == 0, err);
        using var f = new SafetensorsFile(output);
        Assert.Equal(["call0.cos", "call0.sin", "call1.cos", "call1.sin", "call2.cos", "call2.sin"], f.Tensors.Select(t => t.Name));
        Assert.Equal(new long[] { 2, 128 }, f["call0.cos"].Shape);
        Assert.Equal(new long[] { 4, 128 }, f["call1.cos"].Shape);
        Assert.Equal(new long[] { 3, 128 }, f["call2.cos"].Shape);
        // the third call (1000 tokens) still uses the base enlarged by the second (hf quirk)
        var rope = new RotaryEmbedding(new RopeConfig(128, 1e6, 24576, RopeScaling.Dynamic, 2), RopeMode.Hf);
        rope.BeginPass(512);
        rope.BeginPass(30000);
        rope.BeginPass(1000);
        var cos = new float[3 * 128];
        var sin = new float[3 * 128];
        rope.Gather([0, 511, 512], cos, sin);
        Assert.Equal(cos, f["call2.cos"].AsSpan<float>().ToArray());
        Assert.Equal(sin, f["call2.sin"].AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData("--mode", "nope", "--mode must be hf or stateless")]
    [InlineData("--calls", "10,-1", "--calls: '-1' is not an integer >= 1")]
    [InlineData("--head-dim", "7", "head dim 7 must be even")]
    public void RopeTableRejectsBadArguments(string flag, string value, string expected)
    {
        var args = new Dictionary<string, string>
        {
            ["--head-dim"] = "8", ["--theta"] = "10000", ["--max-pos"] = "100", ["--calls"] = "10", ["--positions"] = "0", ["--out"] = Path.Combine(_dir, "r.safetensors"),
        };
        args[flag] = value;
        var (code, _, err) = CliRunner.Run(["rope-table", .. args.SelectMany(kv => new[] { kv.Key, kv.Value })]);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, err);
    }
}
