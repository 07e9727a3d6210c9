using System.Diagnostics;
using IXC25.Runtime;

namespace IXC25.Cli.Tests;

/// <summary>
/// Ctrl-C and SIGTERM on a real ixc25 process while it runs a child (issue 15): a fake child (a shell script that
/// starts a sleeping grandchild and waits) stands for ffprobe or a conformance port; the signal ends the whole tree,
/// the CLI prints one line and exits 130 / 143, and no output file is left.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class InterruptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-interrupt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PidFile => Path.Combine(_dir, "grandchild.pid");

    /// <summary>A child that starts a grandchild (sleep), writes its pid and waits for it.</summary>
    private string FakeChild(string name)
    {
        string bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        string path = Path.Combine(bin, name);
        File.WriteAllText(path, $"#!/bin/sh\nsleep 300 &\necho $! > '{PidFile}'\nwait\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    [Theory]
    [InlineData("video", "INT", 130, "Ctrl-C (SIGINT)")]
    [InlineData("video", "TERM", 143, "SIGTERM")]
    [InlineData("port", "INT", 130, "Ctrl-C (SIGINT)")]
    [InlineData("port", "TERM", 143, "SIGTERM")]
    public async Task TheSignalEndsTheChildsWholeTreeWithOneLine(string kind, string signal, int exitCode, string named)
    {
        string outDir = Directory.CreateDirectory(Path.Combine(_dir, "out")).FullName;
        // the child's SIGINT disposition is reset: a test host started in the background of a shell ignores SIGINT
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in (string[])["--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "ixc25.dll")]) psi.ArgumentList.Add(a);
        if (kind == "video")
        {
            string fake = FakeChild("ffprobe");
            psi.Environment["PATH"] = Path.GetDirectoryName(fake) + ":" + Environment.GetEnvironmentVariable("PATH");
            foreach (var a in (string[])["preprocess", RepoLayout.Path("golden", "vision", "media", "video_long.mp4"), "--video", "--out", Path.Combine(outDir, "x.safetensors")])
                psi.ArgumentList.Add(a);
        }
        else
        {
            string fake = FakeChild("port.sh");
            foreach (var a in (string[])["conform", "--port", $"'{fake}'", "--out", outDir]) psi.ArgumentList.Add(a);
        }
        using var cli = Process.Start(psi)!;
        var stderr = cli.StandardError.ReadToEndAsync();
        var stdout = cli.StandardOutput.ReadToEndAsync();
        var sw = Stopwatch.StartNew();
        while (!(File.Exists(PidFile) && File.ReadAllText(PidFile).Trim().Length > 0))
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60) && !cli.HasExited, "the fake child never started: " + (cli.HasExited ? await stderr : "timeout"));
            await Task.Delay(100);
        }
        var tree = Descendants(cli.Id);
        int grandchild = int.Parse(File.ReadAllText(PidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(grandchild, tree);

        using (var kill = Process.Start("kill", ["-" + signal, cli.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await cli.WaitForExitAsync(limit.Token);
        Assert.Equal(exitCode, cli.ExitCode);
        string err = await stderr;
        string line = Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"ixc25: interrupted by {named}; ended the child process and every process it started", line);
        Assert.Equal("", await stdout);
        var alive = tree.Where(Alive).ToList();
        Assert.True(alive.Count == 0, "processes of the tree still running: " + string.Join(", ", alive));
        Assert.Empty(Directory.EnumerateFileSystemEntries(outDir));
    }

    /// <summary>Every process below <paramref name="root"/> (from /proc's parent links).</summary>
    private static List<int> Descendants(int root)
    {
        var parent = new Dictionary<int, int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(d, "stat"));
                var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parent[pid] = int.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException) { }
        }
        var found = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.Count > 0)
        {
            int p = queue.Dequeue();
            foreach (var (child, par) in parent)
                if (par == p) { found.Add(child); queue.Enqueue(child); }
        }
        return found;
    }

    /// <summary>Running (a zombie has ended and only waits to be reaped).</summary>
    private static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] != 'Z';
        }
        catch (IOException) { return false; }
    }
}
