using System.Text;
using System.Text.Json;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Server.Api;

/// <summary>A POST /v1/chat/completions body mapped to the engine: the request, its history and the transport's options.</summary>
public sealed record ParsedCompletion(ChatRequest Request, IReadOnlyList<ChatTurn> History, bool Stream, bool IncludeUsage, IReadOnlyList<string> Stop);

/// <summary>
/// OpenAI's chat completion request to <see cref="ChatRequest"/> (docs/SERVER.md lists every field):
/// <list type="bullet">
/// <item>messages: system/developer -> the meta instruction (upstream's use_meta); earlier user/assistant pairs -> the history
/// (upstream's history is text: images of earlier turns are not part of it); the last user message -> the question, its
/// <c>image_url</c> parts (data: URLs, base64) -> the images in order.</item>
/// <item>sampling: the mode's upstream defaults (chat: sampling, top_p 0.8, top_k 50, repetition 1.005, 1024 tokens),
/// overridden by temperature (0 = greedy, as OpenAI-compatible servers do), top_p, seed, max_tokens /
/// max_completion_tokens, and the extensions top_k, repetition_penalty, num_beams, do_sample, mode, hd_num.</item>
/// <item>refused with 400: n &gt; 1, non-zero frequency/presence penalties, logprobs, tools, non-text response formats,
/// http(s) image URLs (the server is offline).</item>
/// </list>
/// Every problem is an <see cref="ApiError"/> naming the field in <c>param</c>.
/// </summary>
public static class CompletionRequestParser
{
    /// <summary>
    /// How a body is read: nesting up to 32 levels, and a name given twice in one object refused (two "model" or
    /// "messages" members would otherwise mean whichever a reader happens to take).
    /// </summary>
    public static JsonDocumentOptions BodyOptions { get; } = new() { MaxDepth = 32, AllowDuplicateProperties = false };

    /// <summary>A whole body: <see cref="ReadJson"/>, then <see cref="Parse"/> (the endpoint does the same in two steps).</summary>
    public static ParsedCompletion ParseBody(ReadOnlyMemory<byte> body, string modelId, ServeOptions options) =>
        Parse(ReadJson(body), modelId, options);

    /// <summary>
    /// The body as JSON: valid UTF-8 throughout (checked first: the JSON reader only notices a bad string when it is
    /// read, which would be a 500), then parsed with <see cref="BodyOptions"/>. Problems are 400s.
    /// </summary>
    public static JsonElement ReadJson(ReadOnlyMemory<byte> body)
    {
        var span = body.Span;
        if (!System.Text.Unicode.Utf8.IsValid(span))
        {
            int valid = 0;
            while (System.Text.Rune.DecodeFromUtf8(span[valid..], out _, out int used) == System.Buffers.OperationStatus.Done) valid += used;
            throw ApiError.BadRequest($"the request body is not valid UTF-8 (byte {valid})");
        }
        try
        {
            using var doc = JsonDocument.Parse(body, BodyOptions);
            CheckStrings(doc.RootElement);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw ApiError.BadRequest($"the request body is not valid JSON ({e.Message})");
        }
        catch (InvalidOperationException e)
        {
            // an escaped lone surrogate ("\ud800"): valid JSON, but not a string that can be read
            throw ApiError.BadRequest($"the request body holds a string that is not valid text ({e.Message})");
        }
    }

    /// <summary>Reads every name and string once, so that one that cannot be read is found here and not deep in the mapping.</summary>
    private static void CheckStrings(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    _ = p.Name;
                    CheckStrings(p.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var v in e.EnumerateArray()) CheckStrings(v);
                break;
            case JsonValueKind.String:
                _ = e.GetString();
                break;
        }
    }

    public static ParsedCompletion Parse(JsonElement root, string modelId, ServeOptions options)
    {
        if (root.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("the request body must be a JSON object");
        string model = String(root, "model") ?? throw ApiError.BadRequest("'model' is required", "model");
        if (model != modelId) throw ApiError.NotFound($"the model '{model}' does not exist; this server serves '{modelId}'", "model", "model_not_found");

        if (Int(root, "n") is { } n && n != 1) throw ApiError.BadRequest($"n must be 1 (got {n}): this server returns one choice per request", "n");
        foreach (var p in new[] { "frequency_penalty", "presence_penalty" })
            if (Number(root, p) is { } v && v != 0) throw ApiError.BadRequest($"{p} is not supported (use repetition_penalty, HF's rule)", p);
        if (Bool(root, "logprobs") == true) throw ApiError.BadRequest("logprobs are not supported", "logprobs");
        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
            throw ApiError.BadRequest("tools are not supported", "tools");
        if (root.TryGetProperty("response_format", out var rf) && rf.ValueKind == JsonValueKind.Object && String(rf, "type", "response_format.type") is { } rft && rft != "text")
            throw ApiError.BadRequest($"response_format '{rft}' is not supported (text only)", "response_format");

        var (question, media, history, meta) = Messages(root);
        var mode = String(root, "mode") switch
        {
            null or "chat" => ChatMode.Chat,
            "write" => ChatMode.Write,
            "web" => ChatMode.Web,
            var m => throw ApiError.BadRequest($"mode '{m}' is not one of chat, write, web", "mode"),
        };
        int hdNum = Int(root, "hd_num") ?? 24;
        if (hdNum is < 1 or > 64) throw ApiError.BadRequest($"hd_num must be between 1 and 64 (got {hdNum})", "hd_num");

        var customize = Sampling(root);
        var stop = Stop(root);
        bool stream = Bool(root, "stream") ?? false;
        bool includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && (Bool(so, "include_usage", "stream_options.include_usage") ?? false);
        var request = new ChatRequest
        {
            Question = question,
            Media = media,
            Mode = mode,
            Customize = customize,
            HdNum = hdNum,
            UseMeta = meta is not null,
            MetaInstruction = meta,
            Decode = options.Decode,
            StrictLength = true,
        };
        return new ParsedCompletion(request, history, stream, includeUsage, stop);
    }

    /// <summary>The field overrides over the mode's defaults, or null when none is given.</summary>
    private static Func<GenerationConfig, GenerationConfig>? Sampling(JsonElement root)
    {
        double? temperature = Number(root, "temperature");
        if (temperature is { } t && !(t >= 0 && t <= 2)) throw ApiError.BadRequest($"temperature must be between 0 and 2 (got {t})", "temperature");
        double? topP = Number(root, "top_p");
        if (topP is { } p && !(p > 0 && p <= 1)) throw ApiError.BadRequest($"top_p must be in (0, 1] (got {p})", "top_p");
        int? topK = Int(root, "top_k");
        if (topK is < 0) throw ApiError.BadRequest($"top_k must be 0 (off) or positive (got {topK})", "top_k");
        double? repetition = Number(root, "repetition_penalty");
        if (repetition is { } r && !(r > 0 && double.IsFinite(r))) throw ApiError.BadRequest($"repetition_penalty must be a positive number (got {r})", "repetition_penalty");
        int? beams = Int(root, "num_beams");
        if (beams is < 1 or > 16) throw ApiError.BadRequest($"num_beams must be between 1 and 16 (got {beams})", "num_beams");
        int? maxTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens");
        if (maxTokens is < 1) throw ApiError.BadRequest($"max_tokens must be at least 1 (got {maxTokens})", root.TryGetProperty("max_completion_tokens", out _) ? "max_completion_tokens" : "max_tokens");
        long? seed = Long(root, "seed");
        bool? doSample = Bool(root, "do_sample");
        if (temperature is null && topP is null && topK is null && repetition is null && beams is null && maxTokens is null && seed is null && doSample is null)
            return null;
        return g =>
        {
            if (doSample is { } ds) g = g with { DoSample = ds };
            // temperature 0 means "no randomness" in OpenAI's API: greedy (or beam search with num_beams), as vLLM and lmdeploy do
            if (temperature is { } tv) g = tv == 0 ? g with { DoSample = false } : g with { Temperature = tv };
            if (topP is { } pv) g = g with { TopP = pv };
            if (topK is { } kv) g = g with { TopK = kv };
            if (repetition is { } rv) g = g with { RepetitionPenalty = rv };
            if (beams is { } bv) g = g with { NumBeams = bv };
            if (maxTokens is { } mv) g = g with { MaxNewTokens = mv };
            if (seed is { } sv) g = g with { Seed = unchecked((ulong)sv) };
            return g;
        };
    }

    private static List<string> Stop(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var s) || s.ValueKind == JsonValueKind.Null) return [];
        var list = s.ValueKind switch
        {
            JsonValueKind.String => [s.GetString()!],
            JsonValueKind.Array => s.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw ApiError.BadRequest("stop must be a string or an array of strings", "stop")).ToList(),
            _ => throw ApiError.BadRequest("stop must be a string or an array of strings", "stop"),
        };
        if (list.Count > 4) throw ApiError.BadRequest($"stop takes at most 4 sequences (got {list.Count})", "stop");
        if (list.Any(x => x.Length == 0)) throw ApiError.BadRequest("a stop sequence must not be empty", "stop");
        return list;
    }

    private static (string Question, List<MediaInput> Media, List<ChatTurn> History, string? Meta) Messages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var msgs) || msgs.ValueKind != JsonValueKind.Array || msgs.GetArrayLength() == 0)
            throw ApiError.BadRequest("'messages' must be a non-empty array", "messages");
        var system = new List<string>();
        var turns = new List<(string Role, JsonElement Message, int Index)>();
        int i = 0;
        foreach (var m in msgs.EnumerateArray())
        {
            string param = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest($"{param} must be an object", param);
            string role = String(m, "role", param + ".role") ?? throw ApiError.BadRequest($"{param}.role is required", param + ".role");
            switch (role)
            {
                case "system" or "developer": system.Add(Text(m, param, allowImages: false, null)); break;
                case "user" or "assistant": turns.Add((role, m, i)); break;
                default: throw ApiError.BadRequest($"{param}.role '{role}' is not supported (system, developer, user, assistant)", param + ".role");
            }
            i++;
        }
        if (turns.Count == 0 || turns[^1].Role != "user") throw ApiError.BadRequest("the last message must be the user's question", "messages");
        if (turns.Count % 2 == 0) throw ApiError.BadRequest("messages must alternate user, assistant, ending with the user's question (upstream's history is question/answer pairs)", "messages");
        var history = new List<ChatTurn>();
        for (int k = 0; k + 1 < turns.Count; k += 2)
        {
            var (u, a) = (turns[k], turns[k + 1]);
            if (u.Role != "user" || a.Role != "assistant")
                throw ApiError.BadRequest("messages must alternate user, assistant, ending with the user's question (upstream's history is question/answer pairs)", $"messages[{a.Index}]");
            // upstream's history is text: an earlier turn's images are not part of the prompt
            history.Add(new ChatTurn(Text(u.Message, $"messages[{u.Index}]", allowImages: true, null), Text(a.Message, $"messages[{a.Index}]", allowImages: false, null)));
        }
        var media = new List<MediaInput>();
        var last = turns[^1];
        string question = Text(last.Message, $"messages[{last.Index}]", allowImages: true, media);
        string? meta = system.Count > 0 ? string.Join("\n", system) : null;
        return (question, media, history, meta);
    }

    /// <summary>A message's text (string content, or its text parts joined); image parts go to <paramref name="media"/> (null: skipped).</summary>
    private static string Text(JsonElement message, string param, bool allowImages, List<MediaInput>? media)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
            throw ApiError.BadRequest($"{param}.content is required", param + ".content");
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest($"{param}.content must be a string or an array of parts", param + ".content");
        var text = new StringBuilder();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            string pp = $"{param}.content[{j}]";
            if (part.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest($"{pp} must be an object", pp);
            switch (String(part, "type", pp + ".type"))
            {
                case "text":
                    if (text.Length > 0) text.Append('\n');
                    text.Append(String(part, "text", pp + ".text") ?? throw ApiError.BadRequest($"{pp}.text is required", pp + ".text"));
                    break;
                case "image_url" when allowImages:
                    var bytes = ImageBytes(part, pp);
                    media?.Add(MediaInput.FromBytes(bytes, $"{pp} (image)"));
                    break;
                case "image_url":
                    throw ApiError.BadRequest($"{pp}: images are only accepted in user messages", pp);
                case var t:
                    throw ApiError.BadRequest($"{pp}.type '{t}' is not supported (text, image_url)", pp + ".type");
            }
            j++;
        }
        return text.ToString();
    }

    private static byte[] ImageBytes(JsonElement part, string pp)
    {
        if (!part.TryGetProperty("image_url", out var iu)) throw ApiError.BadRequest($"{pp}.image_url is required", pp + ".image_url");
        string? url = iu.ValueKind == JsonValueKind.String ? iu.GetString() : iu.ValueKind == JsonValueKind.Object ? String(iu, "url", pp + ".image_url.url") : null;
        if (url is null) throw ApiError.BadRequest($"{pp}.image_url.url is required", pp + ".image_url.url");
        string param = pp + ".image_url.url";
        if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest($"{param}: image URLs are not fetched (this server works offline); send the image as a data: URL (data:image/png;base64,...)", param, "image_url_not_supported");
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest($"{param}: expected a data: URL with a base64 image (data:image/png;base64,...)", param);
        int comma = url.IndexOf(',');
        if (comma < 0) throw ApiError.BadRequest($"{param}: the data: URL has no ',' before its data", param);
        string header = url[5..comma];
        if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest($"{param}: the data: URL must be base64-encoded (';base64')", param);
        string mediaType = header[..^7];
        if (mediaType.Length > 0 && !mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
            throw ApiError.BadRequest($"{param}: media type '{mediaType}' is not an image", param);
        var data = url.AsSpan(comma + 1);
        var bytes = new byte[data.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(data, bytes, out int written))
            throw ApiError.BadRequest($"{param}: the data: URL is not valid base64", param, "invalid_base64");
        if (written == 0) throw ApiError.BadRequest($"{param}: the image is empty", param);
        return bytes[..written];
    }

    private static string? String(JsonElement o, string name, string? param = null)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw ApiError.BadRequest($"{param ?? name} must be a string", param ?? name);
    }

    private static bool? Bool(JsonElement o, string name, string? param = null)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiError.BadRequest($"{param ?? name} must be true or false", param ?? name),
        };
    }

    private static double? Number(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) ? d : throw ApiError.BadRequest($"{name} must be a number", name);
    }

    private static int? Int(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw ApiError.BadRequest($"{name} must be an integer", name);
    }

    private static long? Long(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l)) return l;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetUInt64(out ulong u)) return unchecked((long)u);
        throw ApiError.BadRequest($"{name} must be an integer", name);
    }
}
