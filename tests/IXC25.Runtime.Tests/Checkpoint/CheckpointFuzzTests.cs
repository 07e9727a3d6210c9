using FsCheck.Xunit;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.IO;

namespace IXC25.Runtime.Tests;

/// <summary>
/// Random damage to a valid torch checkpoint or pickle: the readers either load it (the damage hit
/// tensor values, or was harmless) or throw <see cref="IxcException"/>; never another exception type,
/// never a hang. The seed is FsCheck's; every case is reproducible from it.
/// </summary>
public sealed class CheckpointFuzzTests
{
    private static readonly string[] Files = ["dtypes.bin", "shared.bin", "deflated.bin", "zip64.bin", "proto4.bin", "module_state.bin"];
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private static readonly Lazy<(byte[] Bytes, long PklStart, long PklEnd)[]> Originals = new(() => Files.Select(f =>
    {
        using var m = new MappedFile(Fixtures.Path(f));
        var pkl = ZipDirectory.Read(m).Single(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
        return (File.ReadAllBytes(Fixtures.Path(f)), pkl.DataOffset, pkl.DataOffset + pkl.CompressedSize);
    }).ToArray());

    [Property(MaxTest = 300)]
    public void MutatedTorchZipLoadsOrIsAnIxcException(int seed)
    {
        var rng = new Random(seed);
        int which = rng.Next(Files.Length);
        var (original, pklStart, pklEnd) = Originals.Value[which];
        var bytes = Mutate(rng, original, pklStart, pklEnd);
        using var d = new Fixtures.TempDir();
        string path = d.File(Files[which]);
        File.WriteAllBytes(path, bytes);
        RunBounded(() =>
        {
            using var z = new TorchZipFile(path);
            long total = 0;
            foreach (var n in z.Names) foreach (var b in z.Get(n).Data.Bytes) total += b;
            return total;
        });
    }

    [Property(MaxTest = 500)]
    public void MutatedPickleLoadsOrIsAnIxcException(int seed)
    {
        var rng = new Random(seed);
        var original = File.ReadAllBytes(Fixtures.Path(rng.Next(2) == 0 ? "dtypes.pkl" : "evil_stack_global.pkl"));
        var bytes = Mutate(rng, original, 0, original.Length);
        RunBounded(() => TorchPickle.Load(bytes, "fuzz.pkl"));
    }

    /// <summary>1–8 byte changes, biased towards structure (the pickle, the zip directory at the end), sometimes a truncation.</summary>
    private static byte[] Mutate(Random rng, byte[] original, long pklStart, long pklEnd)
    {
        var b = (byte[])original.Clone();
        int count = 1 + rng.Next(8);
        for (int i = 0; i < count; i++)
        {
            int pos = rng.Next(4) switch
            {
                0 => rng.Next(b.Length),
                1 => (int)(pklStart + rng.NextInt64(Math.Max(1, pklEnd - pklStart))),
                2 => Math.Max(0, b.Length - 1 - rng.Next(Math.Min(b.Length, 400))),
                _ => rng.Next(Math.Min(b.Length, 128)),
            };
            pos = Math.Clamp(pos, 0, b.Length - 1);
            b[pos] = rng.Next(3) switch
            {
                0 => (byte)rng.Next(256),
                1 => (byte)(b[pos] ^ (1 << rng.Next(8))),
                _ => (byte)(rng.Next(2) == 0 ? 0xFF : 0x00),
            };
        }
        if (rng.Next(10) == 0) Array.Resize(ref b, rng.Next(b.Length));
        return b;
    }

    private static void RunBounded<T>(Func<T> load)
    {
        var task = Task.Run(() =>
        {
            try { load(); }
            catch (IxcException) { }
        });
        Assert.True(task.Wait(Limit), $"no result within {Limit}");
        // an exception other than IxcException surfaces here (AggregateException wraps it): the property fails
    }
}
