using IXC25.Generation.Decoding;
using IXC25.Model.Inference;

namespace IXC25.Generation.Chat;

/// <summary>Upstream's three entry points: chat(), write_artical() and write_webpage().</summary>
public enum ChatMode
{
    /// <summary>chat(): Partial LoRA only, sampling (top_p 0.8, top_k 50, repetition 1.005), stop at 2 or [UNUSED_TOKEN_145], multi-turn.</summary>
    Chat,
    /// <summary>write_artical(): lora_sft + lora_dpo, top_k 40, prompt cut at 8192, max_new_tokens = 8192 - prompt, no history.</summary>
    Write,
    /// <summary>write_webpage(): lora_web, beam sampling with 2 beams, repetition 3.0, 4800 new tokens, no history.</summary>
    Web,
}

/// <summary>One question to the model.</summary>
public sealed record ChatRequest
{
    public required string Question { get; init; }

    /// <summary>Images (and videos) for this turn, in the order of their &lt;ImageHere&gt; markers (one image without a marker goes first).</summary>
    public IReadOnlyList<MediaInput> Media { get; init; } = [];

    public ChatMode Mode { get; init; } = ChatMode.Chat;

    /// <summary>Decoding settings; null: the mode's upstream defaults (<see cref="GenerationConfig.Chat"/>, <see cref="GenerationConfig.Write"/>, <see cref="GenerationConfig.Web"/>).</summary>
    public GenerationConfig? Generation { get; init; }

    /// <summary>Changes applied to the decoding settings (the mode's defaults, or <see cref="Generation"/>), e.g. <c>g => g with { DoSample = false }</c>.</summary>
    public Func<GenerationConfig, GenerationConfig>? Customize { get; init; }

    /// <summary>Crops for a single image (several images use 6 each).</summary>
    public int HdNum { get; init; } = 24;

    /// <summary>Prepend the system turn (upstream's use_meta); <see cref="MetaInstruction"/> replaces its default text.</summary>
    public bool UseMeta { get; init; }

    public string? MetaInstruction { get; init; }

    /// <summary>Limits for decoding the attached images (e.g. the pixel limit, the decompression-bomb guard); null: the front end's defaults.</summary>
    public IXC25.Vision.Imaging.DecodeOptions? Decode { get; init; }

    /// <summary>
    /// Refuse (<see cref="IXC25.Runtime.IxcException"/>) a prompt longer than the mode's max_length instead of cutting it as
    /// upstream does, and a prompt plus max_new_tokens beyond the model's context (a server answers these with 400).
    /// </summary>
    public bool StrictLength { get; init; }
}
