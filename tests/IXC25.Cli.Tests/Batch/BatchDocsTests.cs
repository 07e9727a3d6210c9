using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IXC25.Runtime;
using YamlDotNet.RepresentationModel;

namespace IXC25.Cli.Tests.Batch;

/// <summary>
/// The scheduler files of docs/batch: the Kubernetes Indexed Job manifest (its fields) and the Slurm array
/// script, each run the way its scheduler would run it (the index variable set, in bash, on the tiny
/// checkpoint); the shards together must answer every request exactly once.
/// </summary>
public class BatchDocsTests
{
    private static YamlMappingNode Map(YamlNode n, string key) => (YamlMappingNode)n[key];
    private static string Scalar(YamlNode n, string key) => ((YamlScalarNode)n[key]).Value!;

    [Fact]
    public void TheIndexedJobManifestShardsByTheCompletionIndex()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(RepoLayout.Path("docs", "batch", "ixc25-job.yaml"))) yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        Assert.Equal("batch/v1", Scalar(root, "apiVersion"));
        Assert.Equal("Job", Scalar(root, "kind"));
        var spec = Map(root, "spec");
        Assert.Equal("Indexed", Scalar(spec, "completionMode"));
        int completions = int.Parse(Scalar(spec, "completions"), System.Globalization.CultureInfo.InvariantCulture);
        var pod = Map(Map(spec, "template"), "spec");
        Assert.Equal("Never", Scalar(pod, "restartPolicy")); // podFailurePolicy needs it
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children.Single();
        var rule = (YamlMappingNode)((YamlSequenceNode)Map(spec, "podFailurePolicy")["rules"]).Children.Single();
        Assert.Equal(Scalar(container, "name"), Scalar(Map(rule, "onExitCodes"), "containerName"));
        var env = ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>().ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));
        Assert.Equal(completions.ToString(System.Globalization.CultureInfo.InvariantCulture), env["SHARDS"]);
        var command = ((YamlSequenceNode)container["command"]).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        var args = ((YamlSequenceNode)container["args"]).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        Assert.Equal(["/bin/bash", "-c"], command);
        Assert.Contains("$JOB_COMPLETION_INDEX/$SHARDS", Assert.Single(args));

        using var job = new BatchJob(BatchJob.SmallRequests(2 * completions + 1));
        string results = Path.Combine(job.Dir, "results");
        string bin = CliProcess.ShimFolder(job.Dir);
        for (int k = 0; k < completions; k++)
        {
            var vars = new Dictionary<string, string>(env)
            {
                ["JOB_COMPLETION_INDEX"] = k.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["MODEL_DIR"] = BatchJob.Tiny, ["REQUESTS"] = job.Requests, ["RESULTS_DIR"] = results,
                ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
            };
            var (code, err) = CliProcess.Run(command[0], [.. command.Skip(1), .. args], vars);
            Assert.True(code == 0, $"index {k}: {err}");
        }
        AssertEveryRequestOnce(job, results, completions);
    }

    [Fact]
    public void TheSlurmArrayScriptShardsByTheTaskId()
    {
        string script = RepoLayout.Path("docs", "batch", "ixc25-array.sbatch");
        var array = Regex.Match(File.ReadAllText(script), @"^#SBATCH --array=(\d+)-(\d+)\s*$", RegexOptions.Multiline);
        Assert.True(array.Success, "#SBATCH --array=A-B");
        int first = int.Parse(array.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int last = int.Parse(array.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, first);
        int count = last - first + 1;

        using var job = new BatchJob(BatchJob.SmallRequests(2 * count + 1));
        string results = Path.Combine(job.Dir, "results");
        for (int id = first; id <= last; id++)
        {
            var (code, err) = CliProcess.Run("bash", [script], new Dictionary<string, string>
            {
                ["SLURM_ARRAY_TASK_ID"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["SLURM_ARRAY_TASK_COUNT"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["SLURM_ARRAY_TASK_MIN"] = first.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["SLURM_CPUS_PER_TASK"] = "1",
                ["IXC25"] = $"{CliProcess.Dotnet} {CliProcess.Dll}",
                ["MODEL_DIR"] = BatchJob.Tiny, ["REQUESTS"] = job.Requests, ["RESULTS_DIR"] = results,
            });
            Assert.True(code == 0, $"task {id}: {err}");
        }
        AssertEveryRequestOnce(job, results, count);

        // outside an array job it says so instead of running shard 0 of 1
        var (bad, message) = CliProcess.Run("bash", [script], new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "", ["RESULTS_DIR"] = results });
        Assert.NotEqual(0, bad);
        Assert.Contains("run this script with sbatch", message);
    }

    /// <summary>results-K.jsonl for K in 0..N-1: together one line per request; merged they pass `batch --check`.</summary>
    private static void AssertEveryRequestOnce(BatchJob job, string results, int shards)
    {
        var files = Enumerable.Range(0, shards).Select(k => Path.Combine(results, $"results-{k}.jsonl")).ToList();
        Assert.Equal(files.Order(), Directory.GetFiles(results).Order());
        var ids = files.SelectMany(File.ReadAllLines).Select(BatchJob.Id).ToList();
        var expected = File.ReadAllLines(job.Requests).Select(l => JsonNode.Parse(l)!["id"]!.GetValue<string>());
        Assert.Equal(expected.Order(), ids.Order()); // each exactly once
        File.WriteAllLines(job.Results, files.SelectMany(File.ReadAllLines)); // the merge of docs/BATCH.md
        var (code, _, err) = job.Run("--check");
        Assert.True(code == 0, err);
        Assert.Contains($"{ids.Count} of {ids.Count} done (0 errors), 0 to run", err);
    }
}
