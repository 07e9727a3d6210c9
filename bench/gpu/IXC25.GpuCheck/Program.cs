using IXC25.GpuCheck;
using IXC25.GpuCheck.Bench;
using IXC25.GpuCheck.SelfTest;
using IXC25.Runtime;

// The device check's executable (bench/gpu/README.md): `IXC25.GpuCheck selftest|bench|ptx [--option value]...`, run from
// the repository root (the goldens, the tokenizer and the 7B config are read from the checkout). Exit codes: 0 passed,
// 1 a check failed, 2 bad usage or input (one line on stderr).
const string Usage = "usage: IXC25.GpuCheck COMMAND [--option value]...\n\n" + SelfTestCommand.Help + "\n\n" + BenchCommand.Help + "\n\n" + PtxCompileCheck.Help;

if (args.Length == 0 || args[0] == "help" || args.Any(a => a is "-h" or "--help"))
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}
try
{
    var rest = new CheckArgs(args[1..]);
    return args[0] switch
    {
        "selftest" => SelfTestCommand.Run(rest),
        "bench" => BenchCommand.Run(rest),
        "ptx" => PtxCompileCheck.Run(rest),
        _ => throw new IxcException($"unknown command '{args[0]}' (selftest, bench, ptx; see --help)"),
    };
}
catch (IxcException e)
{
    Console.Error.WriteLine($"IXC25.GpuCheck: {e.Message}");
    return 2;
}
