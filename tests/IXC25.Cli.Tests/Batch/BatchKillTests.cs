using Xunit.Abstractions;
using System.Diagnostics;

namespace IXC25.Cli.Tests.Batch;

/// <summary>
/// The crash-safety promise of `ixc25 batch`: the batch process is killed with SIGKILL at random moments
/// several times and rerun until it finishes; the results file then has exactly one line per request,
/// equal (timings aside) and in the same order to an uninterrupted run's.
/// </summary>
public class BatchKillTests(ITestOutputHelper output)
{
    /// <summary>Twelve requests: images, sampling, beam search, history, 30 to 35 new tokens each.</summary>
    private static string[] Requests() =>
    [
        .. BatchJob.SmallRequests(12).Select((r, i) => (i % 2 == 0
            ? r.Replace("\"question\"", $"\"images\":[\"cars1.jpg\"],\"hd_num\":{1 + i % 3},\"question\"")
            : r).Replace("\"max_new_tokens\":", "\"max_new_tokens\":3")),
    ];

    private static Process Batch(BatchJob job, string output) => CliProcess.Start(CliProcess.Dotnet,
        [CliProcess.Dll, "batch", "--model", BatchJob.Tiny, "--in", job.Requests, "--out", output, "--threads", "1"]);

    [Fact]
    public async Task KilledAtRandomMomentsAndRerunTheResultsEqualAnUninterruptedRun()
    {
        using var job = new BatchJob(Requests());
        int total = Requests().Length;
        string reference = Path.Combine(job.Dir, "reference.jsonl");
        var sw = Stopwatch.StartNew();
        var (code, err) = CliProcess.Run(CliProcess.Dotnet, [CliProcess.Dll, "batch", "--model", BatchJob.Tiny, "--in", job.Requests, "--out", reference, "--threads", "1"]);
        Assert.True(code == 0, err);
        long referenceMs = sw.ElapsedMilliseconds;

        int seed = Environment.TickCount;
        var rng = new Random(seed);
        int kills = 0, runs = 0;
        var log = new List<string>();
        while (true)
        {
            runs++;
            Assert.True(runs < 30, $"seed {seed}: no end after {runs} runs; {string.Join("; ", log)}");
            int before = CountLines(job.Results);
            using var p = Batch(job, job.Results);
            var stderr = p.StandardError.ReadToEndAsync();
            if (kills < 5)
            {
                // a random moment of what is left. Odd runs: wait for a random number of further result lines (0:
                // during start-up), then up to 300 ms more (inside a request, or while a line is written). Even runs:
                // a random moment of the uninterrupted run's duration, which a loaded machine cannot outrun (under
                // load the 5 ms polls of the first way come late and the batch may finish before every kill)
                int target = before + rng.Next(0, total - before);
                bool byTime = runs % 2 == 0;
                if (!byTime)
                    while (!p.HasExited && CountLines(job.Results) < target) await Task.Delay(5);
                int extra = byTime ? rng.Next(0, (int)Math.Max(1, referenceMs)) : rng.Next(0, 300);
                if (!p.WaitForExit(extra))
                {
                    p.Kill(); // SIGKILL
                    await p.WaitForExitAsync();
                    kills++;
                    var torn = new FileInfo(job.Results) is { Exists: true } f && f.Length > 0 && File.ReadAllBytes(job.Results)[^1] != (byte)'\n' ? ", a torn line" : "";
                    log.Add(byTime ? $"killed {extra} ms after start: {before} -> {CountLines(job.Results)} lines{torn}" : $"killed {extra} ms after line {target}: {before} -> {CountLines(job.Results)} lines{torn}");
                    AssertOnlyWholeLinesAndATornTail(job.Results);
                    continue;
                }
            }
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)), $"seed {seed}: batch hung");
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"seed {seed}: exit {p.ExitCode}: {await stderr}");
            log.Add($"finished from {before} lines");
            if (kills >= 3) break;
            // finished before enough kills: start again from a fresh results file
            File.Delete(job.Results);
        }
        output.WriteLine($"seed {seed}, uninterrupted run {referenceMs} ms: {string.Join("; ", log)}");
        var lines = BatchJob.Lines(job.Results);
        Assert.Equal(total, lines.Count);
        Assert.True(BatchJob.Lines(reference).SequenceEqual(lines), $"seed {seed}: {string.Join("; ", log)}");
    }

    private static int CountLines(string path)
    {
        try { return File.Exists(path) ? File.ReadAllBytes(path).Count(b => b == (byte)'\n') : 0; }
        catch (IOException) { return 0; }
    }

    /// <summary>What a kill may leave: complete result lines, then at most a part of one (cut by the next run).</summary>
    private static void AssertOnlyWholeLinesAndATornTail(string path)
    {
        if (!File.Exists(path)) return;
        var bytes = File.ReadAllBytes(path);
        int complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        foreach (var line in System.Text.Encoding.UTF8.GetString(bytes, 0, complete).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            Assert.NotNull(System.Text.Json.Nodes.JsonNode.Parse(line)!["id"]);
    }
}
