using System.Text;
using System.Text.Json;
using IXC25.Runtime;
using IXC25.Tokenizer;

namespace IXC25.Bench;

/// <summary>
/// Encode throughput of our SentencePiece-BPE on the tokenizer golden corpus
/// (golden/tokenizer/data/corpus.jsonl), one thread: every line encoded with its own call
/// (<c>per_line</c>), and the whole corpus joined by newlines as one text (<c>document</c>).
/// bench/tokenizer_side_by_side.py measures sentencepiece the same way and prints the ratio.
/// Options: --corpus FILE (JSON string per line), --runs N.
/// </summary>
internal static class TokenizerBench
{
    public static void Run(BenchArgs a)
    {
        string corpusPath = a.Get("corpus", RepoLayout.Path("golden", "tokenizer", "data", "corpus.jsonl"));
        int runs = a.GetInt("runs", 7);
        var lines = File.ReadLines(corpusPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<string>(l)!).ToArray();
        var utf8 = lines.Select(Encoding.UTF8.GetBytes).ToArray();
        var tokenizer = InternLM2Tokenizer.Load(InternLM2Tokenizer.BundledModelPath);
        long bytes = utf8.Sum(b => (long)b.Length);
        long tokens = lines.Sum(l => (long)tokenizer.EncodeRaw(l).Length);
        Console.Error.WriteLine($"tokenize: {lines.Length} lines, {bytes} bytes, {tokens} tokens");

        var ids = new List<int>(1 << 16);
        BenchHost.Measure("tokenize_per_line", () =>
        {
            foreach (var b in utf8)
            {
                ids.Clear();
                tokenizer.Bpe.Encode(b, ids);
            }
        }, runs, perSecond: new Dictionary<string, double> { ["bytes"] = bytes, ["tokens"] = tokens, ["lines"] = lines.Length });

        byte[] document = Encoding.UTF8.GetBytes(string.Join("\n", lines));
        ids.Clear();
        tokenizer.Bpe.Encode(document, ids);
        long documentTokens = ids.Count;
        BenchHost.Measure("tokenize_document", () =>
        {
            ids.Clear();
            tokenizer.Bpe.Encode(document, ids);
        }, runs, perSecond: new Dictionary<string, double> { ["bytes"] = document.Length, ["tokens"] = documentTokens });

        BenchHost.Measure("tokenize_string_api", () =>
        {
            foreach (var l in lines) tokenizer.EncodeRaw(l);
        }, runs, perSecond: new Dictionary<string, double> { ["bytes"] = bytes, ["tokens"] = tokens, ["lines"] = lines.Length });
    }
}
