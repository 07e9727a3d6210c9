using System.Text.Json.Nodes;
using IXC25.Cli.Batch;
using IXC25.Cli.Commands;
using IXC25.Generation.Chat;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Cli.Tests.Batch;

/// <summary>`ixc25 batch` in-process on the tiny checkpoint: answers, shards, resume, repair, run-time errors, traces.</summary>
public class BatchCommandTests
{
    [Fact]
    public void ResultsEqualChatOnTheSameRequests()
    {
        using var job = new BatchJob(
            """{"id":"img","question":"Describe this image.","images":["cars1.jpg"],"do_sample":false,"max_new_tokens":6}""",
            """{"id":"sampled","question":"Hello there","max_new_tokens":5}""",
            """{"id":"seeded","question":"Hello there","max_new_tokens":5,"seed":42,"top_p":0.9,"repetition_penalty":1.2}""",
            """{"id":"history","question":"And then?","history":[["What is it?","A car."]],"do_sample":false,"max_new_tokens":4,"use_meta":true}""",
            """{"id":"write","question":"Write about cars.","mode":"write","max_new_tokens":3,"do_sample":false}""");
        var (code, output, err) = job.Run();
        Assert.True(code == 0, err);
        Assert.Equal("", output);
        var lines = File.ReadAllLines(job.Results).Select(l => JsonNode.Parse(l)!.AsObject()).ToDictionary(o => o["id"]!.GetValue<string>());
        Assert.Equal(5, lines.Count);

        // the CLI's chat on the image request (greedy) and on the sampled one with the seed batch derived from its id
        var chat = CliRunner.Run("chat", "--model", BatchJob.Tiny, "--image", Path.Combine(job.Dir, "cars1.jpg"), "--greedy", "--max-new-tokens", "6", "Describe this image.");
        Assert.Equal(chat.Out, lines["img"]["answer"]!.GetValue<string>() + "\n");
        ulong derived = BatchRequest.DerivedSeed("sampled");
        Assert.Equal(derived, lines["sampled"]["seed"]!.GetValue<ulong>());
        chat = CliRunner.Run("chat", "--model", BatchJob.Tiny, "--max-new-tokens", "5", "--seed", derived.ToString(System.Globalization.CultureInfo.InvariantCulture), "Hello there");
        Assert.Equal(chat.Out, lines["sampled"]["answer"]!.GetValue<string>() + "\n");
        Assert.NotEqual(lines["sampled"]["answer"]!.ToJsonString(), lines["seeded"]["answer"]!.ToJsonString());

        // the library on every request: text, tokens, finish, seed
        using var engine = ChatEngine.Load(BatchJob.Tiny);
        void Same(string id, ChatRequest request, IReadOnlyList<ChatTurn>? history = null)
        {
            var session = engine.NewSession();
            if (history is not null) session.AddHistory(history);
            var reply = session.Ask(request);
            var line = lines[id];
            Assert.Equal(reply.Text, line["answer"]!.GetValue<string>());
            Assert.Equal(reply.Generation.Tokens, line["tokens"]!.AsArray().Select(t => t!.GetValue<int>()));
            Assert.Equal(BatchRunner.Finish(reply.Generation.Finish), line["finish"]!.GetValue<string>());
            Assert.Equal(reply.Generation.Seed, line["seed"] is null ? null : line["seed"]!.GetValue<ulong>());
            Assert.Equal(reply.Prompt.TotalLength, line["prompt_tokens"]!.GetValue<int>());
        }
        Same("seeded", new ChatRequest { Question = "Hello there", Customize = g => g with { MaxNewTokens = 5, Seed = 42, TopP = 0.9, RepetitionPenalty = 1.2 } });
        Same("history", new ChatRequest { Question = "And then?", UseMeta = true, Customize = g => g with { DoSample = false, MaxNewTokens = 4 } },
            [new ChatTurn("What is it?", "A car.")]);
        Same("write", new ChatRequest { Question = "Write about cars.", Mode = ChatMode.Write, Customize = g => g with { DoSample = false, MaxNewTokens = 3 } });
        Assert.Equal("max_new_tokens", lines["img"]["finish"]!.GetValue<string>());
        Assert.True(lines["img"]["timings"]!["image_encoding_s"]!.GetValue<double>() > 0);
    }

    [Fact]
    public void EachRequestStartsFromAFreshModel()
    {
        // the first prompt passes the tiny model's max_position_embeddings (2048): with --rope-mode hf it leaves
        // the NTK-scaled rotary base behind in the model; the next request must not see it
        string longQuestion = string.Concat(Enumerable.Repeat("word ", 2100));
        string shortRequest = """{"id":"short","question":"Hello there","do_sample":false,"max_new_tokens":3}""";
        using var after = new BatchJob($$"""{"id":"long","question":"{{longQuestion}}","do_sample":false,"max_new_tokens":1}""", shortRequest);
        using var alone = new BatchJob(shortRequest);
        foreach (var job in new[] { after, alone })
        {
            var (code, _, err) = job.Run("--rope-mode", "hf", "--trace", Path.Combine(job.Dir, "t"), "--taps", "llm.logits");
            Assert.True(code == 0, err);
        }
        Assert.True(JsonNode.Parse(File.ReadAllLines(after.Results)[0])!["prompt_tokens"]!.GetValue<int>() > 2048);
        Assert.Equal(BatchJob.Lines(alone.Results)[0], BatchJob.Lines(after.Results)[1]);
        using var a = new IXC25.Runtime.IO.SafetensorsFile(Path.Combine(after.Dir, "t", "short", "trace.safetensors"));
        using var b = new IXC25.Runtime.IO.SafetensorsFile(Path.Combine(alone.Dir, "t", "short", "trace.safetensors"));
        Assert.True(a["llm.logits"].Data.Bytes.SequenceEqual(b["llm.logits"].Data.Bytes));
    }

    [Fact]
    public void ShardsPartitionTheRequestsAndGiveTheSameLines()
    {
        using var job = new BatchJob(BatchJob.SmallRequests(7));
        Assert.Equal(0, job.Run().Code);
        var whole = BatchJob.Lines(job.Results);
        var seen = new List<string>();
        for (int k = 0; k < 3; k++)
        {
            string shardOut = Path.Combine(job.Dir, $"shard-{k}.jsonl");
            var (code, _, err) = CliRunner.Run("batch", "--model", BatchJob.Tiny, "--in", job.Requests, "--out", shardOut, "--shard", $"{k}/3");
            Assert.True(code == 0, err);
            var lines = BatchJob.Lines(shardOut);
            Assert.Equal(Enumerable.Range(0, 7).Where(i => i % 3 == k).Select(i => $"r{i}"), lines.Select(BatchJob.Id));
            seen.AddRange(lines);
        }
        Assert.Equal(whole.Order(), seen.Order());
    }

    [Fact]
    public void ARerunSkipsTheIdsAlreadyDone()
    {
        using var job = new BatchJob(BatchJob.SmallRequests(4));
        string preset = """{"id":"r2","answer":"PRESET","tokens":[],"finish":"eos_token","seed":null}""";
        File.WriteAllText(job.Results, preset + "\n");
        var (code, _, err) = job.Run();
        Assert.True(code == 0, err);
        Assert.Contains("1 already in", err);
        var lines = File.ReadAllLines(job.Results);
        Assert.Equal(preset, lines[0]);
        Assert.Equal(["r2", "r0", "r1", "r3"], lines.Select(BatchJob.Id));
        // a second rerun has nothing to do and does not load the model
        (code, _, err) = job.Run();
        Assert.Equal(0, code);
        Assert.DoesNotContain("loading", err);
        Assert.Equal(lines, File.ReadAllLines(job.Results));
    }

    [Fact]
    public void ATornLastLineIsCutAndItsRequestRunsAgain()
    {
        using var job = new BatchJob(BatchJob.SmallRequests(3));
        Assert.Equal(0, job.Run().Code);
        var whole = BatchJob.Lines(job.Results);
        var bytes = File.ReadAllBytes(job.Results);
        int secondEnd = Array.IndexOf(bytes, (byte)'\n', Array.IndexOf(bytes, (byte)'\n') + 1);
        File.WriteAllBytes(job.Results, bytes[..(secondEnd + 20)]); // two whole lines and 19 bytes of the third
        var (code, _, err) = job.Run("--check");
        Assert.True(code == 0, err);
        Assert.Contains("2 of 3 done (0 errors), 1 to run; a torn last line of 19 bytes", err);
        Assert.Equal(secondEnd + 20, new FileInfo(job.Results).Length); // --check changes nothing
        (code, _, err) = job.Run();
        Assert.True(code == 0, err);
        Assert.Contains("cut a torn last line of 19 bytes", err);
        Assert.Equal(whole, BatchJob.Lines(job.Results));
    }

    [Fact]
    public void ARunTimeFailureIsAnErrorLineAndTheJobGoesOn()
    {
        using var job = new BatchJob(
            """{"id":"bad","question":"What is this?","images":["broken.jpg"],"max_new_tokens":2}""",
            """{"id":"good","question":"Hi","max_new_tokens":2}""");
        File.WriteAllText(Path.Combine(job.Dir, "broken.jpg"), "not an image");
        var (code, _, err) = job.Run();
        Assert.Equal(BatchCommand.ExitErrorResults, code);
        Assert.Contains("1 of them errors", err);
        var lines = File.ReadAllLines(job.Results).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["bad", "good"], lines.Select(l => l["id"]!.GetValue<string>()));
        Assert.Contains("broken.jpg", lines[0]["error"]!.GetValue<string>());
        Assert.Null(lines[0]["answer"]);
        Assert.NotNull(lines[1]["answer"]);

        // a rerun keeps the error; --retry-errors runs it again once the input is fixed
        Assert.Equal(BatchCommand.ExitErrorResults, job.Run().Code);
        File.Copy(Path.Combine(job.Dir, "cars1.jpg"), Path.Combine(job.Dir, "broken.jpg"), overwrite: true);
        (code, _, err) = job.Run("--retry-errors");
        Assert.True(code == 0, err);
        Assert.Contains("removed 1 error results", err);
        Assert.Equal(["good", "bad"], File.ReadAllLines(job.Results).Select(BatchJob.Id));
        Assert.NotNull(JsonNode.Parse(File.ReadAllLines(job.Results)[1])!["answer"]);
    }

    [Fact]
    public void TracesGoToOneSafeFolderPerIdAndEqualTheTraceCommand()
    {
        using var job = new BatchJob(
            """{"id":"../escape","question":"Describe this image.","images":["cars1.jpg"],"do_sample":false,"max_new_tokens":2}""",
            """{"id":".","question":"Hi","max_new_tokens":2}""");
        string traces = Path.Combine(job.Dir, "traces");
        var (code, _, err) = job.Run("--trace", traces, "--taps", "llm.*", "--taps", "image.*");
        Assert.True(code == 0, err);
        Assert.Equal(["%2E", "%2E.%2Fescape"], Directory.GetDirectories(traces).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFiles(job.Dir, "*.safetensors", SearchOption.TopDirectoryOnly));
        var line = JsonNode.Parse(File.ReadAllLines(job.Results)[0])!;
        Assert.Equal("%2E.%2Fescape/trace.safetensors", line["trace"]!.GetValue<string>());

        string reference = Path.Combine(job.Dir, "ref.safetensors");
        (code, _, err) = CliRunner.Run("trace", "--model", BatchJob.Tiny, "--image", Path.Combine(job.Dir, "cars1.jpg"), "--prompt", "Describe this image.",
            "--out", reference, "--taps", "llm.*", "--taps", "image.*");
        Assert.True(code == 0, err);
        using var a = new IXC25.Runtime.IO.SafetensorsFile(Path.Combine(traces, "%2E.%2Fescape", "trace.safetensors"));
        using var b = new IXC25.Runtime.IO.SafetensorsFile(reference);
        Assert.Equal(b.Tensors.Select(t => t.Name).Order(), a.Tensors.Select(t => t.Name).Order());
        Assert.True(a.Contains("llm.logits"));
        Assert.Equal("../escape", a.Metadata["id"]);
        foreach (var t in b.Tensors) Assert.True(a[t.Name].Data.Bytes.SequenceEqual(t.Data.Bytes), t.Name);
    }
}
