using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;
using IXC25.Tokenizer;

namespace IXC25.Conformance.Engine;

/// <summary>How the engine answers one surface's requests (the reference side of the kit, and `ixc25 serve-port`).</summary>
public interface IEngineSurface
{
    string Name { get; }

    /// <summary>Answers a request whose fields spec/port.json has already checked. An input the engine refuses throws IxcException.</summary>
    PortReply Handle(PortRequest request, EngineContext context);
}

/// <summary>What the engine's surfaces share: the backend for op, layer and model, the tokenizer, loaded checkpoints.</summary>
public sealed class EngineContext : IDisposable
{
    private readonly Dictionary<string, object> _cache = new(StringComparer.Ordinal);

    /// <param name="backend">Backend of the op, layer and model surfaces (BackendFactory names: reference, cpu, gpu, gpu-sim, gpu-ocl).</param>
    public EngineContext(string backend = "reference", int threads = -1)
    {
        Backend = backend;
        Threads = threads;
    }

    public string Backend { get; }
    public int Threads { get; }

    /// <summary>The InternLM2 tokenizer: tokenizer.model shipped beside this assembly (data/, as the NuGet
    /// package installs it), else the repository's golden/tokenizer/tokenizer.model.</summary>
    public InternLM2Tokenizer Tokenizer => Cached("tokenizer", () => InternLM2Tokenizer.Load(TokenizerPath));

    public static string TokenizerPath
    {
        get
        {
            string beside = Path.Combine(AppContext.BaseDirectory, "data", InternLM2Tokenizer.ModelFileName);
            return File.Exists(beside) ? beside : InternLM2Tokenizer.BundledModelPath;
        }
    }

    /// <summary>A value made once per key and kept (tokenizer, backends, opened checkpoints); disposed with the context.</summary>
    public T Cached<T>(string key, Func<T> make) where T : notnull
    {
        lock (_cache)
        {
            if (_cache.TryGetValue(key, out var v)) return (T)v;
            var made = make();
            _cache[key] = made;
            return made;
        }
    }

    public void Dispose()
    {
        foreach (var v in _cache.Values) (v as IDisposable)?.Dispose();
        _cache.Clear();
    }
}

/// <summary>
/// This engine as a port: every surface of <see cref="EngineSurfaces.All"/>. The kit's reference, and what
/// `ixc25 serve-port` speaks, so that two builds, two backends or two machines can be cross-checked with the
/// same kit. Requests are checked against spec/port.json first (a malformed request is status error); an
/// input the engine refuses (IxcException) is status refused.
/// </summary>
public sealed class EnginePort : IPort
{
    private readonly EngineContext _context;
    private readonly Dictionary<string, IEngineSurface> _surfaces;

    public EnginePort(string backend = "reference", int threads = -1, IEnumerable<IEngineSurface>? surfaces = null)
    {
        _context = new EngineContext(backend, threads);
        _surfaces = (surfaces ?? EngineSurfaces.All).ToDictionary(s => s.Name, StringComparer.Ordinal);
        Info = new PortInfo(backend == "reference" ? "ixc25-reference" : $"ixc25-{backend}", typeof(EnginePort).Assembly.GetName().Version?.ToString() ?? "0",
            PortSchema.Default.SurfaceNames.Where(_surfaces.ContainsKey).ToList());
    }

    public PortInfo Info { get; }

    public EngineContext Context => _context;

    public PortReply Call(PortRequest request)
    {
        if (!_surfaces.TryGetValue(request.Surface, out var surface))
            return PortReply.Error($"surface '{request.Surface}' is not implemented here (surfaces: {string.Join(", ", _surfaces.Keys)})");
        var schema = PortSchema.Default.Surface(request.Surface);
        foreach (var f in schema.Request)
            if (PortSchema.CheckType(f, request.Fields[f.Name]) is { } problem)
                return PortReply.Error($"request breaks spec/port.json: {problem}");
        if (request.Work.Length == 0 || !Directory.Exists(request.Work))
            return PortReply.Error($"work folder '{request.Work}' does not exist");
        try { return surface.Handle(request, _context); }
        catch (IxcException e) { return PortReply.Refused(e.Message); }
    }

    /// <summary>A file the request names, inside its work folder (no escaping it).</summary>
    public static string WorkFile(PortRequest request, string field) => WorkPath(request, (string)request.Fields[field]!, field);

    /// <summary>The file <paramref name="name"/> (from the request's field <paramref name="what"/>), inside its work folder (no escaping it).</summary>
    public static string WorkPath(PortRequest request, string name, string what)
    {
        string full = Path.GetFullPath(Path.Combine(request.Work, name));
        string root = Path.GetFullPath(request.Work) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, StringComparison.Ordinal)) throw new IxcException($"'{what}': {name} is outside the work folder");
        return full;
    }

    public void Dispose() => _context.Dispose();
}
