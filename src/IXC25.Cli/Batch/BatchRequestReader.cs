using System.Text;
using System.Text.Json;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Cli.Batch;

/// <summary>
/// Reads and validates a whole requests file before anything runs (docs/BATCH.md): strict UTF-8, one JSON
/// object per line (blank lines skipped), known fields only, each once, with the right types and ranges,
/// unique ids, media files that exist. The first problem is an <see cref="IxcException"/> naming the line.
/// </summary>
internal static class BatchRequestReader
{
    /// <summary>Every field a request line may have (the schema of docs/BATCH.md).</summary>
    public static readonly IReadOnlyList<string> Fields =
    [
        "id", "question", "images", "video", "mode", "hd_num", "max_new_tokens", "do_sample", "temperature", "top_p", "top_k",
        "seed", "num_beams", "repetition_penalty", "use_meta", "meta_instruction", "history",
    ];

    public static IReadOnlyList<BatchRequest> Read(string path)
    {
        if (!File.Exists(path)) throw new IxcException($"{path}: file not found");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IxcException($"{path}: cannot read: {e.Message}", e); }
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var requests = new List<BatchRequest>();
        var lineOfId = new Dictionary<string, int>(StringComparer.Ordinal);
        var strict = new UTF8Encoding(false, true);
        int start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0, line = 0;
        while (start < bytes.Length)
        {
            line++;
            int nl = Array.IndexOf(bytes, (byte)'\n', start);
            int end = nl < 0 ? bytes.Length : nl;
            string text;
            try { text = strict.GetString(bytes, start, end - start); }
            catch (DecoderFallbackException) { throw new IxcException($"{path} line {line}: not valid UTF-8"); }
            start = end + 1;
            if (text.Trim().Length == 0) continue;
            var request = Parse(text, dir, line, requests.Count, $"{path} line {line}");
            if (!lineOfId.TryAdd(request.Id, line))
                throw new IxcException($"{path} line {line}: duplicate id '{request.Id}' (first on line {lineOfId[request.Id]})");
            requests.Add(request);
        }
        if (requests.Count == 0) throw new IxcException($"{path}: no requests (expected one JSON object per line)");
        return requests;
    }

    /// <summary>One line: <paramref name="where"/> prefixes every message ("FILE line N").</summary>
    internal static BatchRequest Parse(string text, string baseDir, int line, int index, string where)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new IxcException($"{where}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new IxcException($"{where}: expected a JSON object, got {Kind(root)}");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!Fields.Contains(p.Name)) throw new IxcException($"{where}: unknown field '{p.Name}' (known: {string.Join(", ", Fields)})");
                if (!seen.Add(p.Name)) throw new IxcException($"{where}: field '{p.Name}' appears twice");
            }
            var f = new FieldReader(root, where);
            string id = f.String("id") ?? throw new IxcException($"{where}: missing required field 'id'");
            if (id.Length == 0) throw new IxcException($"{where}: 'id' must not be empty");
            string question = f.String("question") ?? throw new IxcException($"{where}: missing required field 'question'");
            var mode = f.String("mode") switch
            {
                null or "chat" => ChatMode.Chat,
                "write" => ChatMode.Write,
                "web" => ChatMode.Web,
                var m => throw new IxcException($"{where}: 'mode' must be chat, write or web (got '{m}')"),
            };
            var request = new BatchRequest
            {
                Line = line,
                Index = index,
                Id = id,
                Question = question,
                Images = f.Strings("images")?.Select((p, k) => Media(p, baseDir, $"{where}: images[{k}]")).ToList() ?? [],
                Video = f.String("video") is { } v ? Media(v, baseDir, $"{where}: video") : null,
                Mode = mode,
                HdNum = f.Int("hd_num") ?? 24,
                MaxNewTokens = f.Int("max_new_tokens"),
                DoSample = f.Bool("do_sample"),
                Temperature = f.Double("temperature"),
                TopP = f.Double("top_p"),
                TopK = f.Int("top_k"),
                Seed = f.UInt64("seed"),
                NumBeams = f.Int("num_beams"),
                RepetitionPenalty = f.Double("repetition_penalty"),
                UseMeta = f.Bool("use_meta") ?? false,
                MetaInstruction = f.String("meta_instruction"),
                History = f.History("history") ?? [],
            };
            if (request.HdNum < 1) throw new IxcException($"{where}: 'hd_num' must be at least 1 (got {request.HdNum})");
            if (request.MetaInstruction is not null && !request.UseMeta)
                throw new IxcException($"{where}: 'meta_instruction' is only used with \"use_meta\": true");
            if (request.History.Count > 0 && mode != ChatMode.Chat)
                throw new IxcException($"{where}: 'history' is only used in chat mode (upstream's write and web modes have no history)");
            // the decoding settings, checked as the generator will (write's max_new_tokens depends on the prompt: 1 stands in)
            var baseline = mode switch { ChatMode.Write => GenerationConfig.Write(1), ChatMode.Web => GenerationConfig.Web, _ => GenerationConfig.Chat };
            try { request.Apply(baseline).Validate(int.MaxValue); }
            catch (IxcException e) { throw new IxcException($"{where}: {e.Message}", e); }
            return request;
        }
    }

    private static string Media(string path, string baseDir, string what)
    {
        if (path.Length == 0) throw new IxcException($"{what}: empty path");
        string full = Path.GetFullPath(Path.Combine(baseDir, path));
        if (!File.Exists(full)) throw new IxcException($"{what}: '{path}': file not found ({full})");
        return full;
    }

    internal static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>Typed access to the optional fields of one request object; a wrong type names the field and what it got.</summary>
    private readonly struct FieldReader(JsonElement root, string where)
    {
        private JsonElement? Get(string name) => root.TryGetProperty(name, out var v) ? v : null;

        private IxcException Bad(string name, string expected, JsonElement got) => new($"{where}: '{name}' must be {expected}, got {Kind(got)} ({Clip(got.GetRawText())})");

        private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";

        public string? String(string name) => Get(name) is not { } v ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Bad(name, "a string", v);

        public bool? Bool(string name) => Get(name) is not { } v ? null
            : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Bad(name, "true or false", v);

        public int? Int(string name) => Get(name) is not { } v ? null
            : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Bad(name, "an integer", v);

        public ulong? UInt64(string name) => Get(name) is not { } v ? null
            : v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out ulong u) ? u : throw Bad(name, "an integer from 0 to 18446744073709551615", v);

        public double? Double(string name) => Get(name) is not { } v ? null
            : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw Bad(name, "a finite number", v);

        public IReadOnlyList<string>? Strings(string name)
        {
            if (Get(name) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Array) throw Bad(name, "an array of strings", v);
            var list = new List<string>();
            foreach (var e in v.EnumerateArray())
                list.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad($"{name}[{list.Count}]", "a string", e));
            return list;
        }

        public IReadOnlyList<ChatTurn>? History(string name)
        {
            if (Get(name) is not { } v) return null;
            if (v.ValueKind != JsonValueKind.Array) throw Bad(name, "an array of [question, answer] pairs", v);
            var turns = new List<ChatTurn>();
            foreach (var t in v.EnumerateArray())
            {
                string item = $"{name}[{turns.Count}]";
                if (t.ValueKind != JsonValueKind.Array || t.GetArrayLength() != 2 || t[0].ValueKind != JsonValueKind.String || t[1].ValueKind != JsonValueKind.String)
                    throw Bad(item, "a [question, answer] pair of strings", t);
                turns.Add(new ChatTurn(t[0].GetString()!, t[1].GetString()!));
            }
            return turns;
        }
    }
}
