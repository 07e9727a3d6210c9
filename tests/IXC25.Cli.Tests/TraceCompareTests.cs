using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Tests;

public sealed class TraceCompareTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-trace-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");
    private static string Golden(string name) => RepoLayout.Path("golden", "model", "traces", name + ".safetensors");

    [Fact]
    public void TraceOfTheGoldenPromptComparesCleanAgainstPyTorch()
    {
        string trace = Path.Combine(_dir, "t.safetensors");
        var (code, _, err) = CliRunner.Run("trace", "--model", Tiny, "--image", RepoLayout.Path("golden", "media", "cars1.jpg"),
            "--prompt", "Describe this image in detail.", "--out", trace);
        Assert.True(code == 0, err);
        var (c2, output, err2) = CliRunner.Run("compare", trace, Golden("single_image"));
        Assert.True(c2 == 0, output + err2);
        Assert.Contains("24 compared, 0 failed", output);
        using var f = new SafetensorsFile(trace);
        Assert.Equal("ixc25 trace", f.Metadata["producer"]);
        Assert.Contains("image.0.hd_image", f.Tensors.Select(t => t.Name));
        Assert.Equal(DType.U8, f["image.0.hd_image"].DType);
    }

    [Fact]
    public void BadDestinationsAndNamesFailBeforeAnyWork()
    {
        // a missing --out directory is reported before the model is loaded
        var (code, output, err) = CliRunner.Run("trace", "--model", Tiny, "--prompt", "Hello", "--out", Path.Combine(_dir, "no", "t.safetensors"));
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("does not exist", err);
        Assert.DoesNotContain("loading", err);
        // --out naming a directory
        (code, _, err) = CliRunner.Run("op", "rms_norm", "--in", Golden("text_only"), "--out", _dir);
        Assert.Equal(1, code);
        Assert.Contains("is a directory", err);
        // an unknown op is named before its input file is read
        (code, _, err) = CliRunner.Run("op", "no_such_op", "--in", Path.Combine(_dir, "missing.safetensors"), "--out", Path.Combine(_dir, "o.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("unknown op 'no_such_op'", err);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void ATolerancesFileWithoutAFieldNamesIt()
    {
        string tol = Path.Combine(_dir, "tol.json");
        File.WriteAllText(tol, "{}");
        var (code, _, err) = CliRunner.Run("compare", Golden("text_only"), Golden("text_only"), "--tolerances", tol);
        Assert.Equal(1, code);
        Assert.Contains("the file has no \"classes\"", err);
        File.WriteAllText(tol, "{\"classes\": [{\"name\": \"float\", \"atol\": 1e-5, \"nmse\": 1e-9}]}");
        (code, _, err) = CliRunner.Run("compare", Golden("text_only"), Golden("text_only"), "--tolerances", tol);
        Assert.Equal(1, code);
        Assert.Contains("'float' has no \"rtol\"", err);
    }

    [Fact]
    public void TapGlobsSelectTensors()
    {
        string trace = Path.Combine(_dir, "t.safetensors");
        var (code, _, err) = CliRunner.Run("trace", "--model", Tiny, "--prompt", "Hello", "--out", trace, "--taps", "llm.layer.*.output", "--taps", "llm.logits");
        Assert.True(code == 0, err);
        using var f = new SafetensorsFile(trace);
        Assert.Equal(["llm.layer.0.output", "llm.layer.1.output", "llm.logits"], f.Tensors.Select(t => t.Name));
        var (c2, _, e2) = CliRunner.Run("trace", "--model", Tiny, "--prompt", "Hello", "--out", Path.Combine(_dir, "u.safetensors"), "--taps", "nothing.*");
        Assert.Equal(1, c2);
        Assert.Contains("no tap matches", e2);
        Assert.False(File.Exists(Path.Combine(_dir, "u.safetensors")));
    }

    [Fact]
    public void CompareReportsTheFirstOffendingIndexAndFails()
    {
        using var g = new SafetensorsFile(Golden("text_only"));
        var logits = g["llm.logits"].ToFloat32();
        logits[1234] += 0.01f;
        string a = Path.Combine(_dir, "a.safetensors");
        SafetensorsWriter.Write(a, [NamedTensor.F32("llm.logits", g["llm.logits"].Shape, logits), g["llm.im_mask"]]);
        var (code, output, _) = CliRunner.Run("compare", a, Golden("text_only"));
        Assert.Equal(1, code);
        Assert.Contains("first offending index 1234", output);
        Assert.Contains("llm.im_mask", output);
        Assert.Contains("2 compared, 1 failed", output);
    }

    [Fact]
    public void CompareChecksNaNParityAndShapes()
    {
        string a = Path.Combine(_dir, "a.safetensors"), b = Path.Combine(_dir, "b.safetensors");
        SafetensorsWriter.Write(a, [NamedTensor.F32("x", [3], [1f, float.NaN, 2f]), NamedTensor.F32("y", [2], [1f, 2f])]);
        SafetensorsWriter.Write(b, [NamedTensor.F32("x", [3], [1f, 5f, 2f]), NamedTensor.F32("y", [1, 2], [1f, 2f])]);
        var (code, output, _) = CliRunner.Run("compare", a, b);
        Assert.Equal(1, code);
        Assert.Contains("NaN/Inf mismatch at 1", output);
        Assert.Contains("FAIL shape [2] vs [1, 2]", output);
    }

    [Fact]
    public void CompareReadsATolerancesFile()
    {
        string a = Path.Combine(_dir, "a.safetensors"), b = Path.Combine(_dir, "b.safetensors"), t = Path.Combine(_dir, "tol.json");
        SafetensorsWriter.Write(a, [NamedTensor.F32("x", [2], [1f, 2.001f])]);
        SafetensorsWriter.Write(b, [NamedTensor.F32("x", [2], [1f, 2f])]);
        File.WriteAllText(t, """{"schema":1,"classes":[{"name":"loose","atol":0.01,"rtol":0,"nmse":1e-3,"reason":"test"}]}""");
        Assert.Equal(1, CliRunner.Run("compare", a, b).Code);
        var (code, output, err) = CliRunner.Run("compare", a, b, "--tolerances", t, "--default-class", "loose");
        Assert.True(code == 0, output + err);
        var (c3, _, e3) = CliRunner.Run("compare", a, b, "--default-class", "nope");
        Assert.Equal(1, c3);
        Assert.Contains("unknown tolerance class 'nope'", e3);
    }

    [Fact]
    public void TapsDocumentIsUpToDate()
    {
        var (code, md, _) = CliRunner.Run("taps", "--markdown");
        Assert.Equal(0, code);
        Assert.Equal(md, File.ReadAllText(RepoLayout.Path("docs", "TAPS.md")));
    }
}
