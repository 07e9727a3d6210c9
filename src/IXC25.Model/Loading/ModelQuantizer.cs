using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Processes;
using IXC25.Runtime.Quant;

namespace IXC25.Model.Loading;

/// <summary>
/// <c>ixc25 quantize</c>: writes a quantized copy of a model folder that every command loads (spec/quant.json
/// "checkpoint", docs/QUANT.md). The source is validated against the spec first; each linear weight that
/// <see cref="QuantLayout.Quantizable"/> picks is stored as its blocks, every other tensor byte for byte; config.json
/// gets the "quantization" entry; the other top-level files (tokenizer, code, readme) are copied. Everything is
/// written into a hidden temporary folder beside the destination and renamed into place at the end, so a failure or
/// an interrupt leaves no half checkpoint (an interrupt deletes the temporary folder; a killed run's folder is
/// removed by the next run to the same destination).
/// </summary>
public static class ModelQuantizer
{
    /// <summary>Quantizes <paramref name="model"/> into <paramref name="output"/>; returns what was written.</summary>
    /// <param name="force">Replace an existing non-empty <paramref name="output"/> (else refused).</param>
    public static QuantizeSummary Run(string model, string output, QuantFormat format, bool force, CheckpointFormat form, TextWriter progress, CancellationToken cancel = default)
    {
        string src = Path.GetFullPath(model).TrimEnd(Path.DirectorySeparatorChar);
        string dest = Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar);
        CheckDestination(src, dest, force);
        using var dir = ModelDirectory.Open(src, form);
        if (dir.Quantization is { } q)
            throw new IxcException($"{src}: is already a {q}-quantized checkpoint (quantize the original checkpoint)");
        var weights = dir.BindWeights();   // the whole checkpoint against the spec, before anything is written
        var keys = weights.LinearWeights().Where(t => QuantLayout.Quantizable(t.Name, t.Shape)).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

        string parent = Path.GetDirectoryName(dest)!, name = Path.GetFileName(dest);
        RemoveStale(parent, name);
        string tmp = Path.Combine(parent, string.Create(CultureInfo.InvariantCulture, $".{name}.quantize-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp"));
        using var tracked = Interrupts.TrackTempFile(tmp);
        try
        {
            Directory.CreateDirectory(tmp);
            var sw = Stopwatch.StartNew();
            progress.WriteLine($"quantize {src} -> {dest} ({format}, {keys.Count} of {weights.LinearWeights().Count()} linear weights; the rest as stored)");
            var summary = CheckpointQuantizer.Write(dir.Checkpoint, tmp, format, keys, progress, cancel);
            WriteConfig(Path.Combine(src, "config.json"), Path.Combine(tmp, "config.json"), format);
            CopyOtherFiles(src, tmp, progress);
            cancel.ThrowIfCancellationRequested();
            MoveIntoPlace(tmp, dest);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {dest} in {sw.Elapsed.TotalSeconds:0.0} s: {summary.Quantized} weights {format} ({MemoryEstimate.Size(summary.QuantizedSourceBytes)} -> {MemoryEstimate.Size(summary.QuantizedBytes)}), {summary.Copied} tensors as stored ({MemoryEstimate.Size(summary.CopiedBytes)}), {summary.Files.Count} files"));
            return summary;
        }
        catch
        {
            TryDeleteFolder(tmp);
            throw;
        }
    }

    /// <summary>Refuses a destination that is the source or holds it, a file, a missing parent, or (without --force) a non-empty folder.</summary>
    private static void CheckDestination(string src, string dest, bool force)
    {
        static bool Within(string path, string folder) => path == folder || path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        if (Within(src, dest)) throw new IxcException($"{dest}: --out is the model folder or holds it (write the quantized checkpoint elsewhere)");
        string? parent = Path.GetDirectoryName(dest);
        if (parent is null || !Directory.Exists(parent)) throw new IxcException($"{dest}: directory '{parent}' does not exist");
        if (File.Exists(dest)) throw new IxcException($"{dest}: is a file (--out names a folder)");
        if (Directory.Exists(dest) && Directory.EnumerateFileSystemEntries(dest).Any() && !force)
            throw new IxcException($"{dest}: exists and is not empty (--force replaces it)");
    }

    /// <summary>config.json as it is, with the "quantization" entry (replaced if present).</summary>
    private static void WriteConfig(string from, string to, QuantFormat format)
    {
        var config = JsonNode.Parse(File.ReadAllBytes(from))!.AsObject();
        config[QuantLayout.ConfigKey] = QuantLayout.ConfigEntry(format);
        File.WriteAllText(to, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Whether a top-level file of a model folder is checkpoint data or its index (never copied).</summary>
    public static bool IsCheckpointFile(string fileName) =>
        fileName.EndsWith(".safetensors", StringComparison.Ordinal) || fileName.EndsWith(".index.json", StringComparison.Ordinal)
        || (fileName.StartsWith("pytorch_model", StringComparison.Ordinal) && fileName.EndsWith(".bin", StringComparison.Ordinal));

    /// <summary>Copies the top-level files other than config.json and the checkpoint (tokenizer.model, code, readme); sub-folders are named, not copied.</summary>
    private static void CopyOtherFiles(string src, string tmp, TextWriter progress)
    {
        foreach (var f in Directory.EnumerateFiles(src).Order(StringComparer.Ordinal))
        {
            string n = Path.GetFileName(f);
            if (n == "config.json" || IsCheckpointFile(n)) continue;
            File.Copy(f, Path.Combine(tmp, n));
        }
        var folders = Directory.EnumerateDirectories(src).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        if (folders.Count > 0) progress.WriteLine($"not copied (sub-folders): {string.Join(", ", folders)}");
    }

    /// <summary>Renames the finished folder to <paramref name="dest"/>; an existing one (empty, or --force) is moved aside first and deleted after.</summary>
    private static void MoveIntoPlace(string tmp, string dest)
    {
        string? old = null;
        try
        {
            if (Directory.Exists(dest))
            {
                old = Path.Combine(Path.GetDirectoryName(dest)!, $".{Path.GetFileName(dest)}.replaced-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
                Directory.Move(dest, old);
            }
            Directory.Move(tmp, dest);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (old is not null && !Directory.Exists(dest)) try { Directory.Move(old, dest); } catch (IOException) { }
            throw new IxcException($"{dest}: cannot move the quantized checkpoint into place: {e.Message}", e);
        }
        if (old is not null) TryDeleteFolder(old);
    }

    /// <summary>Deletes temporary folders of earlier runs to the same destination whose process is gone (a kill -9). A folder
    /// moved aside by a --force run killed between its two renames is left alone (it may be the only copy).</summary>
    private static void RemoveStale(string parent, string name)
    {
        foreach (var d in Directory.EnumerateDirectories(parent, $".{name}.*.tmp"))
        {
            var parts = Path.GetFileName(d)[(name.Length + 2)..].Split('-');
            if (parts.Length < 3 || parts[0] != "quantize" || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid != Environment.ProcessId && !Alive(pid)) TryDeleteFolder(d);
        }
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static void TryDeleteFolder(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
