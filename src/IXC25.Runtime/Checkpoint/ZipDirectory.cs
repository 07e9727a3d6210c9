using System.Buffers.Binary;
using System.Text;
using IXC25.Runtime.IO;

namespace IXC25.Runtime.Checkpoints;

/// <summary>One member of a zip archive, located in the mapped file.</summary>
/// <param name="Name">The member's path inside the archive ('/'-separated).</param>
/// <param name="Method">0 = STORED, 8 = DEFLATED (anything else is refused while reading the directory).</param>
/// <param name="DataOffset">Offset of the member's (possibly compressed) bytes in the file.</param>
internal sealed record ZipEntry(string Name, int Method, long CompressedSize, long UncompressedSize, long DataOffset)
{
    public const int Stored = 0;
    public const int Deflated = 8;
}

/// <summary>
/// Reads the central directory of a zip archive that is memory-mapped, with ZIP64 support (end record,
/// locator and the 0x0001 extra field of central entries), and resolves every member's data offset
/// through its local header. Nothing is decompressed or copied here: the result is a list of offsets.
/// Every count, size and offset is checked against the file length before use, so a damaged archive
/// gives an <see cref="IxcException"/>, never an out-of-range read. Multi-disk and encrypted archives
/// are refused.
/// </summary>
internal static class ZipDirectory
{
    private const uint LocalHeaderSig = 0x04034B50;
    private const uint CentralSig = 0x02014B50;
    private const uint EndSig = 0x06054B50;
    private const uint Zip64EndSig = 0x06064B50;
    private const uint Zip64LocatorSig = 0x07064B50;
    private const int EndSize = 22, LocatorSize = 20, Zip64EndSize = 56, CentralSize = 46, LocalSize = 30;

    /// <summary>
    /// A DEFLATED member claiming more than <c>MaxDeflateExpansion * compressed + 4096</c> bytes is corrupt: deflate
    /// expands at most about 1032:1. Checked here, before anything is allocated from the claim (issue 15: a 471-byte
    /// zip whose directory gave data.pkl 1 GiB made the reader allocate 1 GiB before inflating).
    /// </summary>
    public const long MaxDeflateExpansion = 1100;

    public static IReadOnlyList<ZipEntry> Read(MappedFile file)
    {
        string p = file.Path;
        long len = file.Length;
        long end = FindEnd(file);
        var eocd = file.Slice(end, EndSize);
        long diskNo = BinaryPrimitives.ReadUInt16LittleEndian(eocd[4..]);
        long cdDisk = BinaryPrimitives.ReadUInt16LittleEndian(eocd[6..]);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(eocd[12..]);
        long cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);
        long cdLimit = end; // the central directory must end before this offset

        if (end >= LocatorSize && BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(end - LocatorSize, 4)) == Zip64LocatorSig)
        {
            var loc = file.Slice(end - LocatorSize, LocatorSize);
            ulong z64At = BinaryPrimitives.ReadUInt64LittleEndian(loc[8..]);
            uint disks = BinaryPrimitives.ReadUInt32LittleEndian(loc[16..]);
            if (disks > 1) throw new IxcException($"{p}: multi-disk zip archives are not supported");
            if (z64At > (ulong)(end - LocatorSize) || (long)z64At + Zip64EndSize > end - LocatorSize)
                throw new IxcException($"{p}: corrupt zip: ZIP64 end record offset {z64At} is outside the file");
            var z = file.Slice((long)z64At, Zip64EndSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(z) != Zip64EndSig)
                throw new IxcException($"{p}: corrupt zip: no ZIP64 end record at offset {z64At}");
            diskNo = BinaryPrimitives.ReadUInt32LittleEndian(z[16..]);
            cdDisk = BinaryPrimitives.ReadUInt32LittleEndian(z[20..]);
            count = ToLong(p, "entry count", BinaryPrimitives.ReadUInt64LittleEndian(z[32..]));
            cdSize = ToLong(p, "central directory size", BinaryPrimitives.ReadUInt64LittleEndian(z[40..]));
            cdOffset = ToLong(p, "central directory offset", BinaryPrimitives.ReadUInt64LittleEndian(z[48..]));
            cdLimit = (long)z64At;
        }
        if (diskNo != 0 || cdDisk != 0) throw new IxcException($"{p}: multi-disk zip archives are not supported");
        if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset)
            throw new IxcException($"{p}: corrupt or truncated zip: central directory [{cdOffset}, +{cdSize}) does not fit before its end record at {cdLimit}");
        if (count > cdSize / CentralSize)
            throw new IxcException($"{p}: corrupt zip: {count} entries cannot fit in a central directory of {cdSize} bytes");

        var entries = new List<ZipEntry>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        long at = cdOffset, cdEnd = cdOffset + cdSize;
        for (long i = 0; i < count; i++)
        {
            if (cdEnd - at < CentralSize) throw new IxcException($"{p}: corrupt zip: central directory ends inside entry {i}");
            var c = file.Slice(at, CentralSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(c) != CentralSig)
                throw new IxcException($"{p}: corrupt zip: bad central directory signature at offset {at}");
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(c[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(c[10..]);
            long csize = BinaryPrimitives.ReadUInt32LittleEndian(c[20..]);
            long usize = BinaryPrimitives.ReadUInt32LittleEndian(c[24..]);
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(c[28..]);
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(c[30..]);
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(c[32..]);
            long disk = BinaryPrimitives.ReadUInt16LittleEndian(c[34..]);
            long localAt = BinaryPrimitives.ReadUInt32LittleEndian(c[42..]);
            long entryLen = (long)CentralSize + nameLen + extraLen + commentLen;
            if (cdEnd - at < entryLen) throw new IxcException($"{p}: corrupt zip: central directory ends inside entry {i}");
            var nameBytes = file.Slice(at + CentralSize, nameLen);
            string name = Encoding.UTF8.GetString(nameBytes);
            string shown = Printable(name);

            // ZIP64 extra field: the 64-bit values, in this order, for each 32-bit field that is saturated.
            var extra = file.Slice(at + CentralSize + nameLen, extraLen);
            bool needU = usize == 0xFFFFFFFF, needC = csize == 0xFFFFFFFF, needO = localAt == 0xFFFFFFFF, needD = disk == 0xFFFF;
            for (int e = 0; e + 4 <= extra.Length;)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra[e..]);
                int size = BinaryPrimitives.ReadUInt16LittleEndian(extra[(e + 2)..]);
                if (e + 4 + size > extra.Length) throw new IxcException($"{p}: corrupt zip: extra field of entry '{shown}' runs past its end");
                if (id == 0x0001)
                {
                    var z = extra.Slice(e + 4, size);
                    int k = 0;
                    if (needU) { usize = Read64(p, shown, z, ref k); needU = false; }
                    if (needC) { csize = Read64(p, shown, z, ref k); needC = false; }
                    if (needO) { localAt = Read64(p, shown, z, ref k); needO = false; }
                    if (needD)
                    {
                        if (k + 4 > z.Length) throw new IxcException($"{p}: corrupt zip: ZIP64 extra field of entry '{shown}' is too short");
                        disk = BinaryPrimitives.ReadUInt32LittleEndian(z[k..]);
                        needD = false;
                    }
                }
                e += 4 + size;
            }
            if (needU || needC || needO)
                throw new IxcException($"{p}: corrupt zip: entry '{shown}' has a saturated size or offset but no ZIP64 extra field");
            if (disk != 0) throw new IxcException($"{p}: multi-disk zip archives are not supported");
            if ((flags & 1) != 0) throw new IxcException($"{p}: zip entry '{shown}' is encrypted; not supported");
            if (method != ZipEntry.Stored && method != ZipEntry.Deflated)
                throw new IxcException($"{p}: zip entry '{shown}' uses compression method {method}; only STORED (0) and DEFLATED (8) are supported");
            if (method == ZipEntry.Stored && csize != usize)
                throw new IxcException($"{p}: corrupt zip: STORED entry '{shown}' has compressed size {csize} != size {usize}");

            // The local header repeats the name and has its own extra field; the data follows it.
            if (localAt > len - LocalSize) throw new IxcException($"{p}: corrupt or truncated zip: local header of '{shown}' at {localAt} is past the end of the file ({len} bytes)");
            var lh = file.Slice(localAt, LocalSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(lh) != LocalHeaderSig)
                throw new IxcException($"{p}: corrupt zip: no local header for '{shown}' at offset {localAt}");
            int lNameLen = BinaryPrimitives.ReadUInt16LittleEndian(lh[26..]);
            int lExtraLen = BinaryPrimitives.ReadUInt16LittleEndian(lh[28..]);
            long dataAt = localAt + LocalSize + lNameLen + lExtraLen;
            if (dataAt > len || !file.Slice(localAt + LocalSize, lNameLen).SequenceEqual(nameBytes))
                throw new IxcException($"{p}: corrupt zip: local header of '{shown}' does not match the central directory");
            if (csize > len - dataAt)
                throw new IxcException($"{p}: truncated zip: data of '{shown}' [{dataAt}, +{csize}) is past the end of the file ({len} bytes)");
            if (method == ZipEntry.Deflated && usize > csize * MaxDeflateExpansion + 4096)
                throw new IxcException($"{p}: corrupt zip: DEFLATED entry '{shown}' claims {usize} bytes from {csize} compressed (deflate expands at most about 1032:1)");
            if (!names.Add(name)) throw new IxcException($"{p}: corrupt zip: entry '{shown}' appears twice");
            entries.Add(new ZipEntry(name, method, csize, usize, dataAt));
            at += entryLen;
        }
        return entries;
    }

    /// <summary>Offset of the end-of-central-directory record (searched backwards over the comment area).</summary>
    private static long FindEnd(MappedFile file)
    {
        long len = file.Length;
        if (len < EndSize) throw new IxcException($"{file.Path}: truncated or not a zip archive ({len} bytes)");
        long stop = Math.Max(0, len - EndSize - 0xFFFF);
        for (long at = len - EndSize; at >= stop; at--)
        {
            var r = file.Slice(at, EndSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(r) == EndSig && at + EndSize + BinaryPrimitives.ReadUInt16LittleEndian(r[20..]) <= len)
                return at;
        }
        throw new IxcException($"{file.Path}: truncated or not a zip archive (no end-of-central-directory record)");
    }

    private static long Read64(string p, string name, ReadOnlySpan<byte> z, ref int k)
    {
        if (k + 8 > z.Length) throw new IxcException($"{p}: corrupt zip: ZIP64 extra field of entry '{name}' is too short");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(z[k..]);
        k += 8;
        return ToLong(p, $"ZIP64 value of entry '{name}'", v);
    }

    private static long ToLong(string p, string what, ulong v) =>
        v <= long.MaxValue ? (long)v : throw new IxcException($"{p}: corrupt zip: {what} {v} is implausible");

    /// <summary>A member name made safe for a one-line message.</summary>
    internal static string Printable(string s)
    {
        var sb = new StringBuilder(Math.Min(s.Length, 200));
        foreach (char ch in s)
        {
            if (sb.Length >= 200) { sb.Append('…'); break; }
            sb.Append(char.IsControl(ch) ? '?' : ch);
        }
        return sb.ToString();
    }
}
