using System.Buffers.Binary;
using IXC25.Runtime;

namespace IXC25.Tokenizer.SentencePiece;

/// <summary>
/// The protobuf wire format, just enough to read <c>sentencepiece_model.proto</c>: varints,
/// 32/64-bit fixed values and length-delimited fields. Groups (wire types 3 and 4) are not used by
/// that schema and are rejected.
/// </summary>
internal ref struct ProtobufReader(ReadOnlySpan<byte> data, string source)
{
    private readonly ReadOnlySpan<byte> data = data;
    private int position;

    public readonly bool End => position >= data.Length;

    /// <summary>Reads the next field key; returns (field number, wire type).</summary>
    public (int Field, int WireType) ReadKey()
    {
        ulong key = ReadVarint();
        int field = (int)(key >> 3);
        int wire = (int)(key & 7);
        if (field <= 0) throw Broken($"field number {field} at byte {position}");
        return (field, wire);
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw Broken("a varint running past the end");
            byte b = data[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw Broken("a varint longer than 10 bytes");
    }

    /// <summary>An int32 field: protobuf writes a negative value sign-extended to 64 bits; anything that is not an int32 is refused.</summary>
    public int ReadInt32(string name)
    {
        long v = (long)ReadVarint();
        if (v is < int.MinValue or > int.MaxValue) throw Broken($"{name} {(ulong)v} is not a 32-bit integer");
        return (int)v;
    }

        public float ReadFixed32Float()
    {
        if (position + 4 > data.Length) throw Broken("a fixed32 running past the end");
        float v = BinaryPrimitives.ReadSingleLittleEndian(data.Slice(position, 4));
        position += 4;
        return v;
    }

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(data.Length - position)) throw Broken($"a field of {length} bytes running past the end");
        var slice = data.Slice(position, (int)length);
        position += (int)length;
        return slice;
    }

    /// <summary>Skips a field of the given wire type (an unknown or unused field).</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case 0: ReadVarint(); break;
            case 1: Advance(8); break;
            case 2: ReadLengthDelimited(); break;
            case 5: Advance(4); break;
            default: throw Broken($"wire type {wireType} at byte {position}");
        }
    }

    private void Advance(int n)
    {
        if (position + n > data.Length) throw Broken("a fixed-size field running past the end");
        position += n;
    }

    private readonly IxcException Broken(string what) =>
        new($"{source}: not a valid SentencePiece model protobuf ({what})");
}
