using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Surfaces;

namespace IXC25.Conformance.Properties;

/// <summary>
/// The kit's properties for a .NET port's own tests: one FsCheck property per surface, "the port agrees
/// with the reference on every generated case". Wrap the port in an <see cref="IPort"/> and check the
/// property with FsCheck (FsCheck shrinks a failure with the surface's own shrinker):
/// <code>
/// using var port = new MyPort();                    // : IPort
/// using var kit = new ConformanceProperties();      // the reference engine
/// kit.Tokenize(port).QuickCheckThrowOnFailure();    // or Check.One(Config.Quick.WithMaxTest(300), ...)
/// </code>
/// A case's work folder is made under the temporary folder and removed after the case.
/// </summary>
public sealed class ConformanceProperties : IDisposable
{
    private readonly EnginePort _reference;

    /// <param name="backend">Backend of the reference for op, layer and model.</param>
    public ConformanceProperties(string backend = "reference") => _reference = new EnginePort(backend);

    /// <summary>The property of any surface (by name).</summary>
    public Property For(string surface, IPort port) => SurfaceCatalog.Get(surface) switch
    {
        TokenizeSurface s => Agrees(s, port),
        var s => AgreesUntyped(s, port),
    };

    public Property Tokenize(IPort port) => For("tokenize", port);
    public Property Prompt(IPort port) => For("prompt", port);
    public Property Partition(IPort port) => For("partition", port);
    public Property Rope(IPort port) => For("rope", port);
    public Property Op(IPort port) => For("op", port);
    public Property Layer(IPort port) => For("layer", port);
    public Property Model(IPort port) => For("model", port);

    /// <summary>The property of a typed surface: for every case of its arbitrary, the port's reply agrees.</summary>
    public Property Agrees<TCase>(Surface<TCase> surface, IPort port) where TCase : notnull =>
        Prop.ForAll(surface.Arbitrary, c => Holds(surface, c, port));

    private Property AgreesUntyped(ISurface surface, IPort port)
    {
        // every surface of the catalog derives from Surface<TCase>: call Agrees<TCase> through reflection once
        var type = surface.GetType();
        while (type is not null && !(type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Surface<>))) type = type.BaseType;
        if (type is null) throw new InvalidOperationException($"surface {surface.Name} is not a Surface<TCase>");
        var method = typeof(ConformanceProperties).GetMethod(nameof(Agrees))!.MakeGenericMethod(type.GetGenericArguments()[0]);
        return (Property)method.Invoke(this, [surface, port])!;
    }

    private bool Holds(ISurface surface, object c, IPort port)
    {
        string folder = Directory.CreateTempSubdirectory("ixc25-prop-").FullName;
        try
        {
            var run = CaseRunner.Run(surface, c, port, _reference, folder, keepFiles: false);
            if (run.Verdict.Outcome == Kit.Outcome.Fail)
                throw new ConformanceException($"{surface.Name}: {surface.Describe(c)}: {string.Join("; ", run.Verdict.Problems)}");
            return true;
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    public void Dispose() => _reference.Dispose();
}

/// <summary>A port disagrees with the reference on a case (the message names the case and the problems).</summary>
public sealed class ConformanceException(string message) : Exception(message);
