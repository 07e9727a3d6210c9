using System.CommandLine;
using IXC25.Cli.Commands;
using IXC25.Runtime;

namespace IXC25.Cli;

/// <summary>
/// The `ixc25` command line. Every command lives in its own file under Commands/ and is registered
/// here. Contract: `--help` on every command; bad input exits non-zero with one line on stderr
/// (`ixc25: ...`); results go to stdout, progress to stderr.
/// </summary>
public static class Cli
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("IXC25.Reference: a pure-C# reference engine for InternLM-XComposer-2.5.");
        foreach (var c in Commands()) root.Subcommands.Add(c);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return DemoCommand.Create();
        yield return InfoCommand.Create();
        yield return OpCommand.Create();
        yield return RopeTableCommand.Create();
        yield return TokenizeCommand.Create();
        yield return DetokenizeCommand.Create();
        yield return PromptCommand.Create();
        yield return PreprocessCommand.Create();
        yield return TraceCommand.Create();
        yield return CompareCommand.Create();
        yield return DriftCommand.Create();
        yield return QuantizeCommand.Create();
        yield return TapsCommand.Create();
        yield return ChatCommand.Create();
        yield return BatchCommand.Create();
        yield return ConformCommand.Create();
        yield return ServePortCommand.Create();
        yield return ServeCommand.Create();
        yield break;
    }

    /// <summary>Runs the CLI with the given arguments; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = stdout ?? Console.Out;
        var error = stderr ?? Console.Error;
        var root = BuildRoot();
        var parse = root.Parse(args);
        // a numeric option outside its documented range (OptionBounds): bad input, one line, exit 1, before any other parse error
        if (OptionBounds.FirstRangeError(parse) is { } range)
        {
            error.WriteLine("ixc25: " + OneLine(range));
            return 1;
        }
        if (parse.Errors.Count > 0)
        {
            string cmd = parse.CommandResult.Command == root ? "" : " " + parse.CommandResult.Command.Name;
            error.WriteLine($"ixc25: {parse.Errors[0].Message} (see 'ixc25{cmd} --help')");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception) when (IXC25.Runtime.Processes.Interrupts.Interrupted)
        {
            // the failure of a child the interrupt handler ended: the handler prints the one line and exits
            Thread.Sleep(Timeout.Infinite);
            return 130;
        }
        catch (IxcException e)
        {
            error.WriteLine("ixc25: " + OneLine(e.Message));
            return 1;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("ixc25: cancelled");
            return 130;
        }
    }

    private static string OneLine(string s) => s.Replace("\r", " ").Replace("\n", " ");
}
