namespace IXC25.Cli.Tests;

/// <summary>Runs the CLI in-process and captures stdout, stderr and the exit code.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = IXC25.Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
