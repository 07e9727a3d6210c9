using System.Text;
using System.Text.Json;
using IXC25.Runtime;

namespace IXC25.Cli.Batch;

/// <summary>
/// The results file of a batch job, held open and locked (an exclusive advisory lock: a second batch
/// process on the same file is refused) for the whole run. Opening it reads what earlier runs finished,
/// and repairs a torn last line: bytes after the last newline are what a killed process left of a line
/// it was writing, and are cut away (and reported). Every complete line must be a result object whose id
/// is one of the job's requests, each id once; anything else is refused, nothing is deleted.
/// <see cref="Append"/> writes a whole line in one write, then flushes it to the disk (fsync), so a kill
/// at any moment loses at most the line being written, and never leaves half of one behind a rerun.
/// </summary>
internal sealed class ResultsFile : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _path;
    private readonly Dictionary<string, bool> _done = new(StringComparer.Ordinal); // id -> was an error result

    private ResultsFile(FileStream stream, string path)
    {
        _stream = stream;
        _path = path;
    }

    /// <summary>Ids that have a result line (a success or an error).</summary>
    public IReadOnlyCollection<string> Done => _done.Keys;

    /// <summary>Bytes of a torn last line that opening cut away (0: none).</summary>
    public long RepairedBytes { get; private set; }

    /// <summary>Error result lines that <c>retryErrors</c> removed when opening.</summary>
    public int DroppedErrors { get; private set; }

    public bool IsDone(string id) => _done.ContainsKey(id);

    /// <summary>Whether the id's result line is an error result.</summary>
    public bool IsError(string id) => _done.TryGetValue(id, out bool e) && e;

    /// <summary>
    /// Opens (creating it when missing) and locks the results file; <paramref name="knownIds"/> are the job's
    /// request ids. With <paramref name="retryErrors"/> the error results are removed (the file is rewritten
    /// without them, atomically) so that their requests run again.
    /// </summary>
    public static ResultsFile Open(string path, IReadOnlySet<string> knownIds, bool retryErrors = false)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir)) throw new IxcException($"{path}: directory '{dir}' does not exist");
        if (Directory.Exists(full)) throw new IxcException($"{path}: is a directory (expected a .jsonl file name)");
        var stream = Lock(full, path);
        var file = new ResultsFile(stream, path);
        try
        {
            var kept = file.Load(knownIds, retryErrors);
            if (file.DroppedErrors == 0) return file;
            Rewrite(full, kept);
            int dropped = file.DroppedErrors;
            long repaired = file.RepairedBytes;
            stream.Dispose();
            var reopened = Open(path, knownIds);
            reopened.DroppedErrors = dropped;
            reopened.RepairedBytes = repaired;
            return reopened;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static FileStream Lock(string full, string shown)
    {
        try
        {
            // FileShare.None takes an exclusive flock on Unix; bufferSize 0: every Write is one write to the file
            return new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        }
        catch (IOException e) when (File.Exists(full) && e is not FileNotFoundException)
        {
            throw new IxcException($"{shown}: cannot open it for writing; another batch process may be using it ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IxcException($"{shown}: cannot write: {e.Message}", e);
        }
    }

    /// <summary>Reads every complete line, cuts a torn tail; returns the lines kept (with their newline).</summary>
    private List<byte[]> Load(IReadOnlySet<string> knownIds, bool retryErrors)
    {
        var bytes = new byte[_stream.Length];
        _stream.Position = 0;
        _stream.ReadExactly(bytes);
        var (kept, complete) = Scan(bytes, _path, knownIds, _done);
        if (complete < bytes.Length)
        {
            RepairedBytes = bytes.Length - complete;
            _stream.SetLength(complete);
            _stream.Flush(flushToDisk: true);
        }
        if (retryErrors)
        {
            var errors = _done.Where(kv => kv.Value).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var id in errors) _done.Remove(id);
            DroppedErrors = errors.Count;
            kept = kept.Where(k => !errors.Contains(k.Id)).ToList();
        }
        _stream.Seek(0, SeekOrigin.End);
        return kept.Select(k => k.Line).ToList();
    }

    /// <summary>What a results file holds (id -> is an error) and the length of a torn last line, without changing or locking it.</summary>
    public static (IReadOnlyDictionary<string, bool> Done, long TornBytes) Inspect(string path, IReadOnlySet<string> knownIds)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IxcException($"{path}: cannot read: {e.Message}", e); }
        var done = new Dictionary<string, bool>(StringComparer.Ordinal);
        var (_, complete) = Scan(bytes, path, knownIds, done);
        return (done, bytes.Length - complete);
    }

    /// <summary>
    /// Parses the complete lines of <paramref name="bytes"/> (those ending in a newline) into <paramref name="done"/>;
    /// returns each line with its id, and the length of the complete part.
    /// </summary>
    private static (List<(string Id, byte[] Line)> Lines, long Complete) Scan(byte[] bytes, string shown, IReadOnlySet<string> knownIds, Dictionary<string, bool> done)
    {
        long complete = Array.LastIndexOf(bytes, (byte)'\n') + 1;
        var lines = new List<(string, byte[])>();
        var strict = new UTF8Encoding(false, true);
        int start = 0, line = 0;
        while (start < complete)
        {
            line++;
            int nl = Array.IndexOf(bytes, (byte)'\n', start);
            string where = $"{shown} line {line}";
            string text;
            try { text = strict.GetString(bytes, start, nl - start); }
            catch (DecoderFallbackException) { throw new IxcException($"{where}: not valid UTF-8; not a results file of ixc25 batch?"); }
            var (id, isError) = ParseResultLine(text, where);
            if (!knownIds.Contains(id)) throw new IxcException($"{where}: id '{id}' is not a request of this job; is this the results file of another requests file?");
            if (!done.TryAdd(id, isError)) throw new IxcException($"{where}: id '{id}' has a second result line; the file was not written by one ixc25 batch job");
            lines.Add((id, bytes[start..(nl + 1)]));
            start = nl + 1;
        }
        return (lines, complete);
    }

    /// <summary>The id of a result line and whether it is an error result.</summary>
    internal static (string Id, bool IsError) ParseResultLine(string text, string where)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new IxcException($"{where}: not a result line (not valid JSON: {e.Message}); not a results file of ixc25 batch?", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String)
                throw new IxcException($"{where}: not a result line (expected a JSON object with a string 'id'); not a results file of ixc25 batch?");
            bool isError = root.TryGetProperty("error", out _);
            if (!isError && !root.TryGetProperty("answer", out _))
                throw new IxcException($"{where}: not a result line (it has neither 'answer' nor 'error'); not a results file of ixc25 batch?");
            return (id.GetString()!, isError);
        }
    }

    /// <summary>
    /// Replaces the file by the kept lines: written to a temporary file beside it, flushed, renamed over it
    /// (atomic: a kill leaves either file whole). The caller then opens the new file.
    /// </summary>
    private static void Rewrite(string full, List<byte[]> kept)
    {
        string tmp = full + $".{Environment.ProcessId}.tmp";
        using (var t = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var l in kept) t.Write(l);
            t.Flush(flushToDisk: true);
        }
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>Appends one result line: its bytes and the newline in one write, then fsync.</summary>
    public void Append(string id, string jsonObject, bool isError)
    {
        if (jsonObject.Contains('\n') || jsonObject.Contains('\r')) throw new InvalidOperationException("a result line must not contain a newline");
        var bytes = Encoding.UTF8.GetBytes(jsonObject + "\n");
        _stream.Seek(0, SeekOrigin.End);
        _stream.Write(bytes);
        _stream.Flush(flushToDisk: true);
        _done[id] = isError;
    }

    public void Dispose() => _stream.Dispose();
}
