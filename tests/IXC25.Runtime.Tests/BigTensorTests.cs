using System.Diagnostics;
using System.Runtime.InteropServices;
using IXC25.Runtime.Compare;
using IXC25.Runtime.IO;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;
using Xunit.Abstractions;

namespace IXC25.Runtime.Tests;

/// <summary>
/// Tensors of any size: the piecewise writer, the piecewise comparison (equal to one pass, bit for bit),
/// and a real tensor above 2 GiB written in pieces, mapped, refused as one span and compared in pieces.
/// </summary>
public sealed class BigTensorTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-big-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ToleranceInfo Tol = new("test", 1e-3, 1e-3, 1e-6, "test");

    private static float[] Values(int n, int seed) => Enumerable.Range(0, n).Select(i => (float)Math.Sin(seed + i * 0.37) * 10f).ToArray();

    [Fact]
    public void ChunkedAddCutsAnywhereAndAsksEachPieceOnceInOrder()
    {
        string p = Path.Combine(_dir, "c.safetensors");
        var a = Values(1001, 1); // 4004 bytes: no chunk size below divides it evenly
        var b = Values(5, 2);
        var asked = new List<(long Offset, int Length)>();
        using (var w = new SafetensorsWriter(p))
        {
            w.AddF32("before", [5], b);
            w.Add("a", DType.F32, [7, 143], (offset, chunk) =>
            {
                asked.Add((offset, chunk.Length));
                MemoryMarshal.AsBytes(a.AsSpan()).Slice((int)offset, chunk.Length).CopyTo(chunk);
            }, chunkBytes: 12);
            w.Add("u", DType.U8, [3], (offset, chunk) => chunk.Fill((byte)(offset + 7)), chunkBytes: 1000);
            w.AddF32("after", [5], b);
            w.Commit();
        }
        Assert.Equal(334, asked.Count); // ceil(4004 / 12)
        Assert.Equal(0, asked[0].Offset);
        for (int i = 1; i < asked.Count; i++) Assert.Equal(asked[i - 1].Offset + asked[i - 1].Length, asked[i].Offset);
        Assert.Equal(8, asked[^1].Length);
        Assert.Equal(4004, asked[^1].Offset + asked[^1].Length);
        Assert.All(asked, x => Assert.True(x.Length <= 12 && x.Length % 4 == 0));
        using var f = new SafetensorsFile(p);
        Assert.Equal(["before", "a", "u", "after"], f.Tensors.Select(t => t.Name));
        Assert.Equal(a, f["a"].AsSpan<float>().ToArray());
        Assert.Equal(new byte[] { 7, 7, 7 }, f["u"].AsSpan<byte>().ToArray());
        Assert.Equal(b, f["after"].AsSpan<float>().ToArray());
    }

    [Fact]
    public void AFailureMidTensorLeavesNoTraceAndTheWriterGoesOn()
    {
        string p = Path.Combine(_dir, "f.safetensors");
        var a = Values(1000, 3);
        using (var w = new SafetensorsWriter(p))
        {
            w.AddF32("first", [3], [1f, 2f, 3f]);
            // an I/O failure of the source (or of the disk) becomes one line naming the tensor and its size
            var e = Assert.Throws<IxcException>(() => w.Add("a", DType.F32, [1000], (offset, chunk) =>
            {
                if (offset >= 2000) throw new IOException("device went away");
                chunk.Fill(0xAB);
            }, chunkBytes: 400));
            Assert.EndsWith("cannot write tensor 'a' (4,000 bytes): device went away", e.Message);
            Assert.False(File.Exists(p)); // nothing at the destination until Commit
            // the name is free again and the file holds no bytes of the failed attempt (2,000 were written, the
            // retry is shorter)
            w.Add("a", DType.F32, [100], (offset, chunk) => MemoryMarshal.AsBytes(a.AsSpan()).Slice((int)offset, chunk.Length).CopyTo(chunk), chunkBytes: 400);
            w.Commit();
        }
        using (var f = new SafetensorsFile(p))
        {
            Assert.Equal(["first", "a"], f.Tensors.Select(t => t.Name));
            Assert.Equal(a.Take(100), f["a"].AsSpan<float>().ToArray());
            long header = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(p));
            Assert.Equal(12 + 400, new FileInfo(p).Length - 8 - header); // data: "first" and "a", nothing else
        }
        // a writer abandoned after a failure leaves nothing behind: no file, no temporary
        string q = Path.Combine(_dir, "g.safetensors");
        using (var w = new SafetensorsWriter(q))
            Assert.Throws<InvalidOperationException>(() => w.Add("x", DType.F32, [100], (_, _) => throw new InvalidOperationException("boom"), chunkBytes: 40));
        Assert.Equal([p], Directory.GetFiles(_dir));
    }

    [Fact]
    public void CommitInPlaceOrByCopyGivesTheSameTensors()
    {
        var a = Values(3000, 4);
        var md = new Dictionary<string, string> { ["producer"] = "test" };
        var big = new Dictionary<string, string> { ["long"] = new string('x', SafetensorsWriter.HeaderReserve) }; // header cannot fit the reserve
        foreach (var (name, minBytes, metadata, inPlace) in new[] { ("copy", long.MaxValue, md, false), ("inplace", 0L, md, true), ("fallback", 0L, big, false) })
        {
            string p = Path.Combine(_dir, name + ".safetensors");
            using (var w = new SafetensorsWriter(p) { InPlaceMinBytes = minBytes })
            {
                w.AddF32("a", [3, 1000], a);
                w.Add("u", DType.U8, [5], (offset, chunk) => chunk.Fill(9), chunkBytes: 2);
                w.Commit(metadata);
                Assert.Equal(inPlace, w.CommittedInPlace);
            }
            using var f = new SafetensorsFile(p);
            Assert.Equal(["a", "u"], f.Tensors.Select(t => t.Name));
            Assert.Equal(a, f["a"].AsSpan<float>().ToArray());
            Assert.Equal(new byte[] { 9, 9, 9, 9, 9 }, f["u"].AsSpan<byte>().ToArray());
            Assert.Equal(metadata.First().Value, f.Metadata[metadata.First().Key]);
            long expected = inPlace ? SafetensorsWriter.HeaderReserve + 12005 : new FileInfo(p).Length;
            Assert.Equal(expected, new FileInfo(p).Length);
        }
        Assert.Equal(3, Directory.GetFiles(_dir).Length); // no temporaries left
    }

    [Fact]
    public void PiecewiseStatsEqualOnePassOnRandomDataWithNaNAndInf()
    {
        var rng = new Random(17);
        const int n = 10_007;
        var refv = new float[n];
        var act = new float[n];
        for (int i = 0; i < n; i++)
        {
            refv[i] = (float)(rng.NextDouble() * 20 - 10) * (rng.Next(10) == 0 ? 1e-4f : 1f);
            act[i] = refv[i] + (float)(rng.NextDouble() - 0.5) * 1e-3f;
        }
        refv[100] = 0f; act[100] = 1e-5f;                          // zero reference: no relative error
        refv[2000] = act[2000] = float.NaN;                         // matched NaN
        refv[3000] = act[3000] = float.NegativeInfinity;            // matched -Inf
        var cases = new (string Name, float[] A)[]
        {
            ("clean-ish", act),
            ("late bad value", With(act, (8191, refv[8191] + 1f))),
            ("NaN mismatch after a bad value", With(act, (4000, refv[4000] + 1f), (9000, float.NaN))),
            ("Inf sign mismatch", With(act, (5000, float.PositiveInfinity), (3000, float.PositiveInfinity))),
        };
        foreach (var (name, a) in cases)
        {
            var one = TensorComparer.Compare(a, refv, Tol);
            var ta = NamedTensor.F32("t", [n], a);
            var tr = NamedTensor.F32("t", [n], refv);
            foreach (int chunk in new[] { 1, 3, 7, 1000, 4096, n - 1, n, 1 << 20 })
                Assert.Equal(one, NamedTensorComparer.Compare(ta, tr, Tol, chunk).Stats); // record equality: every double bit for bit
            // uneven pieces straight into the accumulator
            var acc = new CompareAccumulator(Tol);
            for (int at = 0; at < n;)
            {
                int m = Math.Min(n - at, rng.Next(1, 900));
                acc.Add(a.AsSpan(at, m), refv.AsSpan(at, m));
                at += m;
            }
            Assert.Equal(one, acc.Result());
            log.WriteLine($"{name}: {one}");
        }
        Assert.True(TensorComparer.Compare(cases[0].A, refv, Tol).Pass);
        Assert.Equal(8191, TensorComparer.Compare(cases[1].A, refv, Tol).FirstBad);
        var nanCase = TensorComparer.Compare(cases[2].A, refv, Tol);
        Assert.Equal((9000L, true), (nanCase.FirstBad, nanCase.NonFiniteMismatch)); // a NaN/Inf mismatch is the index reported, as before
        Assert.Equal((3000L, true), (TensorComparer.Compare(cases[3].A, refv, Tol).FirstBad, TensorComparer.Compare(cases[3].A, refv, Tol).NonFiniteMismatch));

        // widened dtypes and exact dtypes in pieces
        var bf = refv.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();
        var tb = NamedTensor.BF16("t", [n], bf);
        var oneBf = NamedTensorComparer.Compare(NamedTensor.F32("t", [n], act), tb, Tol, n).Stats;
        foreach (int chunk in new[] { 1, 5, 333, 4096 })
            Assert.Equal(oneBf, NamedTensorComparer.Compare(NamedTensor.F32("t", [n], act), tb, Tol, chunk).Stats);
        var ids = Enumerable.Range(0, n).Select(i => (long)i * 31).ToArray();
        var ids2 = (long[])ids.Clone();
        ids2[7777] = -1;
        foreach (int chunk in new[] { 1, 10, 4096, n })
        {
            Assert.Equal("ok   exact", NamedTensorComparer.Compare(NamedTensor.I64("i", [n], ids), NamedTensor.I64("i", [n], ids), Tol, chunk).Text);
            Assert.Equal("FAIL values differ; first offending index 7777", NamedTensorComparer.Compare(NamedTensor.I64("i", [n], ids2), NamedTensor.I64("i", [n], ids), Tol, chunk).Text);
        }
    }

    private static float[] With(float[] a, params (int Index, float Value)[] changes)
    {
        var c = (float[])a.Clone();
        foreach (var (i, v) in changes) c[i] = v;
        return c;
    }

    /// <summary>
    /// A real file with an f32 tensor of 2 GiB + 4 KiB (and a bf16 twin of 1 GiB), made sparse (a header, then
    /// holes and a few values), so it costs no disk: mapped, refused as one span with a line naming it, and read
    /// past the 2 GiB mark (well under a second). Comparing it whole takes 3-30 s of page faults and 537M
    /// elements on a shared 2-core machine, so that half runs only with IXC25_BIG_TESTS=1
    /// (<see cref="ATensorAbove2GiBIsComparedInPieces"/>).
    /// </summary>
    [Fact]
    public void ATensorAbove2GiBIsMappedRefusedAsOneSpanAndReadInPieces()
    {
        const long n = (1L << 29) + 1024, bad = (1L << 29) + 100;
        string p = Path.Combine(_dir, "sparse.safetensors");
        var sw = Stopwatch.StartNew();
        WriteSparse(p, n, bad);
        using var file = new SafetensorsFile(p);
        var a = file["a"];
        Assert.Equal(n * 4, a.Data.ByteLength);
        var e = Assert.Throws<IxcException>(() => { _ = a.AsSpan<float>(); });
        Assert.Equal("tensor 'a' (F32 [536871936]) is 2,147,487,744 bytes (2.00 GiB), more than one span holds (2,147,483,647 bytes); it can only be read in pieces", e.Message);
        Assert.Throws<IxcException>(() => { _ = a.Data.Bytes; });
        var around = new float[3];
        a.ReadFloat32(bad - 1, around);
        Assert.Equal(new[] { 3f, 0.5f, 0f }, around);
        Assert.Equal(new[] { 7f }, MemoryMarshal.Cast<byte, float>(a.ByteSlice(n * 4 - 4, 4)).ToArray());
        var b = new float[2];
        file["b"].ReadFloat32(bad - 1, b);
        Assert.Equal(new[] { 3f, 0f }, b);
        log.WriteLine($"made and read in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>The sparse file of <see cref="ATensorAbove2GiBIsMappedRefusedAsOneSpanAndReadInPieces"/> compared whole, in pieces: the one value that differs, beyond 2 GiB of data, is found at its index.</summary>
    [BigFact]
    public void ATensorAbove2GiBIsComparedInPieces()
    {
        const long n = (1L << 29) + 1024, bad = (1L << 29) + 100;
        string p = Path.Combine(_dir, "sparse.safetensors");
        WriteSparse(p, n, bad);
        var sw = Stopwatch.StartNew();
        using var file = new SafetensorsFile(p);
        var vs = NamedTensorComparer.Compare(file["a"], file["b"], Tol);
        Assert.False(vs.Pass);
        Assert.Equal((n, bad, 0.5), (vs.Stats!.Count, vs.Stats.FirstBad, vs.Stats.MaxAbs));
        log.WriteLine($"compared in {sw.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>
    /// "a" f32 [n] and "b" bf16 [n], zero but for a[bad - 1] = b[bad - 1] = 3, a[bad] = 0.5, a[n - 1] = b[n - 1] = 7,
    /// written as a sparse file (IXC25.Cli.Tests has the same helper).
    /// </summary>
    private static void WriteSparse(string path, long n, long bad)
    {
        string json = FormattableString.Invariant($"{{\"a\":{{\"dtype\":\"F32\",\"shape\":[{n}],\"data_offsets\":[0,{4 * n}]}},\"b\":{{\"dtype\":\"BF16\",\"shape\":[{n}],\"data_offsets\":[{4 * n},{6 * n}]}}}}");
        var header = System.Text.Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        long data = 8 + header.Length;
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        var len = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(len, header.Length);
        fs.Write(len);
        fs.Write(header);
        fs.SetLength(data + 6 * n);
        void F(long index, float v) { fs.Position = data + 4 * index; fs.Write(BitConverter.GetBytes(v)); }
        void B(long index, float v) { fs.Position = data + 4 * n + 2 * index; fs.Write(BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))); }
        F(bad - 1, 3f); B(bad - 1, 3f); F(bad, 0.5f); F(n - 1, 7f); B(n - 1, 7f);
    }

    /// <summary>
    /// The same through the writer, for real: 3 GiB written in pieces and committed in place. It took 5 s on a quiet moment, 48 s under load,
    /// and 3 GiB of temporary disk on a shared 2-core machine, so it runs only with IXC25_BIG_TESTS=1.
    /// </summary>
    [BigFact]
    public void ATensorAbove2GiBIsWrittenMappedAndComparedInPieces()
    {
        const long n = (1L << 29) + 1024; // f32: 2 GiB + 4 KiB
        const long bad = (1L << 29) + 100; // its bytes lie past 2 GiB
        string p = Path.Combine(_dir, "big.safetensors");
        var sw = Stopwatch.StartNew();
        using (var w = new SafetensorsWriter(p))
        {
            // values exact in bf16 (small integers), so the f32 and bf16 tensors are equal but for one element
            w.Add("a", DType.F32, [n], (offset, chunk) =>
            {
                var f = MemoryMarshal.Cast<byte, float>(chunk);
                long start = offset / 4;
                int v = (int)(start % 251);
                for (int i = 0; i < f.Length; i++) { f[i] = v; if (++v == 251) v = 0; }
                if (bad >= start && bad < start + f.Length) f[(int)(bad - start)] = 0.5f;
            });
            w.Add("b", DType.BF16, [n], (offset, chunk) =>
            {
                var h = MemoryMarshal.Cast<byte, ushort>(chunk);
                long start = offset / 2;
                int v = (int)(start % 251);
                for (int i = 0; i < h.Length; i++) { h[i] = (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16); if (++v == 251) v = 0; }
            });
            w.Commit();
            Assert.True(w.CommittedInPlace); // written once: the data file renamed into place
        }
        log.WriteLine($"wrote {new FileInfo(p).Length:N0} bytes in {sw.Elapsed.TotalSeconds:0.0} s");
        sw.Restart();
        using var file = new SafetensorsFile(p);
        var a = file["a"];
        Assert.Equal(n * 4, a.Data.ByteLength);
        var e = Assert.Throws<IxcException>(() => { _ = a.AsSpan<float>(); });
        Assert.Contains("tensor 'a'", e.Message);
        Assert.Contains("2,147,487,744 bytes", e.Message);
        Assert.Contains("2,147,483,647", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.Throws<IxcException>(() => { _ = a.Data.Bytes; });
        var tail = new float[3];
        a.ReadFloat32(bad - 1, tail);
        Assert.Equal(new[] { (float)((bad - 1) % 251), 0.5f, (float)((bad + 1) % 251) }, tail);
        Assert.Equal(new[] { (float)((n - 1) % 251) }, MemoryMarshal.Cast<byte, float>(a.ByteSlice(n * 4 - 4, 4)).ToArray());

        var self = NamedTensorComparer.Compare(a, a, Tol);
        Assert.True(self.Pass, self.Text);
        Assert.Equal(n, self.Stats!.Count);
        var vs = NamedTensorComparer.Compare(a, file["b"], Tol);
        Assert.False(vs.Pass);
        Assert.Equal(bad, vs.Stats!.FirstBad);
        Assert.Equal(Math.Abs(0.5 - bad % 251), vs.Stats.MaxAbs);
        Assert.True(NamedTensorComparer.Compare(file["b"], file["b"], Tol).Pass);
        log.WriteLine($"read and compared in {sw.Elapsed.TotalSeconds:0.0} s");
    }
}

/// <summary>A test that needs gigabytes of disk and tens of seconds: runs only with IXC25_BIG_TESTS=1.</summary>
public sealed class BigFactAttribute : FactAttribute
{
    public BigFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("IXC25_BIG_TESTS") != "1") Skip = "writes 3 GiB; set IXC25_BIG_TESTS=1 to run";
    }
}
