using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace IXC25.Conformance.Surfaces.Images;

/// <summary>The PNG pixel layouts the kit writes: colour type 0 (gray), 2 (RGB), 4 (gray + alpha), 6 (RGBA) at 8 or 16 bits.</summary>
public enum PngPixelFormat
{
    Rgb8,
    Gray8,
    GrayAlpha8,
    Rgba8,
    Rgb16,
    Gray16,
}

/// <summary>
/// A small exact PNG encoder: IHDR, one zlib stream of unfiltered rows (filter type 0) in IDAT chunks, IEND.
/// The samples written are exactly the ones given (16-bit samples big-endian, as PNG stores them), so a case's
/// input image is precisely what the case says, whatever encoder settings other tools would pick.
/// </summary>
public static class PngWriter
{
    private static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>Channels per pixel of <paramref name="format"/>.</summary>
    public static int Channels(PngPixelFormat format) => format switch
    {
        PngPixelFormat.Gray8 or PngPixelFormat.Gray16 => 1,
        PngPixelFormat.GrayAlpha8 => 2,
        PngPixelFormat.Rgb8 or PngPixelFormat.Rgb16 => 3,
        PngPixelFormat.Rgba8 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>Bits per sample of <paramref name="format"/> (8 or 16).</summary>
    public static int BitDepth(PngPixelFormat format) => format is PngPixelFormat.Rgb16 or PngPixelFormat.Gray16 ? 16 : 8;

    /// <summary>PNG colour type of <paramref name="format"/> (0 gray, 2 RGB, 4 gray + alpha, 6 RGBA).</summary>
    public static byte ColorType(PngPixelFormat format) => Channels(format) switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 };

    /// <summary>Bytes of one row of samples (without the filter byte).</summary>
    public static long RowBytes(int width, PngPixelFormat format) => (long)width * Channels(format) * BitDepth(format) / 8;

    /// <summary>
    /// Writes a <paramref name="width"/> x <paramref name="height"/> PNG to <paramref name="path"/>.
    /// <paramref name="fillRow"/>(y, row) fills row y's samples: channels interleaved, 16-bit samples big-endian.
    /// </summary>
    public static void Write(string path, int width, int height, PngPixelFormat format, Action<int, Span<byte>> fillRow)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(file, width, height, format, fillRow);
    }

    /// <inheritdoc cref="Write(string, int, int, PngPixelFormat, Action{int, Span{byte}})"/>
    public static void Write(Stream output, int width, int height, PngPixelFormat format, Action<int, Span<byte>> fillRow)
    {
        if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"PNG size {width}x{height} is empty");
        long rowBytes = RowBytes(width, format);
        if (rowBytes + 1 > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(width), $"PNG row of {rowBytes} bytes is too long");
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(0), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = (byte)BitDepth(format);
        ihdr[9] = ColorType(format);
        // ihdr[10..12]: compression 0 (deflate), filter method 0, no interlace
        WriteChunk(output, "IHDR", ihdr);

        using (var idat = new IdatStream(output))
        {
            using var zlib = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true);
            var row = new byte[rowBytes + 1]; // row[0] = filter type 0 (None)
            for (int y = 0; y < height; y++)
            {
                row.AsSpan(1).Clear();
                fillRow(y, row.AsSpan(1));
                zlib.Write(row);
            }
        }
        WriteChunk(output, "IEND", []);
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        output.Write(head);
        output.Write(data);
        uint crc = Crc(Crc(0xFFFFFFFFu, head[4..]), data) ^ 0xFFFFFFFFu;
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        output.Write(tail);
    }

    private static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    private static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>Collects the zlib stream and writes it as IDAT chunks of at most 64 KiB.</summary>
    private sealed class IdatStream(Stream output) : Stream
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _used;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            while (data.Length > 0)
            {
                int n = Math.Min(data.Length, _buffer.Length - _used);
                data[..n].CopyTo(_buffer.AsSpan(_used));
                _used += n;
                data = data[n..];
                if (_used == _buffer.Length) Flush();
            }
        }

        public override void Flush()
        {
            if (_used == 0) return;
            WriteChunk(output, "IDAT", _buffer.AsSpan(0, _used));
            _used = 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) Flush();
            base.Dispose(disposing);
        }
    }
}
