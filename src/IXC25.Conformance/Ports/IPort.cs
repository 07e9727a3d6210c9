using IXC25.Conformance.Protocol;

namespace IXC25.Conformance.Ports;

/// <summary>What a port says of itself in the handshake.</summary>
public sealed record PortInfo(string Name, string Version, IReadOnlyList<string> Surfaces);

/// <summary>
/// An implementation of IXC-2.5 (or of some of its surfaces) the kit can drive: a process speaking the
/// protocol (<see cref="ProcessPort"/>), this engine (<see cref="Engine.EnginePort"/>), or a .NET port's own
/// adapter in its xunit tests. <see cref="Call"/> never throws for a port's failure: a crash, a hang or
/// garbage come back as a <see cref="PortReply"/> with that status.
/// </summary>
public interface IPort : IDisposable
{
    PortInfo Info { get; }

    /// <summary>Answers one request; its input files are in <c>request.Work</c>, its tensor outputs go to <c>Work/out</c>.</summary>
    PortReply Call(PortRequest request);
}
