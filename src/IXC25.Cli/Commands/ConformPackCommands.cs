using System.CommandLine;
using IXC25.Runtime;

namespace IXC25.Cli.Commands;

/// <summary><c>ixc25 conform export</c> and <c>ixc25 conform grade</c>: case packs for ports that cannot be driven live.</summary>
internal static class ConformPackCommands
{
    public static Command Export()
    {
        var cmd = new Command("export", "Write a case pack: cases with inputs, expected outputs, tolerances and a manifest.json.");
        cmd.SetAction(int (_) => throw new IxcException("conform export: not built yet"));
        return cmd;
    }

    public static Command Grade()
    {
        var cmd = new Command("grade", "Grade a port's offline outputs for a case pack.");
        cmd.SetAction(int (_) => throw new IxcException("conform grade: not built yet"));
        return cmd;
    }
}
