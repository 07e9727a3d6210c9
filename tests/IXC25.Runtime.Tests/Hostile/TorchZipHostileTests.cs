using System.Buffers.Binary;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.IO;
using IXC25.Tests.Hostile;

namespace IXC25.Runtime.Tests.Hostile;

/// <summary>
/// Hostile torch .bin checkpoints (the zip archive and the pickle inside) and bare pickles, from the
/// PyTorch-written fixtures of golden/checkpoint/data: the shared mutations plus hostile 16/32/64-bit
/// little-endian numbers (0, -1, 2^31, 2^63, ...) written over zip sizes, offsets, counts and pickle
/// arguments. Loading and reading every tensor returns or is an <see cref="IxcException"/>.
/// </summary>
public sealed class TorchZipHostileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-hostile-zip-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Zips = ["dtypes.bin", "shared.bin", "deflated.bin", "zip64.bin", "proto4.bin", "module_state.bin"];
    private static readonly string[] Pickles = ["dtypes.pkl", "evil_stack_global.pkl"];
    private static readonly ulong[] HostileNumbers = [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, ulong.MaxValue, 1UL << 63, (1UL << 63) - 1, 1UL << 32, 0xFFFF, 100_000_000_000];

    private static readonly Lazy<(string Name, byte[] Bytes, int PklStart, int PklEnd)[]> ZipSeeds = new(() => Zips.Select(f =>
    {
        using var m = new MappedFile(Fixtures.Path(f));
        var pkl = ZipDirectory.Read(m).Single(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal));
        return (f, File.ReadAllBytes(Fixtures.Path(f)), (int)pkl.DataOffset, (int)(pkl.DataOffset + pkl.CompressedSize));
    }).ToArray());

    private static readonly Lazy<(string Name, byte[] Bytes)[]> PickleSeeds = new(() => Pickles.Select(f => (f, File.ReadAllBytes(Fixtures.Path(f)))).ToArray());

    /// <summary>A hostile number written little-endian (2, 4 or 8 bytes) at a position chosen in <paramref name="focus"/> or the last 200 bytes (the zip directories) or anywhere.</summary>
    private static (byte[], string) HostileNumber(Random rng, byte[] original, (int Start, int End) focus)
    {
        var b = (byte[])original.Clone();
        int width = rng.Next(3) switch { 0 => 2, 1 => 4, _ => 8 };
        if (b.Length < width) return (b, "too short for a number");
        int p = rng.Next(3) switch
        {
            0 when focus.End > focus.Start => focus.Start + rng.Next(focus.End - focus.Start),
            1 => Math.Max(0, b.Length - 1 - rng.Next(Math.Min(b.Length, 200))),
            _ => rng.Next(b.Length),
        };
        p = Math.Min(p, b.Length - width);
        ulong v = HostileNumbers[rng.Next(HostileNumbers.Length)];
        switch (width)
        {
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(p), (ushort)v); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(p), (uint)v); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(p), v); break;
        }
        return (b, $"{width}-byte number 0x{v:X} at byte {p}");
    }

    [Fact]
    public void MutatedTorchZipsLoadOrAreAnIxcException()
    {
        Contract.ForSeeds(1500, seed =>
        {
            var rng = new Random(seed);
            var (name, original, s, e) = ZipSeeds.Value[rng.Next(ZipSeeds.Value.Length)];
            var (bytes, what) = rng.Next(2) == 0 ? HostileNumber(rng, original, (s, e)) : new Mutator(original) { Focus = (s, e) }.Next(rng);
            string p = Path.Combine(_dir, $"case-{seed}.bin");
            File.WriteAllBytes(p, bytes);
            try
            {
                Contract.Holds($"seed {seed}: {name}: {what}", () =>
                {
                    using var z = new TorchZipFile(p);
                    long total = 0;
                    foreach (var n in z.Names) foreach (var x in z.Get(n).Data.Bytes) total += x;
                });
            }
            finally { File.Delete(p); }
        });
    }

    [Fact]
    public void MutatedPicklesLoadOrAreAnIxcException()
    {
        Contract.ForSeeds(3000, seed =>
        {
            var rng = new Random(seed);
            var (name, original) = PickleSeeds.Value[rng.Next(PickleSeeds.Value.Length)];
            var (bytes, what) = rng.Next(2) == 0 ? HostileNumber(rng, original, (0, original.Length)) : new Mutator(original).Next(rng);
            Contract.Holds($"seed {seed}: {name}: {what}", () => TorchPickle.Load(bytes, "fuzz.pkl"));
        });
    }
}
