using System.Globalization;

namespace IXC25.Cli.Batch;

/// <summary>
/// Progress of a batch job on stderr: on a terminal one bar redrawn in place (done/total, percent, errors,
/// elapsed, ETA, the id being run); otherwise one plain line per finished request. The ETA is the mean time
/// of the requests this run finished times the requests left.
/// </summary>
internal sealed class BatchProgress(TextWriter err, bool terminal, int total, int alreadyDone, Func<TimeSpan>? clock = null)
{
    private readonly Func<TimeSpan> _clock = clock ?? Stopwatch();
    private int _ran, _errors;

    private static Func<TimeSpan> Stopwatch()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        return () => sw.Elapsed;
    }

    public int Done => alreadyDone + _ran;
    public int Errors => _errors;

    /// <summary>A request starts (the bar names it).</summary>
    public void Starting(string id)
    {
        if (terminal) Draw(id);
    }

    /// <summary>A request finished (its result line is written).</summary>
    public void Finished(string id, TimeSpan took, string? error)
    {
        _ran++;
        if (error is not null) _errors++;
        if (terminal) { Draw(null); return; }
        string status = error is null ? "ok" : "error: " + error;
        err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"batch: {Done}/{total} ({Percent()}%) '{id}' {status} ({took.TotalSeconds:0.00} s); elapsed {Clock(_clock())}, ETA {Eta()}"));
    }

    /// <summary>The end: the bar gets its newline.</summary>
    public void Complete()
    {
        if (terminal) { Draw(null); err.WriteLine(); }
    }

    internal string Eta()
    {
        int left = total - Done;
        if (left <= 0) return "00:00:00";
        if (_ran == 0) return "--:--:--";
        return Clock(TimeSpan.FromTicks(_clock().Ticks / _ran * left));
    }

    private int Percent() => total == 0 ? 100 : (int)(100L * Done / total);

    private void Draw(string? current)
    {
        const int width = 30;
        int filled = total == 0 ? width : (int)((long)width * Done / total);
        string bar = new string('#', filled) + new string('-', width - filled);
        string errors = _errors > 0 ? string.Create(CultureInfo.InvariantCulture, $" {_errors} errors") : "";
        string now = current is null ? "" : " " + (current.Length > 24 ? current[..24] + "..." : current);
        string line = string.Create(CultureInfo.InvariantCulture, $"\r[{bar}] {Done}/{total} {Percent(),3}%{errors} elapsed {Clock(_clock())} ETA {Eta()}{now}");
        err.Write(line.PadRight(100));
        err.Flush();
    }

    internal static string Clock(TimeSpan t) =>
        string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours:00}:{t.Minutes:00}:{t.Seconds:00}");
}
