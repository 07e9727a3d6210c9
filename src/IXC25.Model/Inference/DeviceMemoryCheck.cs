using System.Globalization;
using IXC25.Graph;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>
/// The device-memory check of a load on an accelerator backend (<see cref="IDeviceBackend"/>, issue 12): the
/// weights as stored (bf16 stays bf16 on the device), the KV cache for the load's context in float32 (the device
/// cache holds float32 values rounded to the storage dtype) and the working set, against the device's memory.
/// Refused before any weight is uploaded, with both numbers; <see cref="ModelOptions.IgnoreMemoryCheck"/> skips it.
/// </summary>
public static class DeviceMemoryCheck
{
    /// <summary>What a load of <paramref name="dir"/> with <paramref name="options"/> needs on a device.</summary>
    public static MemoryEstimate Estimate(ModelDirectory dir, ModelOptions options) =>
        LoadMemoryCheck.Estimate(dir, options with { KvDType = DType.F32 }) with { WeightsNote = "stored dtype, uploaded once" };

    /// <summary>The one-line verdict for a device of <paramref name="deviceBytes"/> bytes.</summary>
    public static string Verdict(MemoryEstimate e, string device, long deviceBytes) => string.Create(CultureInfo.InvariantCulture,
        $"{device} has {MemoryEstimate.Size(deviceBytes)}: {(e.Total <= deviceBytes ? "fits" : "does not fit")} ({MemoryEstimate.Size(e.Total)} needed)");

    /// <summary>Throws when the backend is a device backend and the load does not fit its memory.</summary>
    public static void Ensure(IGraphOps backend, ModelDirectory dir, ModelOptions options)
    {
        if (options.IgnoreMemoryCheck || backend is not IDeviceBackend device) return;
        var e = Estimate(dir, options);
        if (e.Total > device.DeviceMemoryBytes)
            throw new IxcException(string.Create(CultureInfo.InvariantCulture,
                $"{dir.Path}: the model needs about {MemoryEstimate.Size(e.Total)} of device memory (weights {MemoryEstimate.Size(e.WeightBytes)} as stored, KV cache {MemoryEstimate.Size(e.KvBytes)} for {e.ContextTokens:N0} tokens in f32, work {MemoryEstimate.Size(e.WorkspaceBytes)}) but {device.DeviceName} has {MemoryEstimate.Size(device.DeviceMemoryBytes)}; nothing was uploaded. A shorter --max-context needs less; {LoadMemoryCheck.OverrideFlag} loads it anyway"));
    }
}
