using System.Collections.Concurrent;
using System.Diagnostics;

namespace IXC25.Runtime.Processes;

/// <summary>
/// What an interrupt (Ctrl-C / SIGINT, SIGTERM) must clean up, whoever started it (issue 15): the child processes
/// running now (ffprobe/ffmpeg for video, a conformance port), each ended with every process it started, and the
/// temporary files of outputs not yet renamed into place (so nothing half-written is left). The code that starts a
/// child or a temporary file registers it for its lifetime; the command line's signal handler calls
/// <see cref="Interrupt"/> and then exits.
/// </summary>
public static class Interrupts
{
    private static readonly ConcurrentDictionary<long, Process> Children = new();
    private static readonly ConcurrentDictionary<long, string> TempFiles = new();
    private static long _next;
    private static volatile bool _interrupted;
    private static int _sigintHandlers;

    /// <summary>True once <see cref="Interrupt"/> ran: errors that follow (a killed child's broken pipe) are its consequence, not news.</summary>
    public static bool Interrupted => _interrupted;

    /// <summary>Whether a child process is registered now.</summary>
    public static bool HasChildren => !Children.IsEmpty;

    /// <summary>Whether some code handles Ctrl-C itself now (chat: it stops the answer and keeps the conversation).</summary>
    public static bool SigintHandledElsewhere => Volatile.Read(ref _sigintHandlers) > 0;

    /// <summary>Registers a started child until the result is disposed.</summary>
    public static IDisposable Track(Process child)
    {
        long id = Interlocked.Increment(ref _next);
        Children[id] = child;
        return new Unregister(() => Children.TryRemove(id, out _));
    }

    /// <summary>Registers a temporary file or folder (deleted on an interrupt, a folder with its contents) until the result is disposed.</summary>
    public static IDisposable TrackTempFile(string path)
    {
        long id = Interlocked.Increment(ref _next);
        TempFiles[id] = path;
        return new Unregister(() => TempFiles.TryRemove(id, out _));
    }

    /// <summary>Declares that the caller handles Ctrl-C itself (while no child runs) until the result is disposed.</summary>
    public static IDisposable HandleSigintElsewhere()
    {
        Interlocked.Increment(ref _sigintHandlers);
        return new Unregister(() => Interlocked.Decrement(ref _sigintHandlers));
    }

    /// <summary>Ends every registered child with its whole process tree and deletes every registered temporary file; returns how many children were ended.</summary>
    public static int Interrupt()
    {
        _interrupted = true;
        int ended = 0;
        foreach (var (id, p) in Children)
        {
            Children.TryRemove(id, out _);
            try
            {
                if (p.HasExited) continue;
                p.Kill(entireProcessTree: true);
                p.WaitForExit(2000);
                ended++;
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException) { }
        }
        foreach (var (id, path) in TempFiles)
        {
            TempFiles.TryRemove(id, out _);
            try
            {
                if (!Directory.Exists(path)) File.Delete(path);
                else // a temporary folder (ixc25 quantize): its writer may still add a file while it goes, so a few tries
                    for (int i = 0; i < 3 && Directory.Exists(path); i++)
                        try { Directory.Delete(path, recursive: true); }
                        catch (IOException) when (i < 2) { }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return ended;
    }

    private sealed class Unregister(Action action) : IDisposable
    {
        private int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) action(); }
    }
}
