using System.Runtime.InteropServices;
using IXC25.Runtime.Processes;

namespace IXC25.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for the ixc25 process (issue 15): every child process running now (ffprobe/ffmpeg,
/// a conformance port) is ended with every process it started, the temporary files of outputs not yet in place are
/// deleted (an output is written to a temporary file and renamed, so none is left half-written), one line goes to
/// stderr and the process exits 130 (SIGINT) or 143 (SIGTERM). A SIGINT while chat handles Ctrl-C itself (to stop an
/// answer and keep the conversation) and no child runs is left to chat. Installed by Program, not by <see cref="Cli.Run"/>
/// (which tests call in their own process).
/// </summary>
internal static class InterruptHandler
{
    private static int _fired;

    public static IDisposable Install(TextWriter stderr)
    {
        var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Handle(c, stderr, 130, "Ctrl-C (SIGINT)"));
        var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Handle(c, stderr, 143, "SIGTERM"));
        return new Both(sigint, sigterm);
    }

    private static void Handle(PosixSignalContext context, TextWriter stderr, int exitCode, string what)
    {
        if (context.Signal == PosixSignal.SIGINT && Interrupts.SigintHandledElsewhere && !Interrupts.HasChildren) return;
        context.Cancel = true;
        if (Interlocked.Exchange(ref _fired, 1) == 1) return;
        int ended = Interrupts.Interrupt();
        string children = ended == 0 ? "" : ended == 1 ? "; ended the child process and every process it started" : $"; ended {ended} child processes and every process they started";
        try { stderr.WriteLine($"ixc25: interrupted by {what}{children}; unfinished output files removed"); stderr.Flush(); }
        catch (IOException) { }
        Environment.Exit(exitCode);
    }

    private sealed class Both(IDisposable a, IDisposable b) : IDisposable
    {
        public void Dispose() { a.Dispose(); b.Dispose(); }
    }
}
