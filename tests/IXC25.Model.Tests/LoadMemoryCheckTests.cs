using IXC25.Backends;
using IXC25.Model.Inference;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Tests;

/// <summary>
/// The load-time RAM guard (issue 15): a checkpoint whose estimate (weights as stored + KV cache for the
/// requested context + work) exceeds the available memory is refused before it is opened, with both numbers and
/// the override flag; the available memory comes from a fake probe here, and SystemMemoryProbe reads fake
/// /proc and cgroup files.
/// </summary>
public sealed class LoadMemoryCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-memcheck-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static long ShardBytes => Directory.EnumerateFiles(TinyCheckpoint.Safetensors, "*.safetensors").Sum(f => new FileInfo(f).Length);

    [Fact]
    public void TheEstimateIsTheShardFilesPlusTheKvCacheOfTheContext()
    {
        using var dir = ModelDirectory.Open(TinyCheckpoint.Safetensors);
        var d = dir.Dims;
        var e = LoadMemoryCheck.Estimate(dir, new ModelOptions());
        Assert.Equal(ShardBytes, e.WeightBytes);
        Assert.Equal(16384, e.ContextTokens);   // the checkpoint's max_length (below --max-context's default)
        Assert.Equal(2L * d.L * d.HKV * d.D * 4 * 16384, e.KvBytes);
        Assert.Equal(1000, LoadMemoryCheck.Estimate(dir, new ModelOptions(MaxContext: 1000)).ContextTokens);
        var asked = LoadMemoryCheck.Estimate(dir, new ModelOptions(LoadContext: 100_000, KvDType: DType.BF16));
        Assert.Equal(2L * d.L * d.HKV * d.D * 2 * 100_000, asked.KvBytes);
    }

    [Fact]
    public void TooLittleMemoryIsRefusedWithBothNumbersAndTheFlag()
    {
        var options = new ModelOptions(Memory: new FixedMemoryProbe(3L << 20, "a test's 3 MiB"));
        var e = Assert.Throws<IxcException>(() => Ixc25Model.Open(TinyCheckpoint.Safetensors, options));
        using var dir = ModelDirectory.Open(TinyCheckpoint.Safetensors);
        string need = MemoryEstimate.Size(LoadMemoryCheck.Estimate(dir, options).Total);
        Assert.Contains($"needs about {need}", e.Message);
        Assert.Contains("but 3.0 MiB is available (a test's 3 MiB)", e.Message);
        Assert.Contains("--ignore-memory-check", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // enough memory, or the override: it loads
        using (Ixc25Model.Open(TinyCheckpoint.Safetensors, options with { Memory = new FixedMemoryProbe(1L << 30) })) { }
        using (Ixc25Model.Open(TinyCheckpoint.Safetensors, options with { IgnoreMemoryCheck = true })) { }
    }

    [Fact]
    public void TheCheckComesBeforeTheCheckpointIsOpened()
    {
        // the folder's shards are garbage of the right size: only opening them can tell
        foreach (var f in Directory.EnumerateFiles(TinyCheckpoint.Safetensors))
        {
            string to = Path.Combine(_dir, Path.GetFileName(f));
            if (f.EndsWith(".safetensors", StringComparison.Ordinal)) File.WriteAllBytes(to, new byte[new FileInfo(f).Length]);
            else File.Copy(f, to);
        }
        var small = new ModelOptions(Memory: new FixedMemoryProbe(1L << 20));
        Assert.Contains("is available", Assert.Throws<IxcException>(() => Ixc25Model.Open(_dir, small)).Message);
        var opened = Assert.Throws<IxcException>(() => Ixc25Model.Open(_dir, small with { IgnoreMemoryCheck = true })).Message;
        Assert.DoesNotContain("is available", opened);
        Assert.Contains(".safetensors", opened);
    }

    [Fact]
    public void SystemMemoryIsTheLeastOfMemAvailableAndTheCgroupLimits()
    {
        string proc = Path.Combine(_dir, "proc"), cg = Path.Combine(_dir, "cgroup");
        Directory.CreateDirectory(Path.Combine(proc, "self"));
        File.WriteAllText(Path.Combine(proc, "meminfo"), "MemTotal:       24683748 kB\nMemFree:         1000 kB\nMemAvailable:    8000000 kB\n");
        File.WriteAllText(Path.Combine(proc, "self", "cgroup"), "0::/\n");
        var probe = new SystemMemoryProbe(proc, cg);
        Assert.Equal(new MemoryAvailability(8000000L * 1024, "MemAvailable in /proc/meminfo"), probe.Available());

        // cgroup v2: the process's group has no limit ("max"), its parent 2 GiB of which 1.5 GiB used, 0.5 GiB reclaimable
        File.WriteAllText(Path.Combine(proc, "self", "cgroup"), "0::/a/b\n");
        Directory.CreateDirectory(Path.Combine(cg, "a", "b"));
        File.WriteAllText(Path.Combine(cg, "a", "b", "memory.max"), "max\n");
        File.WriteAllText(Path.Combine(cg, "a", "memory.max"), $"{2L << 30}\n");
        File.WriteAllText(Path.Combine(cg, "a", "memory.current"), $"{3L << 29}\n");
        File.WriteAllText(Path.Combine(cg, "a", "memory.stat"), $"anon 1\ninactive_file {1L << 29}\nactive_file 3\n");
        var v2 = probe.Available();
        Assert.Equal(1L << 30, v2.Bytes);
        Assert.Contains(Path.Combine(cg, "a"), v2.Source);

        // cgroup v1: memory.limit_in_bytes; "no limit" is a huge number
        File.WriteAllText(Path.Combine(proc, "self", "cgroup"), "5:devices:/\n4:memory:/job\n0::/\n");
        Directory.CreateDirectory(Path.Combine(cg, "memory", "job"));
        File.WriteAllText(Path.Combine(cg, "memory", "memory.limit_in_bytes"), "9223372036854771712\n");
        File.WriteAllText(Path.Combine(cg, "memory", "job", "memory.limit_in_bytes"), $"{1L << 30}\n");
        File.WriteAllText(Path.Combine(cg, "memory", "job", "memory.usage_in_bytes"), $"{1L << 29}\n");
        Assert.Equal(1L << 29, probe.Available().Bytes);

        // nothing readable: the runtime's figure
        var none = new SystemMemoryProbe(Path.Combine(_dir, "nothing"), Path.Combine(_dir, "nothing")).Available();
        Assert.Equal(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, none.Bytes);
    }

    [Fact]
    public void ThisMachineReportsSomething()
    {
        var a = SystemMemoryProbe.Instance.Available();
        Assert.True(a.Bytes > 0 && a.Source.Length > 0, $"{a}");
    }
}
