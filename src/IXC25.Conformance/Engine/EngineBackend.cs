using IXC25.Backends;
using IXC25.Graph;

namespace IXC25.Conformance.Engine;

/// <summary>The backend the op and layer surfaces run on: <see cref="EngineContext.Backend"/> from the backend factory, made once per
/// context (threads below 0, serve-port's "all cores", are the factory's 0).</summary>
public static class EngineBackend
{
    public static IOracleOps Get(EngineContext context) =>
        context.Cached("backend:" + context.Backend, () => BackendFactory.Create(context.Backend, Math.Max(0, context.Threads)));
}
