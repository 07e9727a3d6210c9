using System.CommandLine;
using System.Globalization;
using IXC25.Cli.Batch;
using IXC25.Generation.Chat;
using IXC25.Runtime;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 batch --model DIR --in requests.jsonl --out results.jsonl [--shard K/N] [--trace DIR]`: one chat
/// request per line in, one result line per request out (docs/BATCH.md). The whole requests file is
/// validated before the model loads; results are appended and synced line by line, so a rerun after a kill
/// skips what is done and loses at most the request that was running. Exit status: 0 every request of the
/// shard has a result and none is an error; 3 every request has one but some are error results; 1 bad input;
/// 130 interrupted (Ctrl-C: the request being run is dropped, rerun to continue).
/// </summary>
internal static class BatchCommand
{
    public const int ExitErrorResults = 3;

    public static Command Create()
    {
        var o = new ModelOptionSet();
        var input = new Option<FileInfo>("--in") { Description = "requests: one JSON object per line (docs/BATCH.md); media paths relative to this file", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "results: one JSON line per request, appended; a rerun skips the ids it holds", Required = true };
        var shard = new Option<string?>("--shard") { Description = "K/N: run only the requests whose 0-based index is K modulo N (for array jobs)" };
        var trace = new Option<DirectoryInfo?>("--trace") { Description = "also write each request's prefill taps to DIR/<id>/trace.safetensors (as 'ixc25 trace')" };
        var taps = new Option<string[]>("--taps") { Description = "with --trace: glob of tap names to keep (repeatable; default: all)" };
        var retry = new Option<bool>("--retry-errors") { Description = "remove the error results from --out first, so that those requests run again" };
        var check = new Option<bool>("--check") { Description = "validate the requests and report what --out holds and what is left; run nothing, change nothing" };
        var cmd = new Command("batch", "Answer a file of chat requests (JSON lines) into a results file: resumable, crash-safe, shardable for array jobs (docs/BATCH.md).")
        {
            input, output, shard, trace, taps, retry, check,
        };
        o.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var err = r.InvocationConfiguration.Error;
            string inPath = r.GetValue(input)!.FullName, outPath = r.GetValue(output)!.FullName;
            if (string.Equals(inPath, outPath, StringComparison.Ordinal)) throw new IxcException($"--out {outPath}: is the requests file (give the results their own file)");
            var requests = BatchRequestReader.Read(inPath);
            var sh = ShardSpec.Parse(r.GetValue(shard));
            var mine = requests.Where(q => sh.Takes(q.Index)).ToList();
            var globs = r.GetValue(taps) is { Length: > 0 } g ? g : ["*"];
            string? traceDir = r.GetValue(trace)?.FullName;
            if (traceDir is not null) BatchRunner.CheckGlobs(globs);
            else if (r.GetValue(taps) is { Length: > 0 }) throw new IxcException("--taps needs --trace DIR");
            string shardText = sh.N == 1 ? "" : $"; shard {sh}: {mine.Count} of them";
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch: {requests.Count} requests in {inPath}{shardText}"));
            var ids = requests.Select(q => q.Id).ToHashSet(StringComparer.Ordinal);
            if (r.GetValue(check)) return Check(err, outPath, ids, mine);

            using var results = ResultsFile.Open(outPath, ids, r.GetValue(retry));
            if (results.RepairedBytes > 0) err.WriteLine($"batch: {outPath}: cut a torn last line of {results.RepairedBytes} bytes (left by a killed run; its request runs again)");
            if (results.DroppedErrors > 0) err.WriteLine($"batch: {outPath}: removed {results.DroppedErrors} error results to run them again");
            var todo = mine.Where(q => !results.IsDone(q.Id)).ToList();
            err.WriteLine($"batch: {mine.Count - todo.Count} already in {outPath}, {todo.Count} to run");
            if (todo.Count > 0)
            {
                if (traceDir is not null)
                {
                    if (File.Exists(traceDir)) throw new IxcException($"--trace {traceDir}: is a file (expected a folder)");
                    Directory.CreateDirectory(traceDir);
                }
                using var model = o.Open(r, err);
                using var engine = ChatEngine.FromModel(model);
                var runner = new BatchRunner(engine, traceDir, globs);
                bool terminal = ReferenceEquals(err, Console.Error) && !Console.IsErrorRedirected;
                var progress = new BatchProgress(err, terminal, mine.Count, mine.Count - todo.Count);
                using var cts = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
                Console.CancelKeyPress += onCancel;
                try
                {
                    foreach (var q in todo)
                    {
                        progress.Starting(q.Id);
                        var outcome = runner.Run(q, cts.Token);
                        if (outcome.Json is not null)
                        {
                            results.Append(q.Id, outcome.Json, outcome.Error is not null);
                            progress.Finished(q.Id, outcome.Took, outcome.Error);
                        }
                        if (cts.IsCancellationRequested)
                        {
                            progress.Complete();
                            string dropped = outcome.Json is null ? $"'{q.Id}' was not finished; " : "";
                            err.WriteLine($"batch: interrupted; {dropped}{progress.Done} of {mine.Count} done; rerun the same command to continue");
                            return 130;
                        }
                    }
                    progress.Complete();
                }
                finally { Console.CancelKeyPress -= onCancel; }
            }
            int errors = mine.Count(q => results.IsError(q.Id));
            err.WriteLine(errors == 0
                ? $"batch: all {mine.Count} results in {outPath}"
                : $"batch: all {mine.Count} results in {outPath}, {errors} of them errors (fix their input and rerun with --retry-errors)");
            return errors == 0 ? 0 : ExitErrorResults;
        });
        return cmd;
    }

    /// <summary>--check: what the results file holds for this shard; reads it without changing it.</summary>
    private static int Check(TextWriter err, string outPath, IReadOnlySet<string> ids, List<BatchRequest> mine)
    {
        if (!File.Exists(outPath))
        {
            err.WriteLine($"batch: requests valid; {outPath} does not exist yet: {mine.Count} to run");
            return 0;
        }
        var (done, torn) = ResultsFile.Inspect(outPath, ids);
        int have = mine.Count(q => done.ContainsKey(q.Id)), errors = mine.Count(q => done.TryGetValue(q.Id, out bool e) && e);
        string tornText = torn > 0 ? $"; a torn last line of {torn} bytes (a run cuts it)" : "";
        err.WriteLine($"batch: requests valid; {outPath}: {have} of {mine.Count} done ({errors} errors), {mine.Count - have} to run{tornText}");
        return 0;
    }
}
