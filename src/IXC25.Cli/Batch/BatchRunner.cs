using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Tokenizer.Prompt;

namespace IXC25.Cli.Batch;

/// <summary>
/// Runs the requests of a batch job one at a time on one loaded model and makes each one's result line.
/// Every request starts from the state of a freshly loaded model (the rotary module's dynamic-NTK state is
/// reset; the mode's LoRAs are selected), so its answer is the one `ixc25 chat` gives for it alone, whatever
/// ran before it, which shard it is in and whether the job was resumed. With a trace folder it also writes
/// the prefill taps of the request's prompt (the prompt its answer came from) as `ixc25 trace` does, to
/// DIR/&lt;safe id&gt;/trace.safetensors.
/// </summary>
internal sealed class BatchRunner(ChatEngine engine, string? traceDir, IReadOnlyList<string> tapGlobs)
{
    public const string TraceFileName = "trace.safetensors";

    /// <summary>The outcome of one request: its result line, or null when it was cancelled (no line is written).</summary>
    public sealed record Outcome(string? Json, string? Error, TimeSpan Took);

    public Outcome Run(BatchRequest request, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var model = engine.Model;
        try
        {
            model.Rope.Reset();
            var reply = engine.Run(request.ToChatRequest(), request.History, cancellationToken: cancellationToken);
            if (reply.Cancelled) return new Outcome(null, null, sw.Elapsed);
            string? trace = null;
            TimeSpan traceTime = TimeSpan.Zero;
            if (traceDir is not null)
            {
                var tsw = Stopwatch.StartNew();
                trace = WriteTrace(request, reply);
                traceTime = tsw.Elapsed;
            }
            return new Outcome(Success(request, reply, trace, traceTime, sw.Elapsed), null, sw.Elapsed);
        }
        catch (IxcException e)
        {
            string message = e.Message.Replace('\r', ' ').Replace('\n', ' ');
            return new Outcome(ErrorLine(request.Id, message), message, sw.Elapsed);
        }
    }

    /// <summary>Refuses tap globs that match no tap name (a typo would otherwise give empty traces).</summary>
    public static void CheckGlobs(IReadOnlyList<string> globs)
    {
        var names = Ixc25Taps.All.Select(t => Regex.Replace(t.Pattern, @"\{[^}]*\}", "0")).ToList();
        foreach (var g in globs)
            if (!names.Any(n => Glob(g).IsMatch(n)))
                throw new IxcException($"--taps '{g}' matches no tap name (see 'ixc25 taps' and docs/TAPS.md)");
    }

    private static Regex Glob(string g) => new("^" + Regex.Escape(g).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.CultureInvariant);

    /// <summary>The prefill of the prompt <see cref="ChatEngine.Run"/> built for this request, its taps to the request's folder.</summary>
    private string WriteTrace(BatchRequest request, ChatReply reply)
    {
        var model = engine.Model;
        string folder = Path.Combine(traceDir!, SafeFileName.For(request.Id));
        Directory.CreateDirectory(folder);
        foreach (var stale in Directory.EnumerateFiles(folder, TraceFileName + ".*.tmp")) File.Delete(stale); // left by a killed run
        string path = Path.Combine(folder, TraceFileName);
        bool write = request.Mode == ChatMode.Write;
        string? meta = request.UseMeta ? request.MetaInstruction ?? (write ? ChatEngine.WriteMetaInstruction : ChatPrompt.DefaultMetaInstruction) : null;
        var history = request.Mode == ChatMode.Chat ? request.History : [];
        model.SetMode(request.Mode switch { ChatMode.Write => Ixc25Modes.Write, ChatMode.Web => Ixc25Modes.Web, _ => Ixc25Modes.Chat });
        model.Rope.Reset();
        var prepared = PreparedPrompt.Chat(model.Tokenizer, request.Question, request.Media, history, meta, request.HdNum,
            write ? 8192 : ChatPrompt.DefaultMaxLength);
        if (prepared.Layout.TotalLength != reply.Prompt.TotalLength)
            throw new InvalidOperationException($"trace prompt of '{request.Id}' has {prepared.Layout.TotalLength} positions, its answer's {reply.Prompt.TotalLength}");
        using var recorder = new TapRecorder(path, tapGlobs);
        using (var cache = model.NewCache())
            model.Prefill(prepared, cache, false, recorder).Release();
        recorder.Commit(new Dictionary<string, string>
        {
            ["producer"] = "ixc25 batch",
            ["id"] = request.Id,
            ["model"] = model.Name,
            ["mode"] = request.Mode.ToString().ToLowerInvariant(),
            ["prompt"] = request.Question,
            ["media"] = JsonSerializer.Serialize(request.Media.Select(m => m.Path)),
            ["history"] = JsonSerializer.Serialize(history.Select(t => new[] { t.User, t.Assistant })),
            ["sequence_length"] = prepared.Layout.TotalLength.ToString(CultureInfo.InvariantCulture),
            ["rope_mode"] = model.Options.RopeMode.ToString().ToLowerInvariant(),
            ["kv_dtype"] = model.Options.KvDType.ToString().ToLowerInvariant(),
        });
        return Path.GetRelativePath(traceDir!, path).Replace('\\', '/');
    }

    /// <summary>finish as written in a result line.</summary>
    public static string Finish(FinishReason f) => f switch
    {
        FinishReason.EosToken => "eos_token",
        FinishReason.StopToken => "stop_token",
        FinishReason.MaxNewTokens => "max_new_tokens",
        _ => "cancelled",
    };

    private static string Success(BatchRequest request, ChatReply reply, string? trace, TimeSpan traceTime, TimeSpan total) => Write(w =>
    {
        var g = reply.Generation;
        w.WriteString("id", request.Id);
        w.WriteString("answer", reply.Text);
        w.WriteStartArray("tokens");
        foreach (int t in g.Tokens) w.WriteNumberValue(t);
        w.WriteEndArray();
        w.WriteString("finish", Finish(g.Finish));
        if (g.Seed is { } s) w.WriteNumber("seed", s); else w.WriteNull("seed");
        w.WriteNumber("prompt_tokens", reply.Prompt.TotalLength);
        w.WriteBoolean("prompt_truncated", reply.Prompt.Truncated);
        w.WriteNumber("generated_tokens", g.Tokens.Count);
        if (trace is not null) w.WriteString("trace", trace);
        w.WriteStartObject("timings");
        w.WriteNumber("image_encoding_s", Seconds(reply.ImageEncoding));
        w.WriteNumber("prefill_s", Seconds(reply.LanguageModelPrefill));
        w.WriteNumber("decode_s", Seconds(g.Timings.Decode));
        if (trace is not null) w.WriteNumber("trace_s", Seconds(traceTime));
        w.WriteNumber("total_s", Seconds(total));
        w.WriteEndObject();
    });

    public static string ErrorLine(string id, string message) => Write(w =>
    {
        w.WriteString("id", id);
        w.WriteString("error", message);
    });

    private static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 4);

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
