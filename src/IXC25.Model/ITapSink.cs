using IXC25.Graph;

namespace IXC25.Model;

/// <summary>Receives the named intermediates of a forward pass (tap names: spec/model.json, docs/TAPS.md).</summary>
public interface ITapSink
{
    /// <summary>True when the sink keeps this tap (the caller may skip work otherwise).</summary>
    bool Wants(string name);

    /// <summary>Records a copy of <paramref name="value"/> under <paramref name="name"/> if wanted.</summary>
    void Record(string name, Act value);
}
