using IXC25.Conformance.Engine;
using IXC25.Conformance.Protocol;
using IXC25.Model.Rope;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// Porting bug: the dynamic-NTK base recomputed from each forward pass's own length (the "clean" stateless
/// rotary module) instead of HF's stateful cache, which keeps the enlarged base after a long pass and rebuilds
/// only when a pass is longer than any before (IXC25-SEMANTICS.md section 6).
/// </summary>
public sealed class NtkPerCallRope() : BuggySurface("rope")
{
    public override PortReply Handle(PortRequest request, EngineContext context) => RopeEngine.Run(request, RopeMode.Stateless);
}
