using IXC25.Runtime.Checkpoints;

namespace IXC25.Fuzz.Targets;

/// <summary>torchzip: the bytes as pytorch_model.bin (torch.save's zip archive and its pickle, run by the
/// restricted pickle VM), opened by TorchZipFile and by Checkpoint.Open; every tensor read in full.</summary>
public sealed class TorchZipTarget : IFuzzTarget
{
    public string Name => "torchzip";
    public string Description => "a torch .bin zip: TorchZipFile (zip directory, pickle VM, storages) and Checkpoint.Open, every tensor read";

    /// <summary>
    /// 1 MiB + 4,800 per input byte + 16 MiB. A STORED file stays under 80 bytes per input byte (the pickle VM
    /// allocates about 75 per opcode byte), but DEFLATED members legitimately inflate: storages up to deflate's
    /// 1032:1 into native memory and once more into a non-contiguous copy (65 KB of deflated zeros: 128 MiB,
    /// 2,050 per byte), data.pkl up to <see cref="TorchZipFile.MaxPickleDeflateRatio"/> (64:1) into the pickle VM
    /// (a 72 KB pickle bomb at 59:1: 310 MB, 4,300 per byte). The 16 MiB is
    /// <see cref="TorchZipFile.MaxCopyBytesOverStorage"/>, what copies of repeating (expanded) views may add.
    /// Native memory is sampled before each reader is disposed, when all its blocks are alive.
    /// </summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 4800, LimitBytes: TorchZipFile.MaxCopyBytesOverStorage, LimitReason: "TorchZipFile.MaxCopyBytesOverStorage");

    public void Execute(ReadOnlySpan<byte> data)
    {
        string path = Scratch.Write(Scratch.Fresh(), Checkpoint.TorchFileName, data);
        using (var file = new TorchZipFile(path))
        {
            _ = file.ArchiveName.Length + file.StateDictPath.Count;
            foreach (var name in file.Names)
            {
                _ = file.GetInfo(name).ToString();
                _ = file.IsZeroCopy(name);
                TensorReader.ReadAll(file.Get(name));
            }
            AllocationMeter.SampleNative(); // every inflated storage and materialized copy is alive until Dispose
        }
        using var ckpt = Checkpoint.Open(path);
        foreach (var name in ckpt.Names) TensorReader.ReadAll(ckpt.Get(name));
        AllocationMeter.SampleNative();
    }
}
