using System.Diagnostics;
using System.Text.Json.Nodes;
using IXC25.Runtime;

namespace IXC25.Cli.Tests.Batch;

/// <summary>Shared helpers of the batch tests: a job folder, request files, result lines, the CLI as a child process.</summary>
internal sealed class BatchJob : IDisposable
{
    public static string Tiny => RepoLayout.Path("golden", "model", "tiny", "safetensors");

    public string Dir { get; } = Directory.CreateTempSubdirectory("ixc25-batch-").FullName;
    public string Requests => Path.Combine(Dir, "requests.jsonl");
    public string Results => Path.Combine(Dir, "results.jsonl");

    public BatchJob(params string[] lines)
    {
        File.Copy(RepoLayout.Path("golden", "media", "cars1.jpg"), Path.Combine(Dir, "cars1.jpg"));
        if (lines.Length > 0) File.WriteAllText(Requests, string.Join("\n", lines) + "\n");
    }

    /// <summary>Text-only requests of a few tokens: greedy, sampled with and without a seed, beam search, with history.</summary>
    public static string[] SmallRequests(int count) => [.. Enumerable.Range(0, count).Select(i => (i % 4) switch
    {
        0 => $$"""{"id":"r{{i}}","question":"Question number {{i}}","do_sample":false,"max_new_tokens":5}""",
        1 => $$"""{"id":"r{{i}}","question":"Tell me about {{i}}","max_new_tokens":4}""",
        2 => $$"""{"id":"r{{i}}","question":"Beams for {{i}}","do_sample":false,"num_beams":2,"max_new_tokens":3,"seed":{{i}}}""",
        _ => $$"""{"id":"r{{i}}","question":"And {{i}}?","history":[["first","answer"]],"temperature":0.7,"top_k":5,"max_new_tokens":4}""",
    })];

    public (int Code, string Out, string Err) Run(params string[] extra) =>
        CliRunner.Run(["batch", "--model", Tiny, "--in", Requests, "--out", Results, .. extra]);

    /// <summary>The result lines as JSON objects without their timings (which differ from run to run).</summary>
    public static List<string> Lines(string path) =>
        [.. File.ReadAllLines(path).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            o.Remove("timings");
            return o.ToJsonString();
        })];

    public static string Id(string line) => JsonNode.Parse(line)!["id"]!.GetValue<string>();

    public void Dispose()
    {
        try { Directory.Delete(Dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The ixc25 CLI as a separate process (for kill -9 and for the shell scripts of docs/batch).</summary>
internal static class CliProcess
{
    /// <summary>The CLI built beside the tests.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "ixc25.dll");

    /// <summary>The dotnet host running the tests.</summary>
    public static string Dotnet => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";

    public static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    /// <summary>Runs to the end (at most 5 minutes); returns the exit code and stderr.</summary>
    public static (int Code, string Err) Run(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        using var p = Start(file, args, env);
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)} ran past 5 minutes"); }
        p.WaitForExit();
        return (p.ExitCode, output.Result + err.Result);
    }

    /// <summary>A folder with an `ixc25` script that runs the CLI built beside the tests (what PATH finds in the manifests).</summary>
    public static string ShimFolder(string dir)
    {
        string bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
        string shim = Path.Combine(bin, "ixc25");
        File.WriteAllText(shim, $"#!/bin/sh\nexec \"{Dotnet}\" \"{Dll}\" \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return bin;
    }
}
