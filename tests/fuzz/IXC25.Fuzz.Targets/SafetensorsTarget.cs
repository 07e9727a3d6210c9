using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.IO;

namespace IXC25.Fuzz.Targets;

/// <summary>safetensors: the bytes as model.safetensors, opened by SafetensorsFile (header, data bounds) and by
/// Checkpoint.Open (the checkpoint view `ixc25 info` and the model loader use); every tensor read in full.</summary>
public sealed class SafetensorsTarget : IFuzzTarget
{
    public string Name => "safetensors";
    public string Description => "a .safetensors file: SafetensorsFile and Checkpoint.Open, every tensor read";

    /// <summary>1 MiB + 64 per input byte: the header's JSON document and a NamedTensor per entry (a 1.3 MB header of
    /// 20,000 one-byte tensors allocates 27 bytes per input byte); tensors are mapped and read in 4 KB pieces.</summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 64);

    public void Execute(ReadOnlySpan<byte> data)
    {
        string path = Scratch.Write(Scratch.Fresh(), Checkpoint.SafetensorsFileName, data);
        using (var file = new SafetensorsFile(path))
        {
            foreach (var (k, v) in file.Metadata) _ = k.Length + v.Length;
            foreach (var t in file.Tensors)
            {
                if (!file.Contains(t.Name)) throw new InvalidOperationException($"tensor '{t.Name}' is listed but not found by name");
                TensorReader.ReadAll(file[t.Name]);
            }
        }
        using var ckpt = Checkpoint.Open(path);
        foreach (var info in ckpt.Infos) _ = info.ToString();
        foreach (var name in ckpt.Names) TensorReader.ReadAll(ckpt.Get(name));
    }
}
