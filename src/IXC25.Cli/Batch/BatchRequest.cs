using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Cli.Batch;

/// <summary>
/// One line of a batch requests file (docs/BATCH.md): an id and the fields of a chat request. Media paths
/// are already resolved (relative to the requests file's folder). Fields left out take the mode's upstream
/// defaults, as `ixc25 chat` does.
/// </summary>
internal sealed record BatchRequest
{
    /// <summary>1-based line of the requests file (for messages).</summary>
    public required int Line { get; init; }

    /// <summary>0-based position among the requests (blank lines do not count): what --shard K/N selects on.</summary>
    public required int Index { get; init; }

    public required string Id { get; init; }
    public required string Question { get; init; }
    public IReadOnlyList<string> Images { get; init; } = [];
    public string? Video { get; init; }
    public ChatMode Mode { get; init; } = ChatMode.Chat;
    public int HdNum { get; init; } = 24;
    public int? MaxNewTokens { get; init; }
    public bool? DoSample { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public ulong? Seed { get; init; }
    public int? NumBeams { get; init; }
    public double? RepetitionPenalty { get; init; }
    public bool UseMeta { get; init; }
    public string? MetaInstruction { get; init; }
    public IReadOnlyList<ChatTurn> History { get; init; } = [];

    /// <summary>The media in prompt order: the images, then the video (as `ixc25 chat --image ... --video ...`).</summary>
    public IReadOnlyList<MediaInput> Media =>
        [.. Images.Select(p => new MediaInput(p)), .. Video is null ? Array.Empty<MediaInput>() : [new MediaInput(Video, IsVideo: true)]];

    /// <summary>
    /// The request's overrides applied to a decoding configuration. A sampling request without a seed samples
    /// with <see cref="DerivedSeed"/> of its id, so a rerun, a resumed job and every sharding give the same answer.
    /// </summary>
    public GenerationConfig Apply(GenerationConfig g)
    {
        if (DoSample is { } s) g = g with { DoSample = s };
        if (NumBeams is { } b) g = g with { NumBeams = b };
        if (Temperature is { } t) g = g with { Temperature = t };
        if (TopP is { } p) g = g with { TopP = p };
        if (TopK is { } k) g = g with { TopK = k };
        if (RepetitionPenalty is { } rp) g = g with { RepetitionPenalty = rp };
        if (MaxNewTokens is { } n) g = g with { MaxNewTokens = n };
        return g with { Seed = Seed ?? DerivedSeed(Id) };
    }

    /// <summary>The chat request this line describes.</summary>
    public ChatRequest ToChatRequest() => new()
    {
        Question = Question,
        Media = Media,
        Mode = Mode,
        Customize = Apply,
        HdNum = HdNum,
        UseMeta = UseMeta,
        MetaInstruction = MetaInstruction,
    };

    /// <summary>The seed of a sampling request that gives none: the first 8 bytes of SHA-256(UTF-8 id), little-endian.</summary>
    public static ulong DerivedSeed(string id) =>
        BitConverter.ToUInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)), 0) is var v && BitConverter.IsLittleEndian
            ? v : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
}
