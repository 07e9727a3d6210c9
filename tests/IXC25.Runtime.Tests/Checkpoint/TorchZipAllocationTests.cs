using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using IXC25.Runtime.Checkpoints;

namespace IXC25.Runtime.Tests;

/// <summary>
/// What a torch .bin may make the reader allocate, bounded by the file (issue 15's allocation clause; found by the
/// torchzip fuzz target's budget): a zip directory's size claims, a DEFLATED pickle, copies of repeating views.
/// Each hostile file is a few hundred bytes to a few KB and is refused before the memory it asks for is taken.
/// </summary>
public sealed class TorchZipAllocationTests
{
    [Fact]
    public void ADeflatedMemberClaimingMoreThanDeflateCanExpandIsRefusedBeforeAllocating()
    {
        using var d = new Fixtures.TempDir();
        // data.pkl DEFLATED, its directory entries claiming 1 GiB (the reader used to allocate that, then fail to inflate)
        byte[] zip = Zip(("archive/data.pkl", Pickle(Tensor("a", "0", 1, [1], [1])), true), ("archive/data/0", new byte[4], false));
        PatchUncompressedSize(zip, "archive/data.pkl", 0x3FFF_FFF0);
        File.WriteAllBytes(d.File("claims.bin"), zip);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<IxcException>(() => new TorchZipFile(d.File("claims.bin")));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("DEFLATED entry 'archive/data.pkl' claims 1073741808 bytes from", e.Message);
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes before refusing");
    }

    [Fact]
    public void ADeflatedPickleExpandingMoreThanItsRatioIsRefused()
    {
        using var d = new Fixtures.TempDir();
        // 4 MiB of EMPTY_LIST opcodes deflate to about 4 KB: the pickle VM would make 4 million lists (about 300 MB)
        byte[] bomb = [0x80, 2, .. Enumerable.Repeat((byte)']', 4 << 20), (byte)'.'];
        File.WriteAllBytes(d.File("bomb.bin"), Zip(("archive/data.pkl", bomb, true)));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<IxcException>(() => new TorchZipFile(d.File("bomb.bin")));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"a DEFLATED pickle may expand at most {TorchZipFile.MaxPickleDeflateRatio}:1", e.Message);
        Assert.True(allocated < 4 << 20, $"allocated {allocated} bytes before refusing");
        // a state dict's pickle (deflated.bin, re-zipped by Python) stays well inside the ratio and loads
        using var ok = new TorchZipFile(Fixtures.Path("deflated.bin"));
        Assert.NotEmpty(ok.Names);
    }

    [Fact]
    public void CopiesOfRepeatingViewsAreBoundedByTheStorages()
    {
        using var d = new Fixtures.TempDir();
        // one float expanded (stride 0) to 2^26 elements: a 256 MiB copy from a 500-byte file
        File.WriteAllBytes(d.File("expand.bin"), Zip(("archive/data.pkl", Pickle(Tensor("e", "0", 1, [1 << 26], [0])), false), ("archive/data/0", new byte[4], false)));
        var e = Assert.Throws<IxcException>(() => new TorchZipFile(d.File("expand.bin")));
        Assert.Contains("1 non-contiguous tensor(s) would be copied into 268435456 bytes of memory, more than the 4 bytes of their storages", e.Message);
        // a small expand (shared.bin has one, with a transposed and a sliced view) is still copied and read
        File.WriteAllBytes(d.File("small.bin"), Zip(("archive/data.pkl", Pickle(Tensor("e", "0", 1, [1024], [0])), false), ("archive/data/0", BitConverter.GetBytes(1.5f), false)));
        using var f = new TorchZipFile(d.File("small.bin"));
        Assert.Equal(1.5f, f.Get("e").ToFloat32()[1023]);
    }

    // ------------------------------------------------------------ a minimal torch zip writer

    /// <summary>A zip of (name, bytes, deflated?) members.</summary>
    private static byte[] Zip(params (string Name, byte[] Data, bool Deflate)[] members)
    {
        using var ms = new MemoryStream();
        using (var z = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data, deflate) in members)
            {
                var entry = z.CreateEntry(name, deflate ? CompressionLevel.SmallestSize : CompressionLevel.NoCompression);
                using var s = entry.Open();
                s.Write(data);
            }
        }
        return ms.ToArray();
    }

    /// <summary>Writes <paramref name="size"/> over the uncompressed size of <paramref name="member"/> in its local and central headers.</summary>
    private static void PatchUncompressedSize(byte[] zip, string member, uint size)
    {
        byte[] name = Encoding.UTF8.GetBytes(member);
        int patched = 0;
        for (int at = 0; at + 46 <= zip.Length; at++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(at));
            (int sizeAt, int nameAt) = sig switch { 0x04034B50 => (22, 30), 0x02014B50 => (24, 46), _ => (-1, -1) };
            if (sizeAt < 0 || !zip.AsSpan(at + nameAt).StartsWith(name)) continue;
            BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at + sizeAt), size);
            patched++;
        }
        Assert.Equal(2, patched);
    }

    /// <summary>A protocol-2 pickle of an OrderedDict of tensors, as torch.save writes it (without the memo).</summary>
    private static byte[] Pickle(params byte[][] tensors) =>
        [0x80, 2, .. "ccollections\nOrderedDict\n)R("u8, .. tensors.SelectMany(t => t), (byte)'u', (byte)'.'];

    /// <summary>name -> torch._utils._rebuild_tensor_v2(storage (FloatStorage, key, numel), offset 0, shape, stride, False, OrderedDict()).</summary>
    private static byte[] Tensor(string name, string key, int numel, int[] shape, int[] stride) =>
        [.. Str(name), .. "ctorch._utils\n_rebuild_tensor_v2\n(("u8, .. Str("storage"), .. "ctorch\nFloatStorage\n"u8, .. Str(key), .. Str("cpu"), .. Int(numel), (byte)'t', (byte)'Q',
         .. Int(0), .. Tuple(shape), .. Tuple(stride), 0x89, .. "ccollections\nOrderedDict\n)Rt"u8, (byte)'R'];

    private static byte[] Str(string s)
    {
        byte[] b = Encoding.UTF8.GetBytes(s);
        return [(byte)'X', .. BitConverter.GetBytes(b.Length), .. b];
    }

    private static byte[] Int(int v) => [(byte)'J', .. BitConverter.GetBytes(v)];

    private static byte[] Tuple(int[] xs) => [(byte)'(', .. xs.SelectMany(Int), (byte)'t'];
}
