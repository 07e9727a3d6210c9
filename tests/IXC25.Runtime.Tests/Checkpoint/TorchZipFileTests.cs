using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Tests;

public sealed class TorchZipFileTests
{
    [Theory]
    [InlineData("dtypes.bin")]           // f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool, 0-dim, empty
    [InlineData("shared.bin")]           // views of one storage: offsets, transposed, sliced, expanded, tied
    [InlineData("proto4.bin")]           // pickle protocol 4: FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE
    [InlineData("nested.bin")]           // {'epoch':.., 'state_dict': {...}, 'optimizer': {...}}
    [InlineData("module_state.bin")]     // nn.Module.state_dict(): OrderedDict + BUILD of _metadata
    [InlineData("parameters.bin")]       // nn.Parameter values: _rebuild_parameter
    [InlineData("deflated.bin")]         // the same archive with DEFLATED members
    [InlineData("zip64.bin")]            // every size and offset in ZIP64 extra fields
    [InlineData("zip64_python.bin")]     // Python's zipfile force_zip64 (local headers only)
    [InlineData("byteorder_little.bin")] // explicit byteorder record
    public void EveryFixtureLoadsWithTheValuesTorchReported(string file)
    {
        var expected = Fixtures.Expected(file);
        using var z = new TorchZipFile(Fixtures.Path(file));
        Assert.Equal(expected.GetProperty("wrapper").EnumerateArray().Select(e => e.GetString()), z.StateDictPath);
        Assert.Equal(expected.GetProperty("names").EnumerateArray().Select(e => e.GetString()!), z.Names);
        Assert.Equal(z.Names, z.Infos.Select(i => i.Name));
        foreach (var name in z.Names)
        {
            var e = expected.GetProperty("tensors").GetProperty(name);
            var t = z.Get(name);
            Assert.Equal(name, t.Name);
            Assert.Equal(t.DType, z.GetInfo(name).DType);
            Assert.Equal(t.Shape, z.GetInfo(name).Shape);
            Fixtures.AssertMatches(e, t);
            Assert.Same(t, z.Get(name)); // loaded once
        }
    }

    [Fact]
    public unsafe void ContiguousViewsAreZeroCopyAtTheirStorageOffsets()
    {
        using var z = new TorchZipFile(Fixtures.Path("shared.bin"));
        byte* P(string n) => ((PointerBuffer)z.Get(n).Data).Pointer;
        foreach (var n in new[] { "base", "row2", "tail", "block", "tied.a", "tied.b", "tied.row" })
            Assert.True(z.IsZeroCopy(n), n);
        foreach (var n in new[] { "transposed", "cols", "expanded" })
            Assert.False(z.IsZeroCopy(n), n);
        Assert.True(P("row2") == P("base") + 12 * sizeof(float));
        Assert.True(P("tail") == P("base") + 5 * sizeof(float));
        Assert.True(P("block") == P("base") + 6 * sizeof(float));
        Assert.True(P("tied.a") == P("tied.b"));
        Assert.True(P("tied.row") == P("tied.a") + 3 * 3 * 2);
        // bf16 stays bf16, as stored
        Assert.Equal(DType.BF16, z.Get("tied.a").DType);
        // the materialized transpose is the row-major [6, 4] of base.t()
        var tr = z.Get("transposed").AsSpan<float>().ToArray();
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (float)(i % 4 * 6 + i / 4)), tr);
    }

    [Fact]
    public void TensorsRefuseToBeReadAfterDispose()
    {
        var z = new TorchZipFile(Fixtures.Path("shared.bin"));
        var mapped = z.Get("base");
        var copied = z.Get("transposed");
        z.Dispose();
        Assert.Throws<ObjectDisposedException>(() => mapped.Data.Bytes.Length);
        Assert.Throws<ObjectDisposedException>(() => copied.Data.Bytes.Length);
    }

    [Fact]
    public void UnknownNameIsAnErrorAndTryGetSaysFalse()
    {
        using var z = new TorchZipFile(Fixtures.Path("dtypes.bin"));
        Assert.False(z.TryGet("nope", out _));
        var e = Assert.Throws<IxcException>(() => z.Get("nope"));
        Assert.Contains("'nope'", e.Message);
    }

    [Theory]
    [InlineData("evil_os_system.bin", "posix.system")]        // GLOBAL 'posix system' + REDUCE
    [InlineData("evil_eval.bin", "__builtin__.eval")]         // GLOBAL '__builtin__ eval'
    [InlineData("evil_stack_global.bin", "posix.system")]     // protocol 4 STACK_GLOBAL
    [InlineData("evil_in_state_dict.bin", "posix.system")]    // after a dozen valid tensors
    public void MaliciousPicklesAreRefusedNamingTheGlobal(string file, string global)
    {
        if (File.Exists(Fixtures.PwnedMarker)) File.Delete(Fixtures.PwnedMarker);
        string path = Fixtures.Path(file);
        var e = Assert.Throws<IxcException>(() => new TorchZipFile(path));
        Assert.Contains($"refusing pickle global '{global}'", e.Message);
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Fixtures.PwnedMarker), "a payload ran");
    }

    [Theory]
    [InlineData("evil_os_system.pkl", "posix.system")]
    [InlineData("evil_eval.pkl", "__builtin__.eval")]
    [InlineData("evil_stack_global.pkl", "posix.system")]
    public void TheInterpreterRefusesMaliciousPicklesAtTheGlobalOpcode(string file, string global)
    {
        var bytes = File.ReadAllBytes(Fixtures.Path(file));
        var e = Assert.Throws<IxcException>(() => TorchPickle.Load(bytes, file));
        Assert.StartsWith(file + ": refusing pickle global '" + global + "' at byte ", e.Message);
        Assert.False(File.Exists(Fixtures.PwnedMarker), "a payload ran");
    }

    [Theory]
    [InlineData("legacy.bin", "legacy torch serialization not supported, re-save with torch>=1.6")]
    [InlineData("byteorder_big.bin", "big-endian")]
    [InlineData("truncated.bin", "truncated or not a zip archive")]
    [InlineData("truncated_pickle.bin", "truncated pickle")]
    [InlineData("corrupt_pickle.bin", "opcode 0xff")]
    public void DamagedOrUnsupportedFilesAreClearErrors(string file, string message)
    {
        string path = Fixtures.Path(file);
        var e = Assert.Throws<IxcException>(() => new TorchZipFile(path));
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TheZipDirectoryReadsZip64ExtraFieldsLikeTheOrdinaryOne()
    {
        // zip64.bin holds the members of shared.bin, with every size and offset moved into ZIP64 fields
        using var plain = new MappedFile(Fixtures.Path("shared.bin"));
        using var z64 = new MappedFile(Fixtures.Path("zip64.bin"));
        using var py64 = new MappedFile(Fixtures.Path("zip64_python.bin"));
        var a = ZipDirectory.Read(plain);
        foreach (var other in new[] { z64, py64 })
        {
            var b = ZipDirectory.Read(other);
            Assert.Equal(a.Select(e => (e.Name, e.Method, e.UncompressedSize)), b.Select(e => (e.Name, e.Method, e.UncompressedSize)));
            for (int i = 0; i < a.Count; i++)
                Assert.True(plain.Slice(a[i].DataOffset, (int)a[i].CompressedSize).SequenceEqual(other.Slice(b[i].DataOffset, (int)b[i].CompressedSize)), a[i].Name);
        }
        // the hand-made archive aligns data to 64 bytes as torch does
        Assert.All(ZipDirectory.Read(z64), e => Assert.Equal(0, e.DataOffset % 64));
        Assert.Equal("3\n", System.Text.Encoding.ASCII.GetString(z64.Slice(ZipDirectory.Read(z64).Single(e => e.Name == "shared/version").DataOffset, 2)));
    }

    [Fact]
    public void TheInterpreterReadsAStateDictPickle()
    {
        var v = TorchPickle.Load(File.ReadAllBytes(Fixtures.Path("dtypes.pkl")), "dtypes.pkl");
        var d = Assert.IsType<PickleDict>(v);
        Assert.True(d.Ordered);
        Assert.Equal(Fixtures.Expected("dtypes.bin").GetProperty("names").EnumerateArray().Select(e => e.GetString()), d.Items.Select(kv => (string)kv.Key!));
        var f32 = Assert.IsType<TorchTensorRef>(d.Items[0].Value);
        Assert.Equal(DType.F32, f32.Storage.DType);
        Assert.Equal(new long[] { 3, 4 }, f32.Shape);
        Assert.Equal(new long[] { 4, 1 }, f32.Stride);
    }

    public static TheoryData<string, byte[], string> BadPickles => new()
    {
        { "unknown opcode", [0x80, 2, 0xfe], "opcode 0xfe at byte 2" },
        { "no STOP", [0x80, 2, (byte)'N'], "no STOP" },
        { "BINUNICODE8 longer than the file", [0x80, 4, 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, (byte)'.'], "runs past the end" },
        { "BINUNICODE longer than the file", [0x80, 2, (byte)'X', 0xff, 0xff, 0xff, 0xff, (byte)'.'], "runs past the end" },
        { "LONG4 longer than the file", [0x80, 2, 0x8b, 0x00, 0x00, 0x00, 0x80, (byte)'.'], "runs past the end" },
        { "FRAME longer than the file", [0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, (byte)'.'], "frame" },
        { "memo read before write", [0x80, 2, (byte)'j', 5, 0, 0, 0, (byte)'.'], "memo entry 5" },
        { "stack underflow", [0x80, 2, (byte)'0', (byte)'.'], "underflow" },
        { "TUPLE without MARK", [0x80, 2, (byte)'N', (byte)'t', (byte)'.'], "no MARK" },
        { "two values at STOP", [0x80, 2, (byte)'N', (byte)'N', (byte)'.'], "2 values" },
        { "SETITEM on a list", [0x80, 2, (byte)']', (byte)'N', (byte)'N', (byte)'s', (byte)'.'], "set item on a list" },
        { "REDUCE of a string", [0x80, 2, (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)')', (byte)'R', (byte)'.'], "REDUCE of 'a'" },
        { "invalid UTF-8", [0x80, 2, (byte)'X', 1, 0, 0, 0, 0xff, (byte)'.'], "UTF-8" },
        { "protocol 9", [0x80, 9, (byte)'N', (byte)'.'], "protocol 9" },
        { "unterminated GLOBAL", [0x80, 2, (byte)'c', (byte)'o', (byte)'s'], "unterminated" },
        { "GLOBAL os system", P2("cos\nsystem\n", [(byte)'.']), "'os.system'" },
        { "GLOBAL builtins getattr", P2("c__builtin__\ngetattr\n", [(byte)'.']), "'__builtin__.getattr'" },
        { "GLOBAL subprocess Popen", P2("csubprocess\nPopen\n", [(byte)'.']), "'subprocess.Popen'" },
        { "GLOBAL torch.load", P2("ctorch\nload\n", [(byte)'.']), "'torch.load'" },
        { "INST os system", P2("(ios\nsystem\n", [(byte)'.']), "'os.system'" },
        { "unsupported storage", P2("ctorch\nComplexFloatStorage\n", [(byte)'.']), "torch.ComplexFloatStorage is not supported" },
        { "OrderedDict with arguments", P2("ccollections\nOrderedDict\n", [(byte)'N', 0x85, (byte)'R', (byte)'.']), "1 arguments" },
        { "bad persistent id", [0x80, 2, (byte)'N', (byte)'Q', (byte)'.'], "persistent id" },
    };

    /// <summary>PROTO 2 followed by ASCII text and then raw bytes.</summary>
    private static byte[] P2(string ascii, byte[] tail) => [0x80, 2, .. System.Text.Encoding.ASCII.GetBytes(ascii), .. tail];

    [Theory]
    [MemberData(nameof(BadPickles))]
    public void MalformedPicklesAreIxcExceptions(string what, byte[] pickle, string message)
    {
        var e = Assert.Throws<IxcException>(() => TorchPickle.Load(pickle, "test.pkl"));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{what}: {e.Message}");
        Assert.StartsWith("test.pkl: ", e.Message);
    }

    [Fact]
    public void APickleThatIsNotAStateDictIsAClearError()
    {
        using var d = new Fixtures.TempDir();
        // a zip whose data.pkl is a list, and one holding a dict with a non-tensor value
        var list = (byte[])[0x80, 2, (byte)']', (byte)'.'];
        var dict = (byte[])[0x80, 2, (byte)'}', (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'K', 7, (byte)'s', (byte)'.'];
        WriteZip(d.File("list.bin"), ("archive/data.pkl", list));
        WriteZip(d.File("dict.bin"), ("archive/data.pkl", dict));
        Assert.Contains("holds a list of 0, expected a dict of tensors", Assert.Throws<IxcException>(() => new TorchZipFile(d.File("list.bin"))).Message);
        Assert.Contains("data.pkl['a'] is int 7, expected a tensor", Assert.Throws<IxcException>(() => new TorchZipFile(d.File("dict.bin"))).Message);
        WriteZip(d.File("nopkl.bin"), ("archive/other", list));
        Assert.Contains("no <archive>/data.pkl", Assert.Throws<IxcException>(() => new TorchZipFile(d.File("nopkl.bin"))).Message);
        File.WriteAllBytes(d.File("text.bin"), "hello world, not a checkpoint"u8.ToArray());
        Assert.Contains("not a zip archive", Assert.Throws<IxcException>(() => new TorchZipFile(d.File("text.bin"))).Message);
    }

    [Fact]
    public void AStorageMissingOrOfTheWrongSizeIsAnErrorNamingTheTensor()
    {
        using var d = new Fixtures.TempDir();
        var members = ReadMembers(Fixtures.Path("dtypes.bin"));
        // drop the storage of the first tensor (key "0"), then shorten it
        WriteZip(d.File("missing.bin"), members.Where(m => m.Name != "dtypes/data/0").ToArray());
        var e = Assert.Throws<IxcException>(() => new TorchZipFile(d.File("missing.bin")));
        Assert.Contains("tensor 'f32' needs storage 'dtypes/data/0', which is not in the archive", e.Message);
        WriteZip(d.File("short.bin"), members.Select(m => m.Name == "dtypes/data/0" ? (m.Name, m.Data[..^4]) : m).ToArray());
        e = Assert.Throws<IxcException>(() => new TorchZipFile(d.File("short.bin")));
        Assert.Contains("storage 'dtypes/data/0' of tensor 'f32' has 44 bytes, expected 48", e.Message);
    }

    internal static (string Name, byte[] Data)[] ReadMembers(string path)
    {
        using var z = System.IO.Compression.ZipFile.OpenRead(path);
        return z.Entries.Select(e =>
        {
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return (e.FullName, ms.ToArray());
        }).ToArray();
    }

    internal static void WriteZip(string path, params (string Name, byte[] Data)[] members)
    {
        using var fs = File.Create(path);
        using var z = new System.IO.Compression.ZipArchive(fs, System.IO.Compression.ZipArchiveMode.Create);
        foreach (var (name, data) in members)
        {
            var e = z.CreateEntry(name, System.IO.Compression.CompressionLevel.NoCompression);
            using var s = e.Open();
            s.Write(data);
        }
    }
}
