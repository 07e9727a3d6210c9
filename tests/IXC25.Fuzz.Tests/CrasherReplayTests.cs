using System.Diagnostics;
using IXC25.Fuzz.Targets;
using IXC25.Runtime;

namespace IXC25.Fuzz.Tests;

/// <summary>
/// Every file under tests/fuzz/corpus/TARGET/ and tests/fuzz/crashers/TARGET/ goes through its target
/// (IXC25.Fuzz.Targets) and must keep the contract: a result or an IxcException with a message, within
/// <see cref="PerFileLimit"/> and the target's allocation budget (measured in a process warmed on the target's
/// seeds, as under the fuzzer: <see cref="FuzzTargets.Warm"/>). Crashers a campaign found that are not fixed yet wait in
/// tests/fuzz/crashers-open/TARGET/, which this test does not read (tests/fuzz/README.md).
/// A missing target folder is fine.
/// </summary>
public class CrasherReplayTests
{
    /// <summary>Generous against the campaign's -t 5000 on a shared 2-core machine; a hang still fails.</summary>
    private static readonly TimeSpan PerFileLimit = TimeSpan.FromSeconds(30);

    private static string FuzzDir => RepoLayout.Path("tests", "fuzz");

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void CorpusKeepsTheContract(string target) => Replay(target, "corpus");

    [Theory]
    [MemberData(nameof(Targets))]
    public void CrashersKeepTheContract(string target) => Replay(target, "crashers");

    [Fact]
    public void EveryFolderNamesATarget()
    {
        foreach (var kind in (string[])["corpus", "crashers", "crashers-open"])
        {
            string dir = Path.Combine(FuzzDir, kind);
            if (!Directory.Exists(dir)) continue;
            foreach (var sub in Directory.EnumerateDirectories(dir))
                Assert.True(FuzzTargets.Find(Path.GetFileName(sub)) is not null, $"{sub}: no fuzz target of that name");
        }
    }

    [Fact]
    public void EveryTargetHasASeedCorpus()
    {
        foreach (var t in FuzzTargets.All)
            Assert.True(Directory.EnumerateFiles(Path.Combine(FuzzDir, "corpus", t.Name)).Any(), $"no seeds for {t.Name}");
    }

    [Fact]
    public void EveryTargetIsWired()
    {
        // scripts/fuzz.sh accepts exactly the registered targets, and the README's table has a row for each
        string script = File.ReadAllText(RepoLayout.Path("scripts", "fuzz.sh"));
        var listed = System.Text.RegularExpressions.Regex.Match(script, "^targets=\"([^\"]*)\"", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(listed.Success, "scripts/fuzz.sh: no targets=\"...\" line");
        Assert.Equal(FuzzTargets.All.Select(t => t.Name).Order(StringComparer.Ordinal),
            listed.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        string readme = File.ReadAllText(Path.Combine(FuzzDir, "README.md"));
        foreach (var t in FuzzTargets.All)
            Assert.True(readme.Contains($"| `{t.Name}` |", StringComparison.Ordinal), $"tests/fuzz/README.md: no row for the target {t.Name}");
    }

    [Fact]
    public void ABrokenContractIsNotSwallowed()
    {
        // the contract check itself: an IxcException is a verdict, anything else escapes
        Assert.Equal("refused", FuzzTargets.Run(new Throwing(new IxcException("refused")), []));
        Assert.Throws<IndexOutOfRangeException>(() => FuzzTargets.Run(new Throwing(new IndexOutOfRangeException()), []));
        Assert.Throws<InvalidOperationException>(() => FuzzTargets.Run(new Throwing(new IxcException(" ")), []));
    }

    [Fact]
    public void TwoPartInputsSplitAtTheSeparatorElseInTheMiddle()
    {
        var (a, b) = TwoParts.Split(TwoParts.Join("ab"u8, "cde"u8));
        Assert.Equal("ab"u8.ToArray(), a);
        Assert.Equal("cde"u8.ToArray(), b);
        (a, b) = TwoParts.Split("abcd"u8);
        Assert.Equal("ab"u8.ToArray(), a);
        Assert.Equal("cd"u8.ToArray(), b);
    }

    private static void Replay(string targetName, string kind)
    {
        var target = FuzzTargets.Find(targetName)!;
        string dir = Path.Combine(FuzzDir, kind, targetName);
        if (!Directory.Exists(dir)) return;
        FuzzTargets.Warm(target, Directory.EnumerateFiles(Path.Combine(FuzzDir, "corpus", targetName)).Select(File.ReadAllBytes));
        var broken = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            var sw = Stopwatch.StartNew();
            try { FuzzTargets.Run(target, File.ReadAllBytes(file)); }
            catch (Exception e) { broken.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}"); continue; }
            if (sw.Elapsed > PerFileLimit) broken.Add($"{Path.GetFileName(file)}: took {sw.Elapsed.TotalSeconds:F1} s (limit {PerFileLimit.TotalSeconds} s)");
        }
        Assert.True(broken.Count == 0, $"{kind}/{targetName}: {broken.Count} file(s) break the contract:\n" + string.Join("\n", broken));
    }

    private sealed class Throwing(Exception e) : IFuzzTarget
    {
        public string Name => "throwing";
        public string Description => "throws";
        public AllocationBudget Budget { get; } = new(1 << 20, 0);
        public void Execute(ReadOnlySpan<byte> data) => throw e;
    }
}
