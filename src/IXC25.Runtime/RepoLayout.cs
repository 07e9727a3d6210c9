namespace IXC25.Runtime;

/// <summary>
/// Locates the repository checkout (the folder holding IXC25.Reference.sln) so that the CLI's
/// bundled defaults (tiny checkpoint, media) and the tests' golden files can be found from any
/// working directory. <c>IXC25_ROOT</c> overrides the search.
/// </summary>
public static class RepoLayout
{
    private static readonly Lazy<string?> RootLazy = new(Find);

    /// <summary>The repository root, or null when not running from a checkout.</summary>
    public static string? Root => RootLazy.Value;

    /// <summary>The repository root; throws a clear error when not running from a checkout.</summary>
    public static string RequireRoot() => Root ?? throw new IxcException(
        "cannot find the repository checkout (IXC25.Reference.sln) above " + AppContext.BaseDirectory + "; set IXC25_ROOT");

    /// <summary>A path below the repository root.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([RequireRoot(), .. parts]);

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("IXC25_ROOT");
        if (!string.IsNullOrEmpty(env) && File.Exists(System.IO.Path.Combine(env, "IXC25.Reference.sln"))) return System.IO.Path.GetFullPath(env);
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(System.IO.Path.Combine(d.FullName, "IXC25.Reference.sln"))) return d.FullName;
        }
        return null;
    }
}
