using IXC25.Fuzz.Targets;
using IXC25.Runtime;

namespace IXC25.Fuzz;

/// <summary>
/// `IXC25.Fuzz --allocations [TARGET...]`: runs every file of tests/fuzz/corpus/TARGET and tests/fuzz/crashers/TARGET
/// twice and prints, per target, a markdown row: the second (warm) pass is what the contract checks, as under the
/// fuzzer and in the replay test; the first pass, in a cold process, shows what one-time initialization adds.
/// Exit 1 when a warm execution is over its budget.
/// </summary>
internal static class AllocationTable
{
    public static int Print(string[] names)
    {
        var targets = names.Length == 0 ? FuzzTargets.All : names.Select(n => FuzzTargets.Find(n) ?? throw new IxcException($"no fuzz target '{n}'")).ToList();
        Console.WriteLine("| target | files | budget (n = input bytes) | most allocated (file, n) | most of its budget used (file) | native high-water | on the calling thread | first pass, cold |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        int over = 0;
        foreach (var target in targets)
        {
            var files = new[] { "corpus", "crashers" }
                .Select(kind => RepoLayout.Path("tests", "fuzz", kind, target.Name))
                .Where(Directory.Exists)
                .SelectMany(d => Directory.EnumerateFiles(d).Order(StringComparer.Ordinal))
                .Select(f => (Name: $"{Path.GetFileName(Path.GetDirectoryName(f))}/{Path.GetFileName(f)}", Data: File.ReadAllBytes(f)))
                .ToList();
            var cold = files.Select(f => Measure(target, f.Data)).ToList();
            var warm = files.Select(f => Measure(target, f.Data)).ToList();
            var rows = files.Zip(warm, (f, m) => (f.Name, N: (long)f.Data.Length, m.A, m.Over)).ToList();
            over += rows.Count(r => r.Over);
            var most = rows.MaxBy(r => r.A.Bytes);
            var worst = rows.MaxBy(r => (double)r.A.Bytes / target.Budget.For(r.N));
            var native = rows.MaxBy(r => r.A.Native);
            long managed = rows.Sum(r => r.A.Managed), thread = rows.Sum(r => r.A.ManagedThisThread);
            Console.WriteLine($"| {target.Name} | {files.Count} | {target.Budget} | {Size(most.A.Bytes)} ({most.Name}, {most.N:N0}) | " +
                $"{100.0 * worst.A.Bytes / target.Budget.For(worst.N):F1}% ({worst.Name}){(rows.Any(r => r.Over) ? $"; **{rows.Count(r => r.Over)} over**" : "")} | " +
                $"{Size(native.A.Native)} | {100.0 * thread / Math.Max(1, managed):F1}% | {Size(cold.Max(c => c.A.Bytes))} |");
        }
        if (NativeHeap.InUse() is null) Console.WriteLine("(native memory not measured: no glibc mallinfo2 here)");
        return over == 0 ? 0 : 1;
    }

    private static (Allocation A, bool Over) Measure(IFuzzTarget target, byte[] data)
    {
        try
        {
            FuzzTargets.Run(target, data, out var a);
            return (a, false);
        }
        catch (AllocationBudgetExceededException e) { return (e.Measured, true); }
    }

    private static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / 1048576.0:F1} MiB" : $"{bytes / 1024.0:F1} KiB";
}
