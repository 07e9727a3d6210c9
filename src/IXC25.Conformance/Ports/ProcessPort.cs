using System.Diagnostics;
using IXC25.Runtime.Processes;
using System.Text;
using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;

namespace IXC25.Conformance.Ports;

/// <summary>
/// A port that is a command: started once (through /bin/sh -c, as typed), handshake first, then one JSON
/// request per line on its stdin and one response per line on its stdout. A request that gets no answer
/// within the time limit, a process that exits, or a line that is not the protocol's becomes a reply with
/// that status; the process (its whole tree) is then ended and started again for the next request, so
/// one bad case does not spoil the rest. Its stderr is kept (the last lines) for the report.
/// </summary>
public sealed class ProcessPort : IPort
{
    private readonly string _command;
    private readonly TimeSpan _timeout;
    private Process? _process;
    private IDisposable? _tracked;   // registered for Ctrl-C / SIGTERM (Interrupts) while it runs
    private readonly Queue<string> _stderr = new();
    private long _nextId = 1;
    private PortInfo? _info;

    /// <param name="command">The command line, run by /bin/sh -c in the current directory.</param>
    /// <param name="timeout">Time limit of one request (and of the handshake).</param>
    public ProcessPort(string command, TimeSpan timeout)
    {
        if (string.IsNullOrWhiteSpace(command)) throw new IxcException("--port: the command is empty");
        _command = command;
        _timeout = timeout;
        Start();
    }

    public string Command => _command;

    public PortInfo Info => _info!;

    /// <summary>The last lines the port wrote on stderr (at most 20).</summary>
    public string StderrTail { get { lock (_stderr) return string.Join("\n", _stderr); } }

    private void Start()
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", _command])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        try { _process = Process.Start(psi) ?? throw new IxcException($"--port: could not start '{_command}'"); }
        catch (System.ComponentModel.Win32Exception e) { throw new IxcException($"--port: could not start '{_command}': {e.Message}"); }
        var p = _process;
        _tracked = Interrupts.Track(p);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr)
            {
                _stderr.Enqueue(e.Data);
                while (_stderr.Count > 20) _stderr.Dequeue();
            }
        };
        p.BeginErrorReadLine();
        var hello = new JsonObject { ["id"] = 0, ["surface"] = "hello", ["protocol"] = PortSchema.ProtocolName, ["version"] = PortSchema.Default.Version };
        var (reply, _) = Exchange(hello, 0, null, PortSchema.Default.Handshake);
        if (!reply.IsOk)
        {
            Kill();
            throw new IxcException($"--port '{_command}': no valid handshake ({reply.Status}: {reply.Message})" + (StderrTail.Length > 0 ? "\nport stderr:\n" + StderrTail : ""));
        }
        var f = reply.Fields;
        var info = new PortInfo((string)f["name"]!, (string)f["version"]!, f["surfaces"]!.AsArray().Select(s => (string)s!).ToList());
        if (_info is not null && (info.Name != _info.Name || !info.Surfaces.SequenceEqual(_info.Surfaces)))
            throw new IxcException($"--port '{_command}': the restarted port names itself differently ({info.Name}) than before ({_info.Name})");
        _info = info;
    }

    public PortReply Call(PortRequest request)
    {
        if (_process is null || _process.HasExited)
        {
            try { Start(); }
            catch (IxcException e) { return PortReply.Failed(ReplyStatus.Crashed, e.Message); }
        }
        long id = _nextId++;
        var (reply, restart) = Exchange(request.ToMessage(id), id, PortSchema.Default.Surfaces.FirstOrDefault(s => s.Name == request.Surface), null);
        if (restart) Kill();
        return reply;
    }

    /// <summary>Writes one line and reads one answer within the time limit; true when the process must be restarted.</summary>
    private (PortReply Reply, bool Restart) Exchange(JsonObject message, long id, SurfaceSchema? surface, IReadOnlyList<FieldSchema>? handshake)
    {
        var p = _process!;
        try
        {
            p.StandardInput.WriteLine(message.ToJsonString());
            p.StandardInput.Flush();
        }
        catch (IOException)
        {
            return (PortReply.Failed(ReplyStatus.Crashed, Exited(p, "before reading the request")), true);
        }
        var read = p.StandardOutput.ReadLineAsync();
        if (!read.Wait(_timeout))
            return (PortReply.Failed(ReplyStatus.TimedOut, $"no answer within {_timeout.TotalSeconds:0.#} s (the port was ended and restarted)"), true);
        string? line = read.Result;
        if (line is null) return (PortReply.Failed(ReplyStatus.Crashed, Exited(p, "before answering")), true);
        var reply = PortReply.Parse(line, id, surface, handshake);
        return (reply, reply.Status == ReplyStatus.Garbage);
    }

    private string Exited(Process p, string when)
    {
        p.WaitForExit(2000);
        string code = p.HasExited ? $"exit code {p.ExitCode}" : "closed its stdout";
        string tail = StderrTail;
        return $"the port exited ({code}) {when}" + (tail.Length > 0 ? "; its stderr ends: " + tail.Split('\n')[^1] : "");
    }

    private void Kill()
    {
        var p = _process;
        _process = null;
        if (p is null) return;
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        p.WaitForExit(2000);
        p.Dispose();
        _tracked?.Dispose();
    }

    public void Dispose()
    {
        var p = _process;
        if (p is not null && !p.HasExited)
        {
            try { p.StandardInput.Close(); } catch (IOException) { }
            if (!p.WaitForExit(2000)) Kill();
        }
        _process?.Dispose();
        _process = null;
        _tracked?.Dispose();
    }
}
