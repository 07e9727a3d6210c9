namespace IXC25.Backends.Gpu;

public sealed partial class GpuOps
{
    /// <summary>The device this backend runs on and how it was chosen (<see cref="DeviceSelection"/>); its
    /// description is part of the backend's name.</summary>
    public GpuChoice Device { get; }
}
