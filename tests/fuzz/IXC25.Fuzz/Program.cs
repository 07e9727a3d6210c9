using IXC25.Fuzz;
using IXC25.Fuzz.Targets;
using IXC25.Runtime;
using SharpFuzz;

// `IXC25.Fuzz TARGET`: runs TARGET under afl-fuzz (SharpFuzz's out-of-process mode: afl-fuzz starts this
// program once, SharpFuzz feeds it input after input through shared memory). The contract is asserted by
// FuzzTargets.Run: an IxcException is a result; any other exception escapes and afl-fuzz records a crash.
// `IXC25.Fuzz TARGET FILE...`: runs files once each without a fuzzer and prints the verdict (exit 1 when a
// file breaks the contract), to triage what a campaign found. `IXC25.Fuzz --allocations [TARGET...]`: every
// seed and kept crasher of the targets (all by default), twice, and a table of what one execution allocates
// against its budget (tests/fuzz/README.md, "The contract").
if (args.Length > 0 && args[0] == "--allocations")
    return AllocationTable.Print(args.Skip(1).ToArray());

if (args.Length == 0 || FuzzTargets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine("usage: IXC25.Fuzz TARGET [FILE...] | IXC25.Fuzz --allocations [TARGET...]");
    foreach (var t in FuzzTargets.All) Console.Error.WriteLine($"  {t.Name,-14} {t.Description}");
    return 2;
}

if (args.Length == 1)
{
    // One-time initialization is not an input's allocation: the first execution warms on the seeds
    // (tests/fuzz/corpus/TARGET) first. Inside the action, because SharpFuzz runs it only in its child process,
    // after the shared coverage map is attached (instrumented code run before that crashes), and the initial
    // child's first execution is a setup run whose coverage is discarded.
    bool warmed = false;
    Fuzzer.OutOfProcess.Run(stream =>
    {
        if (!warmed)
        {
            warmed = true;
            string seeds = RepoLayout.Path("tests", "fuzz", "corpus", target.Name);
            if (Directory.Exists(seeds)) FuzzTargets.Warm(target, Directory.EnumerateFiles(seeds).Select(File.ReadAllBytes));
        }
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        FuzzTargets.Run(target, ms.GetBuffer().AsSpan(0, (int)ms.Length));
    });
    return 0;
}

int broken = 0;
FuzzTargets.Warm(target, args.Skip(1).Select(File.ReadAllBytes)); // measured as under the fuzzer: in a warm process
foreach (var file in args.Skip(1))
{
    try
    {
        byte[] data = File.ReadAllBytes(file);
        string? refused = FuzzTargets.Run(target, data, out var allocated);
        Console.WriteLine($"{file}: {(refused is null ? "ok" : "refused: " + refused)} [{allocated}; budget {target.Budget.For(data.Length):N0}]");
    }
    catch (Exception e)
    {
        broken++;
        Console.WriteLine($"{file}: BROKEN CONTRACT {e.GetType().FullName}: {e.Message}");
        Console.WriteLine(e.StackTrace);
    }
}
return broken == 0 ? 0 : 1;
