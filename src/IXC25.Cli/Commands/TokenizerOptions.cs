using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using IXC25.Runtime;
using IXC25.Tokenizer;

namespace IXC25.Cli.Commands;

/// <summary>What the tokenize, detokenize and prompt commands share: --model and JSON output.</summary>
internal static class TokenizerOptions
{
    public static Option<string?> Model() => new("--model")
    {
        Description = "Model folder holding tokenizer.model (default: the bundled golden/tokenizer/tokenizer.model).",
    };

    public static InternLM2Tokenizer Load(string? modelDirectory) => InternLM2Tokenizer.LoadFromDirectory(modelDirectory);

    /// <summary>Compact JSON, non-ASCII text kept readable.</summary>
    public static readonly JsonWriterOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string IdsJson(IReadOnlyList<int> ids) => "[" + string.Join(",", ids) + "]";

    /// <summary>Reads a UTF-8 text file exactly (no BOM stripping, no newline changes); malformed UTF-8 is an error.</summary>
    public static string ReadUtf8(string path)
    {
        byte[] bytes = ReadBytes(path);
        try { return new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException e)
        {
            throw new IxcException($"{path}: not valid UTF-8 (at byte {e.Index}); use --raw to encode the bytes as sentencepiece does");
        }
    }

    public static byte[] ReadBytes(string path)
    {
        if (!File.Exists(path)) throw new IxcException($"{path}: file not found");
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IxcException($"{path}: cannot read ({e.Message})", e); }
    }
}
