namespace IXC25.Fuzz.Targets;

/// <summary>
/// The per-process folder the file-based parsers read their input from (tmpfs when there is one): the
/// loaders take paths and memory-map them, so each input is written to a file first. Emptied before each input.
/// </summary>
public static class Scratch
{
    private static readonly Lazy<string> Root = new(() =>
    {
        string parent = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        string dir = Path.Combine(parent, $"ixc25-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    });

    /// <summary>A fresh, empty folder for one input.</summary>
    public static string Fresh()
    {
        string dir = Root.Value;
        foreach (var f in Directory.EnumerateFileSystemEntries(dir))
        {
            if (Directory.Exists(f)) Directory.Delete(f, true);
            else File.Delete(f);
        }
        return dir;
    }

    /// <summary>Writes <paramref name="data"/> to <paramref name="name"/> in <paramref name="dir"/> and returns its path.</summary>
    public static string Write(string dir, string name, ReadOnlySpan<byte> data)
    {
        string path = Path.Combine(dir, name);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        fs.Write(data);
        return path;
    }
}
