using IXC25.Cli.Batch;
using IXC25.Runtime;

namespace IXC25.Cli.Tests.Batch;

/// <summary>Bad requests files and options: one line naming the line and the problem, before the model loads; nothing written.</summary>
public class BatchInputTests
{
    private const string Good = """{"id":"ok","question":"Hi","max_new_tokens":2}""";

    [Theory]
    [InlineData("""{"id":"a","question":"Hi","colour":"red"}""", "line 2: unknown field 'colour'")]
    [InlineData("""{"id":"a","question":"Hi","question":"Ho"}""", "line 2: field 'question' appears twice")]
    [InlineData("""{"id":"ok","question":"Hi"}""", "line 2: duplicate id 'ok' (first on line 1)")]
    [InlineData("""{"question":"Hi"}""", "line 2: missing required field 'id'")]
    [InlineData("""{"id":"","question":"Hi"}""", "line 2: 'id' must not be empty")]
    [InlineData("""{"id":7,"question":"Hi"}""", "line 2: 'id' must be a string, got a number (7)")]
    [InlineData("""{"id":"a"}""", "line 2: missing required field 'question'")]
    [InlineData("""{"id":"a","question":"Hi","max_new_tokens":"5"}""", "line 2: 'max_new_tokens' must be an integer, got a string")]
    [InlineData("""{"id":"a","question":"Hi","max_new_tokens":2.5}""", "line 2: 'max_new_tokens' must be an integer, got a number (2.5)")]
    [InlineData("""{"id":"a","question":"Hi","do_sample":1}""", "line 2: 'do_sample' must be true or false")]
    [InlineData("""{"id":"a","question":"Hi","seed":-1}""", "line 2: 'seed' must be an integer from 0")]
    [InlineData("""{"id":"a","question":"Hi","temperature":null}""", "line 2: 'temperature' must be a finite number, got null")]
    [InlineData("""{"id":"a","question":"Hi","images":"cars1.jpg"}""", "line 2: 'images' must be an array of strings")]
    [InlineData("""{"id":"a","question":"Hi","images":["nope.jpg"]}""", "line 2: images[0]: 'nope.jpg': file not found")]
    [InlineData("""{"id":"a","question":"Hi","video":"nope.mp4"}""", "line 2: video: 'nope.mp4': file not found")]
    [InlineData("""{"id":"a","question":"Hi","history":[["q"]]}""", "line 2: 'history[0]' must be a [question, answer] pair of strings")]
    [InlineData("""{"id":"a","question":"Hi","mode":"poem"}""", "line 2: 'mode' must be chat, write or web (got 'poem')")]
    [InlineData("""{"id":"a","question":"Hi","mode":"web","history":[["q","a"]]}""", "line 2: 'history' is only used in chat mode")]
    [InlineData("""{"id":"a","question":"Hi","meta_instruction":"Be brief."}""", "line 2: 'meta_instruction' is only used with \"use_meta\": true")]
    [InlineData("""{"id":"a","question":"Hi","top_p":1.5}""", "line 2: top_p must be between 0 and 1 (got 1.5)")]
    [InlineData("""{"id":"a","question":"Hi","num_beams":0}""", "line 2: num_beams must be at least 1")]
    [InlineData("""{"id":"a","question":"Hi","max_new_tokens":0}""", "line 2: max_new_tokens must be at least 1")]
    [InlineData("""{"id":"a","question":"Hi","hd_num":0}""", "line 2: 'hd_num' must be at least 1")]
    [InlineData("""{"id":"a","question":"Hi",}""", "line 2: not valid JSON")]
    [InlineData("""["a","Hi"]""", "line 2: expected a JSON object, got an array")]
    [InlineData("""{"id":"a","question":"Hi"} {"id":"b"}""", "line 2: not valid JSON")]
    public void ABadLineFailsTheWholeJobBeforeTheModelLoads(string line, string expected)
    {
        using var job = new BatchJob(Good, line, Good.Replace("\"ok\"", "\"last\""));
        var (code, output, err) = job.Run();
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"ixc25: {job.Requests} ", err);
        Assert.Contains(expected, err);
        Assert.False(File.Exists(job.Results));
    }

    [Fact]
    public void InvalidUtf8AndEmptyFilesAreRefused()
    {
        using var job = new BatchJob();
        File.WriteAllBytes(job.Requests, [.. System.Text.Encoding.UTF8.GetBytes(Good + "\n{\"id\":\""), 0xC3, 0x28, .. "\",\"question\":\"x\"}\n"u8]);
        Assert.Contains("line 2: not valid UTF-8", job.Run().Err);
        File.WriteAllText(job.Requests, "\n  \n");
        Assert.Contains("no requests", job.Run().Err);
        Assert.False(File.Exists(job.Results));
    }

    [Fact]
    public void BlankLinesAreSkippedAndDoNotCountForShards()
    {
        using var job = new BatchJob();
        File.WriteAllText(job.Requests, "\uFEFF" + string.Join("\r\n\r\n", BatchJob.SmallRequests(3)) + "\r\n");
        var requests = BatchRequestReader.Read(job.Requests);
        Assert.Equal([0, 1, 2], requests.Select(r => r.Index));
        Assert.Equal([1, 3, 5], requests.Select(r => r.Line));
        Assert.Equal(Path.Combine(job.Dir, "cars1.jpg"), BatchRequestReader.Parse("""{"id":"x","question":"q","images":["cars1.jpg"]}""", job.Dir, 1, 0, "here").Images[0]);
    }

    [Theory]
    [InlineData("3/3", "K must be from 0 to N-1 = 2")]
    [InlineData("0/0", "N must be at least 1")]
    [InlineData("1", "--shard must be K/N")]
    [InlineData("-1/2", "--shard must be K/N")]
    public void BadShardsAreRefused(string shard, string expected)
    {
        using var job = new BatchJob(Good);
        var (code, _, err) = job.Run("--shard", shard);
        Assert.Equal(1, code);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void ResultsOfAnotherJobAreRefusedNotOverwritten()
    {
        using var job = new BatchJob(Good);
        string foreign = """{"id":"other","answer":"x"}""" + "\n";
        File.WriteAllText(job.Results, foreign);
        var (code, _, err) = job.Run();
        Assert.Equal(1, code);
        Assert.Contains("line 1: id 'other' is not a request of this job", err);
        File.WriteAllText(job.Results, "hello\n");
        Assert.Contains("results.jsonl line 1: not a result line", job.Run().Err);
        File.Copy(job.Requests, job.Results, overwrite: true); // the requests are not results
        Assert.Contains("results.jsonl line 1: not a result line (it has neither 'answer' nor 'error')", job.Run().Err);
        Assert.Contains("is the requests file", CliRunner.Run("batch", "--model", BatchJob.Tiny, "--in", job.Requests, "--out", job.Requests).Err);
        File.WriteAllText(job.Results, "hello\n");
        Assert.Contains("results.jsonl line 1: not a result line", job.Run().Err);
        File.WriteAllText(job.Results, """{"id":"ok","answer":"x"}""" + "\n" + """{"id":"ok","answer":"y"}""" + "\n");
        Assert.Contains("line 2: id 'ok' has a second result line", job.Run().Err);
        Assert.Equal(2, File.ReadAllLines(job.Results).Length);
    }

    [Fact]
    public void TapsWithoutTraceOrMatchingNothingAreRefused()
    {
        using var job = new BatchJob(Good);
        Assert.Contains("--taps needs --trace DIR", job.Run("--taps", "llm.*").Err);
        Assert.Contains("--taps 'lm.*' matches no tap name", job.Run("--trace", Path.Combine(job.Dir, "t"), "--taps", "lm.*").Err);
    }

    [Fact]
    public void ASecondProcessOnTheSameResultsFileIsRefused()
    {
        using var job = new BatchJob(Good);
        var ids = new HashSet<string> { "ok" };
        using var first = ResultsFile.Open(job.Results, ids);
        var e = Assert.Throws<IxcException>(() => ResultsFile.Open(job.Results, ids));
        Assert.Contains("another batch process may be using it", e.Message);
    }
}
