using System.Security.Cryptography;
using System.Text.Json;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Cli.Tests;

/// <summary>The contract of <c>ixc25 preprocess</c> (other tools depend on it exactly), run in-process.</summary>
public sealed class PreprocessCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-pre-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Media(string key) => RepoLayout.Path(["golden", .. key.Split('/')]);

    private static JsonElement GoldenCase(string image, int hdNum)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(RepoLayout.Path("golden", "vision", "data", "hd_cases.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Single(c => c.GetProperty("image").GetString() == image && c.GetProperty("hd_num").GetInt32() == hdNum).Clone();
    }

    private static string Sha(ReadOnlySpan<byte> b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    [Theory]
    [InlineData("media/dubai.png", null)]          // default hd_num is 24
    [InlineData("media/screenshot.jpg", 6)]
    [InlineData("vision/media/size_1x300.png", 55)]
    public void WritesTheThreeTensorsAndPrintsTheJsonContract(string image, int? hdNum)
    {
        string outFile = Path.Combine(_dir, "x.safetensors");
        string[] args = hdNum is { } n
            ? ["preprocess", Media(image), "--hd-num", n.ToString(), "--out", outFile]
            : ["preprocess", Media(image), "--out", outFile];
        var (code, stdout, stderr) = Run(args);
        Assert.True(code == 0, stderr);
        var g = GoldenCase(image, hdNum ?? 24);
        int W = g.GetProperty("width").GetInt32(), H = g.GetProperty("height").GetInt32();

        // stdout: exactly one JSON object with exactly these keys, in this order
        Assert.Single(stdout.TrimEnd('\n', '\r').Split('\n'));
        using var json = JsonDocument.Parse(stdout);
        Assert.Equal(["width", "height", "grid_rows", "grid_cols", "image_tokens"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(W, json.RootElement.GetProperty("width").GetInt32());
        Assert.Equal(H, json.RootElement.GetProperty("height").GetInt32());
        Assert.Equal(g.GetProperty("grid_rows").GetInt32(), json.RootElement.GetProperty("grid_rows").GetInt32());
        Assert.Equal(g.GetProperty("grid_cols").GetInt32(), json.RootElement.GetProperty("grid_cols").GetInt32());
        Assert.Equal(g.GetProperty("image_tokens").GetInt32(), json.RootElement.GetProperty("image_tokens").GetInt32());

        using var f = new SafetensorsFile(outFile);
        Assert.Equal(["hd_image", "pixel_values", "global_view"], f.Tensors.Select(t => t.Name));
        Assert.Equal(DType.U8, f["hd_image"].DType);
        Assert.Equal([H, W, 3], f["hd_image"].Shape);
        Assert.Equal(DType.F32, f["pixel_values"].DType);
        Assert.Equal([3, H, W], f["pixel_values"].Shape);
        Assert.Equal(DType.F32, f["global_view"].DType);
        Assert.Equal([3, 560, 560], f["global_view"].Shape);
        Assert.Equal(g.GetProperty("hd_image_sha256").GetString(), Sha(f["hd_image"].Data.Bytes));
        Assert.Equal(g.GetProperty("pixel_values_sha256").GetString(), Sha(f["pixel_values"].Data.Bytes));
        Assert.Equal(g.GetProperty("global_view_sha256").GetString(), Sha(f["global_view"].Data.Bytes));
    }

    [Fact]
    public void VideoMode()
    {
        string outFile = Path.Combine(_dir, "v.safetensors");
        var (code, stdout, stderr) = Run("preprocess", Media("vision/media/video_portrait.mp4"), "--video", "--out", outFile);
        Assert.True(code == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        // 3 frames of 120x200 side by side: 2046x1160 -> 987x560 -> padded 1120x560, grid 1x2, (2+1)*400+1+2*20 tokens
        Assert.Equal((1120, 560, 1, 2, 1241), (json.RootElement.GetProperty("width").GetInt32(), json.RootElement.GetProperty("height").GetInt32(),
            json.RootElement.GetProperty("grid_rows").GetInt32(), json.RootElement.GetProperty("grid_cols").GetInt32(), json.RootElement.GetProperty("image_tokens").GetInt32()));
        using var f = new SafetensorsFile(outFile);
        Assert.Equal(new long[] { 560, 1120, 3 }, f["hd_image"].Shape);
        Assert.Equal("video", f.Metadata["mode"]);
    }

    [Fact]
    public void InputErrorsAreOneLineAndLeaveNoFile()
    {
        string outFile = Path.Combine(_dir, "e.safetensors");
        void Fails(string expected, params string[] args)
        {
            var (code, stdout, stderr) = Run(args);
            Assert.NotEqual(0, code);
            Assert.Equal("", stdout);
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.False(File.Exists(outFile));
        }
        Fails("cannot read", "preprocess", Path.Combine(_dir, "missing.png"), "--out", outFile);
        Fails("does not exist", "preprocess", Media("media/cars1.jpg"), "--out", Path.Combine(_dir, "no", "x.safetensors"));
        Fails("--hd-num must be at least 1", "preprocess", Media("media/cars1.jpg"), "--hd-num", "0", "--out", outFile);
        Fails("pass --video", "preprocess", Media("vision/media/video_long.mp4"), "--out", outFile);
        Fails("too thin", "preprocess", Media("vision/media/size_2000x3.png"), "--hd-num", "1", "--out", outFile);
        Fails("truncated", "preprocess", Media("vision/media/broken_truncated.jpg"), "--out", outFile);
        Fails("exceeds the limit", "preprocess", Media("vision/media/broken_bomb.png"), "--out", outFile);
        Fails("exceeds the limit of 1000", "preprocess", Media("media/cars1.jpg"), "--max-pixels", "1000", "--out", outFile);
        Fails("--out", "preprocess", Media("media/cars1.jpg"));
    }

    [Fact]
    public void AGoodOutputIsNotReplacedByAFailedRun()
    {
        string outFile = Path.Combine(_dir, "keep.safetensors");
        Assert.Equal(0, Run("preprocess", Media("media/panda.jpeg"), "--out", outFile).Code);
        byte[] before = File.ReadAllBytes(outFile);
        Assert.NotEqual(0, Run("preprocess", Media("vision/media/broken_truncated.png"), "--out", outFile).Code);
        Assert.Equal(before, File.ReadAllBytes(outFile));
    }
}
