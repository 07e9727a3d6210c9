using System.Text;
using System.Text.Json.Nodes;
using MlTokenizersPort;

// A port of IXC-2.5's tokenize surface on Microsoft.ML.Tokenizers, speaking the conformance kit's protocol
// (spec/port.json): one JSON object per line on stdin, one answer per line on stdout, logs on stderr.
//   MlTokenizersPort [--model PATH] [--special none|transformers|transformers+unused]
// It depends on nothing of this repository: it is what a port author outside it would write.

string? modelPath = null;
var split = SpecialTokenSplit.TransformersAndUnused;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--model" when i + 1 < args.Length: modelPath = args[++i]; break;
        case "--special" when i + 1 < args.Length:
            split = args[++i] switch
            {
                "none" => SpecialTokenSplit.None,
                "transformers" => SpecialTokenSplit.Transformers,
                "transformers+unused" => SpecialTokenSplit.TransformersAndUnused,
                var s => Fail<SpecialTokenSplit>($"--special {s}: expected none, transformers or transformers+unused"),
            };
            break;
        default:
            Fail<int>($"unknown argument '{args[i]}' (usage: MlTokenizersPort [--model PATH] [--special none|transformers|transformers+unused])");
            break;
    }
}
modelPath ??= FindBundledModel() ?? Fail<string>("golden/tokenizer/tokenizer.model not found above the current folder or the program's folder: pass --model PATH");

MlTokenizersTokenizer tokenizer;
try { tokenizer = new MlTokenizersTokenizer(modelPath, split); }
catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
{
    return Fail<int>($"cannot load {modelPath}: {e.Message}");
}

Console.InputEncoding = new UTF8Encoding(false);
var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
string? line;
while ((line = stdin.ReadLine()) is not null)
{
    if (line.Trim().Length == 0) continue;
    stdout.WriteLine(Answer(line).ToJsonString());
}
return 0;

JsonObject Answer(string requestLine)
{
    JsonObject request;
    try { request = JsonNode.Parse(requestLine) as JsonObject ?? throw new FormatException("not a JSON object"); }
    catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
    {
        return new JsonObject { ["id"] = 0, ["status"] = "error", ["message"] = "the request is not a JSON object: " + e.Message };
    }
    long id = request["id"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
    try
    {
        switch ((string?)request["surface"])
        {
            case "hello":
                return new JsonObject
                {
                    ["id"] = id, ["status"] = "ok", ["name"] = "ml-tokenizers",
                    ["version"] = LibraryVersion(),
                    ["protocol_version"] = 1, ["surfaces"] = new JsonArray("tokenize"),
                };
            case "tokenize":
                string text = (string?)request["text"] ?? throw new FormatException("tokenize: 'text' is missing");
                bool addBos = (bool?)request["add_bos"] ?? throw new FormatException("tokenize: 'add_bos' is missing");
                var ids = tokenizer.Encode(text, addBos);
                return new JsonObject { ["id"] = id, ["status"] = "ok", ["ids"] = new JsonArray(ids.Select(i => (JsonNode)i).ToArray()) };
            case var other:
                return new JsonObject { ["id"] = id, ["status"] = "error", ["message"] = $"surface '{other}' is not implemented (only tokenize)" };
        }
    }
    catch (Exception e) when (e is not OutOfMemoryException)
    {
        Console.Error.WriteLine($"MlTokenizersPort: request {id}: {e}");
        return new JsonObject { ["id"] = id, ["status"] = "error", ["message"] = $"{e.GetType().Name}: {e.Message}" };
    }
}

// the library's package version (its assembly version is 1.0.0.0 in every release)
static string LibraryVersion() =>
    "Microsoft.ML.Tokenizers " + (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(
        typeof(Microsoft.ML.Tokenizers.LlamaTokenizer).Assembly)?.InformationalVersion.Split('+')[0] ?? "?");

static string? FindBundledModel()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "golden", "tokenizer", "tokenizer.model");
            if (File.Exists(p)) return p;
        }
    return null;
}

static T Fail<T>(string message)
{
    Console.Error.WriteLine("MlTokenizersPort: " + message);
    Environment.Exit(2);
    return default!;
}
