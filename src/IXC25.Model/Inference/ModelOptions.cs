using IXC25.Model.Loading;
using IXC25.Model.Rope;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>How to load and run a model.</summary>
/// <param name="Threads">CPU worker threads (0: all processors). Results do not depend on it.</param>
/// <param name="KvDType">KV cache storage: f32 (exact), bf16 or f16 (half the memory; values rounded when stored).</param>
/// <param name="RopeMode">Dynamic-NTK state: hf (upstream's stateful module, the default) or stateless.</param>
/// <param name="Format">Checkpoint form to read when a folder has both.</param>
/// <param name="MaxContext">Largest total length (prompt + generated) a KV cache may hold.</param>
/// <param name="PrefillChunk">Positions per chunk of a long prefill (bounds the working set).</param>
/// <param name="Backend">cpu; reference; gpu (every graph op as ILGPU kernels, weights, activations and KV cache on the device, on CUDA,
/// else OpenCL, else ILGPU's CPU accelerator); gpu-sim (the same on ILGPU's CPU accelerator, a GPU simulator); or
/// gpu-ocl (the same on an OpenCL device).</param>
/// <param name="LoadContext">Tokens of KV cache the load-time memory check reserves (<see cref="LoadMemoryCheck"/>);
/// null: the checkpoint's max_length, at most <paramref name="MaxContext"/>.</param>
/// <param name="IgnoreMemoryCheck">Load and run even when the memory estimate exceeds what the machine has (--ignore-memory-check).</param>
/// <param name="Memory">Where the load-time check learns the available memory; null: this machine (<see cref="SystemMemoryProbe"/>).</param>
/// <param name="Weights">null: the stored weights (the reference path); q8_0 or q4_0: the linears held block-quantized
/// (quantized at first use; docs/QUANT.md), on the cpu or reference backend.</param>
/// <param name="Device">Which device of the kind a gpu backend chooses (--device N; 0: the first).</param>
public sealed record ModelOptions(
    int Threads = 0,
    DType KvDType = DType.F32,
    RopeMode RopeMode = RopeMode.Hf,
    CheckpointFormat Format = CheckpointFormat.Auto,
    int MaxContext = 131072,
    int PrefillChunk = 512,
    string Backend = "cpu",
    int? LoadContext = null,
    bool IgnoreMemoryCheck = false,
    IMemoryProbe? Memory = null,
    string? Weights = null,
    int Device = 0)
{
    public static ModelOptions Default { get; } = new();
}
