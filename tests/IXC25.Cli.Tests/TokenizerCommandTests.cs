using System.Text;
using System.Text.Json;
using IXC25.Runtime;

namespace IXC25.Cli.Tests;

/// <summary>The tokenize, detokenize and prompt commands, run in-process.</summary>
public class TokenizerCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string GoldenData(string name) => RepoLayout.Path("golden", "tokenizer", "data", name);

    private static string TempFile(byte[] content)
    {
        string path = Path.Combine(Path.GetTempPath(), "ixc25-tok-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        return path;
    }

    // ------------------------------------------------------------------ tokenize

    [Fact]
    public void TokenizePrintsOneJsonArray()
    {
        var (code, stdout, stderr) = Run("tokenize", "--text", "hello world");
        Assert.Equal(0, code);
        Assert.Equal("[15115,2028]" + Environment.NewLine, stdout);
        Assert.Equal("", stderr);
        Assert.Equal("[1,15115,2028]", Run("tokenize", "--text", "hello world", "--bos").Out.Trim());
    }

    [Fact]
    public void TokenizeFollowsTheTransformersPathUnlessRaw()
    {
        Assert.Equal("[9843,1,14748]", Run("tokenize", "--text", "Hello <s> world").Out.Trim());
        Assert.Equal("[9843,497,269,330,2028]", Run("tokenize", "--text", "Hello <s> world", "--raw").Out.Trim());
    }

    [Fact]
    public void TokenizeMatchesTheCorpusGoldensFromFiles()
    {
        var corpus = File.ReadLines(GoldenData("corpus.jsonl")).Take(400).Select(l => JsonSerializer.Deserialize<string>(l)!).ToList();
        var ids = File.ReadLines(GoldenData("corpus_ids.jsonl")).Take(400).ToList();
        for (int i = 0; i < corpus.Count; i += 37)
        {
            string file = TempFile(Encoding.UTF8.GetBytes(corpus[i]));
            try
            {
                var (code, stdout, _) = Run("tokenize", "--text-file", file, "--raw");
                Assert.Equal(0, code);
                Assert.Equal(ids[i], stdout.Trim());
            }
            finally { File.Delete(file); }
        }
    }

    [Fact]
    public void TokenizeFileWithMalformedUtf8NeedsRaw()
    {
        string file = TempFile([0x61, 0xE2, 0x82, 0x62]);
        try
        {
            var (code, _, stderr) = Run("tokenize", "--text-file", file);
            Assert.Equal(1, code);
            Assert.Contains("not valid UTF-8", stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.Equal("[264,65746,65746,260]", Run("tokenize", "--text-file", file, "--raw").Out.Trim());
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void TokenizeInputErrors()
    {
        Assert.Contains("exactly one of --text and --text-file", Run("tokenize").Err);
        Assert.Contains("exactly one of --text and --text-file", Run("tokenize", "--text", "a", "--text-file", "b").Err);
        var (code, _, err) = Run("tokenize", "--text-file", "/nonexistent/x.txt");
        Assert.Equal(1, code);
        Assert.StartsWith("ixc25: /nonexistent/x.txt: file not found", err);
        Assert.Contains("model folder not found", Run("tokenize", "--text", "a", "--model", "/nonexistent-model").Err);
    }

    [Fact]
    public void ModelFolderIsUsed()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ixc25-model-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Contains("tokenizer model not found", Run("tokenize", "--text", "a", "--model", dir).Err);
            File.Copy(RepoLayout.Path("golden", "tokenizer", "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
            Assert.Equal("[15115,2028]", Run("tokenize", "--text", "hello world", "--model", dir).Out.Trim());
            File.WriteAllBytes(Path.Combine(dir, "tokenizer.model"), [1, 2, 3]);
            var (code, _, err) = Run("tokenize", "--text", "a", "--model", dir);
            Assert.Equal(1, code);
            Assert.Contains("not a valid SentencePiece model", err);
        }
        finally { Directory.Delete(dir, true); }
    }

    // ------------------------------------------------------------------ detokenize

    [Fact]
    public void DetokenizeFollowsUpstreamDecode()
    {
        Assert.Equal("hello world[UNUSED_TOKEN_145]\n", Run("detokenize", "--ids", "1,15115,2028,92542").Out.Replace("\r\n", "\n"));
        Assert.Equal("hello world\n", Run("detokenize", "--ids", "1, 15115, 2028, 92542, 364", "--response").Out.Replace("\r\n", "\n"));
        Assert.Equal("\"hello world\\n\"", Run("detokenize", "--ids", "[15115,2028,13]", "--json").Out.Trim());
        Assert.Equal("\" ⁇ hello\"", Run("detokenize", "--ids", "0,1,15115", "--raw", "--json").Out.Trim());
        Assert.Equal("\"\"", Run("detokenize", "--ids", "", "--json").Out.Trim());
    }

    [Fact]
    public void DetokenizeMatchesTheDecodeGoldens()
    {
        foreach (var line in File.ReadLines(GoldenData("decode_cases.jsonl")).Where((_, i) => i % 23 == 0))
        {
            using var doc = JsonDocument.Parse(line);
            string ids = string.Join(",", doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(doc.RootElement.GetProperty("hf").GetString(), JsonSerializer.Deserialize<string>(Run("detokenize", "--ids", ids, "--json").Out));
            Assert.Equal(doc.RootElement.GetProperty("raw").GetString(), JsonSerializer.Deserialize<string>(Run("detokenize", "--ids", ids, "--json", "--raw").Out));
        }
    }

    [Fact]
    public void DetokenizeInputErrors()
    {
        var (code, _, err) = Run("detokenize", "--ids", "1,two,3");
        Assert.Equal(1, code);
        Assert.Equal("ixc25: --ids: 'two' is not an integer token id (expected comma-separated ids like 1,2,3)", err.Trim());
        Assert.Contains("token id 92544 is outside the vocabulary", Run("detokenize", "--ids", "92544").Err);
        Assert.Contains("token id -5 is outside the vocabulary", Run("detokenize", "--ids", "-5").Err);
        Assert.NotEqual(0, Run("detokenize").Code);
    }

    // ------------------------------------------------------------------ prompt

    public static TheoryData<string> PromptCases()
    {
        var data = new TheoryData<string>();
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldenData("prompt_cases.json")));
        foreach (var c in doc.RootElement.EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    /// <summary>The golden prompt cases through the CLI: image sizes read from the files, token counts from HdPartition.</summary>
    [Theory]
    [MemberData(nameof(PromptCases))]
    public void PromptMatchesTheGolden(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldenData("prompt_cases.json")));
        var c = doc.RootElement.EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var args = new List<string> { "prompt", "--query", c.GetProperty("query").GetString()! };
        foreach (var image in c.GetProperty("images").EnumerateArray()) args.AddRange(["--image", RepoLayout.Path(image.GetString()!)]);
        if (c.GetProperty("meta").GetBoolean()) args.Add("--meta");
        if (c.GetProperty("path").GetString() == "text") args.Add("--text-only");
        args.AddRange(["--hd-num", c.GetProperty("hd_num").GetInt32().ToString(), "--max-length", c.GetProperty("max_length").GetInt32().ToString()]);
        string? history = null;
        if (c.GetProperty("history").GetArrayLength() > 0)
        {
            history = TempFile(Encoding.UTF8.GetBytes(c.GetProperty("history").GetRawText()));
            args.AddRange(["--history-file", history]);
        }
        try
        {
            var (code, stdout, stderr) = Run([.. args]);
            Assert.True(code == 0, stderr);
            using var actual = JsonDocument.Parse(stdout);
            var a = actual.RootElement;
            var e = c.GetProperty("expected");
            foreach (var key in new[] { "total_length", "untruncated_length", "truncated", "im_mask_ranges" })
                Assert.Equal(Compact(e.GetProperty(key)), Compact(a.GetProperty(key)));
            var es = e.GetProperty("segments").EnumerateArray().ToList();
            var segs = a.GetProperty("segments").EnumerateArray().ToList();
            Assert.Equal(es.Count, segs.Count);
            for (int i = 0; i < es.Count; i++)
            {
                foreach (var key in new[] { "type", "start", "length", "ids", "index", "tokens", "grid", "hd_num" })
                {
                    bool has = es[i].TryGetProperty(key, out var ev);
                    Assert.Equal(has, segs[i].TryGetProperty(key, out var av));
                    if (has) Assert.Equal(Compact(ev), Compact(av));
                }
                if (es[i].TryGetProperty("path", out var p)) Assert.EndsWith(p.GetString()!, segs[i].GetProperty("path").GetString()!);
            }
        }
        finally { if (history is not null) File.Delete(history); }
    }

    private static string Compact(JsonElement e) => JsonSerializer.Serialize(e);

    [Fact]
    public void PromptInputErrors()
    {
        string img = RepoLayout.Path("golden", "media", "cars1.jpg");
        Assert.Contains("videos are not supported", Run("prompt", "--query", "q", "--image", "clip.mp4").Err);
        Assert.Contains("unknown image format '.txt'", Run("prompt", "--query", "q", "--image", "notes.txt").Err);
        Assert.Contains("/nonexistent/a.png: image not found", Run("prompt", "--query", "q", "--image", "/nonexistent/a.png").Err);
        Assert.Contains("cannot be combined with --image", Run("prompt", "--query", "q", "--image", img, "--text-only").Err);
        Assert.Contains("1 <ImageHere> marker(s) but 2 image(s)", Run("prompt", "--query", "<ImageHere>", "--image", img, "--image", img).Err);
        string bad = TempFile(Encoding.UTF8.GetBytes("[[\"q\"]]"));
        string broken = TempFile(Encoding.UTF8.GetBytes("[[\"q\", "));
        string notImage = TempFile(Encoding.UTF8.GetBytes("not an image"));
        string notImagePng = notImage + ".png";
        File.Move(notImage, notImagePng);
        try
        {
            Assert.Contains("turn 0 is not a [question, answer] pair", Run("prompt", "--query", "q", "--history-file", bad).Err);
            Assert.Contains("not valid JSON", Run("prompt", "--query", "q", "--history-file", broken).Err);
            var (code, _, err) = Run("prompt", "--query", "q", "--image", notImagePng);
            Assert.Equal(1, code);
            Assert.Contains("cannot read the image", err);
        }
        finally { File.Delete(bad); File.Delete(broken); File.Delete(notImagePng); }
    }

    [Fact]
    public void PromptWithMetaTextAndNoImage()
    {
        var (code, stdout, _) = Run("prompt", "--query", "hi", "--meta-text", "Be brief.");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var seg = Assert.Single(doc.RootElement.GetProperty("segments").EnumerateArray());
        Assert.Equal("text", seg.GetProperty("type").GetString());
        Assert.Equal(1, seg.GetProperty("ids")[0].GetInt32());
        Assert.Equal(92543, seg.GetProperty("ids")[1].GetInt32());
        Assert.Equal("[]", doc.RootElement.GetProperty("im_mask_ranges").GetRawText());
    }
}

/// <summary>The prompt command says on stderr when it cuts the prompt at max_length (as upstream) and where.</summary>
public class PromptCutCommandTests
{
    [Fact]
    public void ACutPromptIsSaidOnStderr()
    {
        var (code, output, err) = CliRunner.Run("prompt", "--query", "What is this?", "--image", IXC25.Runtime.RepoLayout.Path("golden", "media", "cars1.jpg"), "--max-length", "100");
        Assert.Equal(0, code);
        Assert.Contains("\"truncated\":true", output);
        Assert.Matches(@"^warning: the prompt has \d+ positions and is cut to max_length 100, as upstream does .*inside image 1 .*the question included\n$", err);
        var (_, _, quiet) = CliRunner.Run("prompt", "--query", "What is this?", "--image", IXC25.Runtime.RepoLayout.Path("golden", "media", "cars1.jpg"));
        Assert.Equal("", quiet);
    }
}
