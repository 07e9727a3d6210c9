using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Graph;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// A layer mutant: the engine's layer (the generated graph) run on the context's backend behind a decorator
/// that changes one op the way a porting bug does. The decorator is made per request and not disposed
/// (DelegatingGraphOps disposes what it wraps, and the backend is the context's).
/// </summary>
public abstract class LayerMutant() : BuggySurface("layer")
{
    protected abstract DelegatingGraphOps Decorate(IGraphOps backend);

    public override PortReply Handle(PortRequest request, EngineContext context) =>
        LayerEngine.Run(request, Decorate(EngineBackend.Get(context)));
}
