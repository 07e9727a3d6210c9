using IXC25.Fuzz.Targets;
using SharpFuzz;

// `IXC25.Fuzz TARGET`: runs TARGET under afl-fuzz (SharpFuzz's out-of-process mode: afl-fuzz starts this
// program once, SharpFuzz feeds it input after input through shared memory). The contract is asserted by
// FuzzTargets.Run: an IxcException is a result; any other exception escapes and afl-fuzz records a crash.
// `IXC25.Fuzz TARGET FILE...`: runs files once each without a fuzzer and prints the verdict (exit 1 when a
// file breaks the contract), to triage what a campaign found.
if (args.Length == 0 || FuzzTargets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine("usage: IXC25.Fuzz TARGET [FILE...]");
    foreach (var t in FuzzTargets.All) Console.Error.WriteLine($"  {t.Name,-14} {t.Description}");
    return 2;
}

if (args.Length == 1)
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        FuzzTargets.Run(target, ms.GetBuffer().AsSpan(0, (int)ms.Length));
    });
    return 0;
}

int broken = 0;
foreach (var file in args.Skip(1))
{
    try
    {
        string? refused = FuzzTargets.Run(target, File.ReadAllBytes(file));
        Console.WriteLine($"{file}: {(refused is null ? "ok" : "refused: " + refused)}");
    }
    catch (Exception e)
    {
        broken++;
        Console.WriteLine($"{file}: BROKEN CONTRACT {e.GetType().FullName}: {e.Message}");
        Console.WriteLine(e.StackTrace);
    }
}
return broken == 0 ? 0 : 1;
