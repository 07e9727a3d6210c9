using System.CommandLine;
using System.Globalization;
using IXC25.Generation.Chat;
using IXC25.Generation.Decoding;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Processes;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 chat --model DIR [--image P]... [--video V] [options] "question"`: a one-shot answer (only the
/// answer on stdout, streamed as it is generated; progress and statistics on stderr), or, without a
/// question, an interactive conversation on stdin. Ctrl-C stops the answer being generated and keeps
/// the conversation.
/// </summary>
internal static class ChatCommand
{
    public static Command Create()
    {
        var o = new ModelOptionSet();
        var question = new Argument<string?>("QUESTION") { Description = "the question (omit for an interactive conversation)", Arity = ArgumentArity.ZeroOrOne };
        var images = new Option<FileInfo[]>("--image") { Description = "image for the (first) question (repeatable; one without an <ImageHere> marker goes first)" };
        var video = new Option<FileInfo?>("--video") { Description = "video for the (first) question (frames composed into one image, as upstream)" };
        var mode = new Option<string>("--mode") { Description = "chat, write (article, task LoRAs sft+dpo) or web (webpage, task LoRA web), with upstream's defaults", DefaultValueFactory = _ => "chat" };
        var greedy = new Option<bool>("--greedy") { Description = "no sampling (greedy, or beam search with --beams)" };
        var beams = new Option<int?>("--beams") { Description = "number of beams (with --greedy: beam search as in the README examples; else beam sampling)" }.WithinIfGiven(1, OptionLimits.MaxBeams, upstream: "num_beams");
        var temperature = new Option<double?>("--temperature") { Description = "sampling temperature" }.WithinIfGiven(0, OptionLimits.MaxTemperature, minOpen: true, upstream: "temperature");
        var topP = new Option<double?>("--top-p") { Description = "nucleus sampling mass" }.WithinIfGiven(0, 1, upstream: "top_p");
        var topK = new Option<int?>("--top-k") { Description = "sample among the k most likely tokens (0: off; k past the vocabulary keeps every token, as upstream)" }.WithinIfGiven(0, int.MaxValue, upstream: "top_k");
        var repetition = new Option<double?>("--repetition-penalty") { Description = "HF repetition penalty over the generated tokens" }.WithinIfGiven(0, OptionLimits.MaxRepetitionPenalty, minOpen: true, upstream: "repetition_penalty");
        var maxNew = new Option<int?>("--max-new-tokens") { Description = "tokens to generate at most" }.WithinIfGiven(1, int.MaxValue, upstream: "max_new_tokens");
        var seed = new Option<ulong?>("--seed") { Description = "sampling seed (printed when omitted, for reproducing a run)" }.WithinIfGiven(ulong.MinValue, ulong.MaxValue);
        var meta = new Option<bool>("--meta") { Description = "prepend upstream's system prompt (use_meta)" };
        var hdNum = new Option<int>("--hd-num") { Description = "crops for a single image (several images use 6 each)", DefaultValueFactory = _ => 24 }.Within(1, OptionLimits.MaxHdNum);
        var cmd = new Command("chat", "Chat with the model about images and videos: a one-shot answer, or an interactive conversation when no question is given.")
        {
            question, images, video, mode, greedy, beams, temperature, topP, topK, repetition, maxNew, seed, meta, hdNum,
        };
        o.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var stdout = r.InvocationConfiguration.Output;
            var err = r.InvocationConfiguration.Error;
            var chatMode = r.GetValue(mode) switch
            {
                "chat" => ChatMode.Chat,
                "write" => ChatMode.Write,
                "web" => ChatMode.Web,
                var m => throw new IxcException($"--mode must be chat, write or web (got '{m}')"),
            };
            Func<GenerationConfig, GenerationConfig> customize = g =>
            {
                if (r.GetValue(greedy)) g = g with { DoSample = false };
                if (r.GetValue(beams) is { } b) g = g with { NumBeams = b };
                if (r.GetValue(temperature) is { } t) g = g with { Temperature = t };
                if (r.GetValue(topP) is { } p) g = g with { TopP = p };
                if (r.GetValue(topK) is { } k) g = g with { TopK = k };
                if (r.GetValue(repetition) is { } rp) g = g with { RepetitionPenalty = rp };
                if (r.GetValue(maxNew) is { } n) g = g with { MaxNewTokens = n };
                if (r.GetValue(seed) is { } s) g = g with { Seed = s };
                return g;
            };
            var media = (r.GetValue(images) ?? []).Select(f => new MediaInput(f.FullName)).ToList();
            if (r.GetValue(video) is { } v) media.Add(new MediaInput(v.FullName, IsVideo: true));
            foreach (var m in media)
                if (m.Bytes is null && !File.Exists(m.Path)) throw new IxcException($"{m.Path}: file not found");

            using var model = o.Open(r, err);
            model.Progress = p => ProgressLine(err, p);
            using var engine = ChatEngine.FromModel(model);
            var session = engine.NewSession();
            ChatRequest Request(string q, IReadOnlyList<MediaInput> attached) => new()
            {
                Question = q, Media = attached, Mode = chatMode, Customize = customize, UseMeta = r.GetValue(meta), HdNum = r.GetValue(hdNum),
            };

            if (r.GetValue(question) is { } q)
            {
                using var cts = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
                Console.CancelKeyPress += onCancel;
                using var own = Interrupts.HandleSigintElsewhere();
                try
                {
                    var reply = session.Ask(Request(q, media), text => { stdout.Write(text); stdout.Flush(); }, line => err.WriteLine(line), cts.Token);
                    stdout.WriteLine();
                    Stats(err, reply);
                    return reply.Cancelled ? 130 : 0;
                }
                finally { Console.CancelKeyPress -= onCancel; }
            }
            return Interactive(session, media, Request, stdout, err);
        });
        return cmd;
    }

    /// <summary>The conversation loop: one question per line; /image P, /video P attach media to the next question; /reset, /history, /exit.</summary>
    private static int Interactive(ChatSession session, List<MediaInput> pending, Func<string, IReadOnlyList<MediaInput>, ChatRequest> request, TextWriter stdout, TextWriter err)
    {
        err.WriteLine("interactive chat: type a question; /image PATH or /video PATH attaches media to the next question; /reset clears the conversation; /exit (or Ctrl-D) ends; Ctrl-C stops an answer.");
        CancellationTokenSource? current = null;
        bool quit = false;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (current is { IsCancellationRequested: false }) { e.Cancel = true; current.Cancel(); }
        };
        Console.CancelKeyPress += onCancel;
        using var own = Interrupts.HandleSigintElsewhere();
        try
        {
            while (!quit)
            {
                err.Write(pending.Count > 0 ? $"[{pending.Count} attached] > " : "> ");
                err.Flush();
                string? line = Console.In.ReadLine();
                if (line is null) break;
                line = line.Trim();
                if (line.Length == 0) continue;
                if (line.StartsWith('/'))
                {
                    var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
                    switch (parts[0])
                    {
                        case "/exit" or "/quit": quit = true; continue;
                        case "/reset": session.Reset(); pending.Clear(); err.WriteLine("conversation cleared"); continue;
                        case "/history":
                            foreach (var t in session.History) err.WriteLine($"user: {t.User}\nassistant: {t.Assistant}");
                            continue;
                        case "/image" or "/video" when parts.Length == 2:
                            if (!File.Exists(parts[1])) { err.WriteLine($"ixc25: {parts[1]}: file not found"); continue; }
                            pending.Add(new MediaInput(Path.GetFullPath(parts[1]), IsVideo: parts[0] == "/video"));
                            continue;
                        default: err.WriteLine("commands: /image PATH, /video PATH, /reset, /history, /exit"); continue;
                    }
                }
                current = new CancellationTokenSource();
                try
                {
                    var reply = session.Ask(request(line, [.. pending]), text => { stdout.Write(text); stdout.Flush(); }, l => err.WriteLine(l), current.Token);
                    stdout.WriteLine();
                    if (reply.Cancelled) err.WriteLine("(stopped)");
                    Stats(err, reply);
                }
                catch (IxcException e)
                {
                    err.WriteLine("ixc25: " + e.Message);
                }
                finally
                {
                    pending.Clear();
                    current.Dispose();
                    current = null;
                }
            }
        }
        finally { Console.CancelKeyPress -= onCancel; }
        return 0;
    }

    private static void ProgressLine(TextWriter err, ForwardProgress p)
    {
        if (p.TotalPositions > 1 && (p.Layer == 1 || p.Layer == p.Layers || p.Layer % 8 == 0))
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"prefill: positions {p.Positions}/{p.TotalPositions}, layer {p.Layer}/{p.Layers}"));
    }

    private static void Stats(TextWriter err, ChatReply reply)
    {
        var t = reply.Generation.Timings;
        double prefillRate = reply.LanguageModelPrefill.TotalSeconds > 0 ? reply.Prompt.TotalLength / reply.LanguageModelPrefill.TotalSeconds : 0;
        string cut = reply.Prompt.Truncated ? FormattableString.Invariant($" (cut from {reply.Prompt.UntruncatedLength})") : "";
        string seed = reply.Generation.Seed is { } s ? FormattableString.Invariant($"; seed {s}") : "";
        err.WriteLine(FormattableString.Invariant(
            $"prompt {reply.Prompt.TotalLength} tokens{cut}; generated {t.GeneratedTokens} tokens ({reply.Generation.Finish}); image encoding {reply.ImageEncoding.TotalSeconds:0.00} s, prefill {reply.LanguageModelPrefill.TotalSeconds:0.00} s ({prefillRate:0.0} tok/s), decode {t.Decode.TotalSeconds:0.00} s ({t.DecodeTokensPerSecond:0.00} tok/s){seed}"));
    }
}
