using System.Globalization;

namespace IXC25.Model.Loading;

/// <summary>Memory this process can still take, and where the number comes from (for the refusal message).</summary>
public sealed record MemoryAvailability(long Bytes, string Source);

/// <summary>Where the load-time memory check learns what is available (a fixed source in tests).</summary>
public interface IMemoryProbe
{
    MemoryAvailability Available();
}

/// <summary>
/// This machine's available memory: the smallest of <c>MemAvailable</c> in /proc/meminfo and, for each memory
/// cgroup from the process's own up to the root (v2 <c>memory.max</c>, v1 <c>memory.limit_in_bytes</c>), its limit
/// minus what it uses that cannot be reclaimed (usage less inactive file pages). Where none of these can be read
/// (not Linux), the runtime's <see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>. The roots are parameters so
/// that tests read fake files.
/// </summary>
public sealed class SystemMemoryProbe(string procRoot = "/proc", string cgroupRoot = "/sys/fs/cgroup") : IMemoryProbe
{
    public static SystemMemoryProbe Instance { get; } = new();

    /// <summary>v1 reports "no limit" as a huge page-aligned number (2^63 rounded down to a page).</summary>
    private const long NoLimit = 1L << 62;

    public MemoryAvailability Available()
    {
        var found = new List<MemoryAvailability>();
        if (MemInfoAvailable() is { } m) found.Add(new(m, "MemAvailable in /proc/meminfo"));
        found.AddRange(CgroupLimits());
        if (found.Count == 0)
            return new(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, "the runtime's total available memory");
        var least = found.MinBy(a => a.Bytes)!;
        return least with { Bytes = Math.Max(0, least.Bytes) };
    }

    private long? MemInfoAvailable()
    {
        foreach (var line in ReadLines(Path.Combine(procRoot, "meminfo")))
        {
            if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
            var parts = line["MemAvailable:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kb) && kb < long.MaxValue / 1024)
                return kb * 1024;
        }
        return null;
    }

    private IEnumerable<MemoryAvailability> CgroupLimits()
    {
        foreach (var line in ReadLines(Path.Combine(procRoot, "self", "cgroup")))
        {
            // "ID:CONTROLLERS:PATH": v2 is "0::/path", v1 names "memory" among its controllers
            var parts = line.Split(':', 3);
            if (parts.Length != 3 || !parts[2].StartsWith('/')) continue;
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                foreach (var dir in Ancestors(cgroupRoot, parts[2]))
                    if (Limit(dir, "memory.max", "memory.current", "inactive_file") is { } a) yield return a;
            }
            else if (parts[1].Split(',').Contains("memory"))
            {
                foreach (var dir in Ancestors(Path.Combine(cgroupRoot, "memory"), parts[2]))
                    if (Limit(dir, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file") is { } a) yield return a;
            }
        }
    }

    /// <summary>The cgroup folder of <paramref name="path"/> under <paramref name="mount"/> and each parent up to the mount (those that exist).</summary>
    private static IEnumerable<string> Ancestors(string mount, string path)
    {
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s is not ("." or "..")).ToList();
        for (int n = segments.Count; n >= 0; n--)
        {
            string dir = Path.Combine([mount, .. segments.Take(n)]);
            if (Directory.Exists(dir)) yield return dir;
        }
    }

    private static MemoryAvailability? Limit(string dir, string limitFile, string usageFile, string inactiveKey)
    {
        if (ReadNumber(Path.Combine(dir, limitFile)) is not { } limit || limit >= NoLimit) return null;
        long usage = ReadNumber(Path.Combine(dir, usageFile)) ?? 0;
        long inactive = 0;
        foreach (var line in ReadLines(Path.Combine(dir, "memory.stat")))
        {
            var kv = line.Split(' ', 2);
            if (kv.Length == 2 && kv[0] == inactiveKey && long.TryParse(kv[1], NumberStyles.None, CultureInfo.InvariantCulture, out long v)) { inactive = v; break; }
        }
        long held = Math.Max(0, usage - Math.Min(inactive, usage));
        return new(limit - held, $"the limit of the memory cgroup {dir} ({limitFile}), less what it holds");
    }

    private static long? ReadNumber(string file)
    {
        var first = ReadLines(file).FirstOrDefault()?.Trim();
        return first is not null && long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : null;
    }

    private static IEnumerable<string> ReadLines(string file)
    {
        string[] lines;
        try { lines = File.ReadAllLines(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        foreach (var l in lines) yield return l;
    }
}

/// <summary>A fixed amount (tests, or a caller that knows better than the machine).</summary>
public sealed class FixedMemoryProbe(long bytes, string source = "a fixed amount") : IMemoryProbe
{
    public MemoryAvailability Available() => new(bytes, source);
}
