using IXC25.Runtime.Checkpoints;

namespace IXC25.Fuzz.Targets;

/// <summary>torchzip: the bytes as pytorch_model.bin (torch.save's zip archive and its pickle, run by the
/// restricted pickle VM), opened by TorchZipFile and by Checkpoint.Open; every tensor read in full.</summary>
public sealed class TorchZipTarget : IFuzzTarget
{
    public string Name => "torchzip";
    public string Description => "a torch .bin zip: TorchZipFile (zip directory, pickle VM, storages) and Checkpoint.Open, every tensor read";

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
        }
        using var ckpt = Checkpoint.Open(path);
        foreach (var name in ckpt.Names) TensorReader.ReadAll(ckpt.Get(name));
    }
}
