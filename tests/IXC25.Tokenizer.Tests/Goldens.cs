using System.Text.Json;
using IXC25.Runtime;

namespace IXC25.Tokenizer.Tests;

/// <summary>The goldens written by golden/tokenizer/make_goldens.py (sentencepiece 0.1.97) and the shared tokenizer.</summary>
internal static class Goldens
{
    private static readonly Lazy<InternLM2Tokenizer> TokenizerLazy = new(() => InternLM2Tokenizer.Load(InternLM2Tokenizer.BundledModelPath));

    /// <summary>The bundled golden/tokenizer/tokenizer.model.</summary>
    public static InternLM2Tokenizer Tokenizer => TokenizerLazy.Value;

    public static string DataPath(string name) => RepoLayout.Path("golden", "tokenizer", "data", name);

    /// <summary>One parsed JSON value per line.</summary>
    public static IEnumerable<JsonElement> ReadJsonLines(string name)
    {
        foreach (var line in File.ReadLines(DataPath(name)))
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.Clone();
        }
    }

    public static IReadOnlyList<string> Corpus() => [.. ReadJsonLines("corpus.jsonl").Select(e => e.GetString()!)];

    public static IReadOnlyList<int[]> CorpusIds() => [.. ReadJsonLines("corpus_ids.jsonl").Select(Ints)];

    public static int[] Ints(JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetInt32())];

    /// <summary>A short description of the first difference between two id sequences.</summary>
    public static string Diff(IReadOnlyList<int> expected, IReadOnlyList<int> actual)
    {
        int i = 0;
        while (i < expected.Count && i < actual.Count && expected[i] == actual[i]) i++;
        string Around(IReadOnlyList<int> s) => "[" + string.Join(",", s.Skip(Math.Max(0, i - 3)).Take(8)) + "]";
        return $"first difference at {i} (expected {expected.Count} ids, got {actual.Count}): expected …{Around(expected)}… got …{Around(actual)}…";
    }
}
