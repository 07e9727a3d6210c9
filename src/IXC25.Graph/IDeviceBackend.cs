namespace IXC25.Graph;

/// <summary>
/// A backend whose tensors, KV caches and weights live in an accelerator's own memory (the ILGPU backend): the
/// model checks that a load fits there before anything is uploaded (<c>DeviceMemoryCheck</c>).
/// </summary>
public interface IDeviceBackend
{
    /// <summary>The device, e.g. "NVIDIA H100 80GB HBM3 (Cuda)".</summary>
    string DeviceName { get; }

    /// <summary>Bytes of memory the device has.</summary>
    long DeviceMemoryBytes { get; }

    /// <summary>Bytes of weights uploaded so far.</summary>
    long WeightBytesOnDevice { get; }

    /// <summary>
    /// The first index of the largest value of <paramref name="row"/> (a tensor of this backend), computed where the
    /// row is, as a left-to-right scan would pick it (a NaN at index 0 is kept, other NaN never taken): greedy
    /// decoding without a logits processor then receives one index per step instead of the row.
    /// </summary>
    int ArgMax(Act row);

    /// <summary>Uploads the model's weights (each once, in its stored precision); the load calls it after the memory check.</summary>
    void UploadWeights(IEnumerable<IXC25.Runtime.Tensors.NamedTensor> weights);
}
