using System.Text.Json;
using IXC25.Generation.Chat;

namespace IXC25.Server.Api;

/// <summary>
/// The response bodies of /v1/chat/completions: <c>chat.completion</c> and the <c>chat.completion.chunk</c> events, with
/// OpenAI's usage and, as an extension, llama.cpp's <c>timings</c> object (prompt_n, prompt_ms, predicted_n, predicted_ms,
/// predicted_per_second) plus queue_ms and image_ms.
/// </summary>
internal sealed class CompletionJson(string id, string model, long created)
{
    public string Id => id;

    public byte[] Completion(ChatReply reply, string content, string finish, TimeSpan queueWait) => Write(w =>
    {
        Head(w, "chat.completion");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("message");
        w.WriteString("role", "assistant");
        w.WriteString("content", content);
        w.WriteNull("refusal");
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        Usage(w, reply);
        Timings(w, reply, queueWait);
        w.WriteEndObject();
    });

    /// <summary>A chunk with a delta: the first carries the role, the others content only.</summary>
    public byte[] Delta(string? content, bool first) => Write(w =>
    {
        Head(w, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        if (first) w.WriteString("role", "assistant");
        if (content is not null) w.WriteString("content", content);
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>The last chunk with a choice: empty delta, finish_reason, and the timings extension.</summary>
    public byte[] Finish(ChatReply reply, string finish, TimeSpan queueWait) => Write(w =>
    {
        Head(w, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        w.WriteEndObject();
        w.WriteNull("logprobs");
        w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
        Timings(w, reply, queueWait);
        w.WriteEndObject();
    });

    /// <summary>stream_options.include_usage: a chunk with no choices and the usage.</summary>
    public byte[] UsageChunk(ChatReply reply) => Write(w =>
    {
        Head(w, "chat.completion.chunk");
        w.WriteStartArray("choices");
        w.WriteEndArray();
        Usage(w, reply);
        w.WriteEndObject();
    });

    private void Head(Utf8JsonWriter w, string obj)
    {
        w.WriteStartObject();
        w.WriteString("id", id);
        w.WriteString("object", obj);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
        w.WriteNull("system_fingerprint");
    }

    private static void Usage(Utf8JsonWriter w, ChatReply reply)
    {
        int prompt = reply.Prompt.TotalLength, completion = reply.Generation.Tokens.Count;
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", prompt);
        w.WriteNumber("completion_tokens", completion);
        w.WriteNumber("total_tokens", prompt + completion);
        w.WriteEndObject();
    }

    private static void Timings(Utf8JsonWriter w, ChatReply reply, TimeSpan queueWait)
    {
        var t = reply.Generation.Timings;
        w.WriteStartObject("timings");
        w.WriteNumber("queue_ms", Math.Round(queueWait.TotalMilliseconds, 3));
        w.WriteNumber("image_ms", Math.Round(reply.ImageEncoding.TotalMilliseconds, 3));
        w.WriteNumber("prompt_n", reply.Prompt.TotalLength);
        w.WriteNumber("prompt_ms", Math.Round(reply.LanguageModelPrefill.TotalMilliseconds, 3));
        w.WriteNumber("predicted_n", reply.Generation.Tokens.Count);
        w.WriteNumber("predicted_ms", Math.Round(t.Decode.TotalMilliseconds, 3));
        w.WriteNumber("predicted_per_second", Math.Round(t.DecodeTokensPerSecond, 3));
        w.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) body(w);
        return ms.ToArray();
    }
}
