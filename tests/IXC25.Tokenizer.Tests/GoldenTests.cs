using System.Text;
using System.Text.Json;

namespace IXC25.Tokenizer.Tests;

/// <summary>Id-exactness against sentencepiece 0.1.97 (golden/tokenizer/data, see make_goldens.py).</summary>
public class GoldenTests
{
    private static InternLM2Tokenizer T => Goldens.Tokenizer;

    [Fact]
    public void CorpusIsLargeAndCoversEveryCategory()
    {
        var corpus = Goldens.Corpus();
        Assert.True(corpus.Count >= 5000, $"corpus has {corpus.Count} lines");
        Assert.Contains(corpus, s => s.Contains('中'));
        Assert.Contains(corpus, s => s.Any(c => c is >= '\u3040' and <= '\u30FF')); // kana
        Assert.Contains(corpus, s => s.Any(c => c is >= '\uAC00' and <= '\uD7A3')); // hangul
        Assert.Contains(corpus, s => s.Contains("\n            ")); // deep indentation
        Assert.Contains(corpus, s => s.Contains("\U0001F600"));
        Assert.Contains(corpus, s => s.Contains('\0'));
        Assert.Contains(corpus, s => s.Contains(new string(' ', 1000)));
        Assert.Contains(corpus, s => s.Contains("[UNUSED_TOKEN_145]"));
        Assert.Contains(corpus, s => s.Contains("<s>"));
    }

    [Fact]
    public void EveryCorpusLineEncodesIdExactly()
    {
        var corpus = Goldens.Corpus();
        var expected = Goldens.CorpusIds();
        Assert.Equal(corpus.Count, expected.Count);
        var failures = new List<string>();
        for (int i = 0; i < corpus.Count; i++)
        {
            int[] ids = T.EncodeRaw(corpus[i]);
            if (!ids.AsSpan().SequenceEqual(expected[i])) failures.Add($"line {i + 1}: {Goldens.Diff(expected[i], ids)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {corpus.Count} lines differ; " + string.Join("; ", failures.Take(5)));
    }

    [Fact]
    public void ReferenceEncoderMatchesTheGoldensOnShortLines()
    {
        var corpus = Goldens.Corpus();
        var expected = Goldens.CorpusIds();
        int checkedLines = 0;
        for (int i = 0; i < corpus.Count; i++)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(corpus[i]);
            if (utf8.Length > 300) continue;
            var ids = new List<int>();
            T.Bpe.EncodeReference(utf8, ids);
            Assert.True(ids.SequenceEqual(expected[i]), $"line {i + 1}: {Goldens.Diff(expected[i], ids)}");
            checkedLines++;
        }
        Assert.True(checkedLines > 3000, $"only {checkedLines} short lines");
    }

    [Fact]
    public void EncodingIsTheSameOnManyThreads()
    {
        var corpus = Goldens.Corpus();
        var expected = Goldens.CorpusIds();
        var bad = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.For(0, corpus.Count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (!T.EncodeRaw(corpus[i]).AsSpan().SequenceEqual(expected[i])) bad.Add(i);
        });
        Assert.Empty(bad);
    }

    [Fact]
    public void MalformedUtf8BytesEncodeIdExactly()
    {
        int n = 0;
        foreach (var c in Goldens.ReadJsonLines("bytes_cases.jsonl"))
        {
            byte[] bytes = Convert.FromHexString(c.GetProperty("hex").GetString()!);
            int[] expected = Goldens.Ints(c.GetProperty("ids"));
            int[] ids = T.EncodeRaw(bytes);
            Assert.True(ids.AsSpan().SequenceEqual(expected), $"bytes {c.GetProperty("hex").GetString()}: {Goldens.Diff(expected, ids)}");
            n++;
        }
        Assert.True(n > 200);
    }

    [Fact]
    public void TransformersPathEncodesIdExactly()
    {
        int n = 0;
        foreach (var c in Goldens.ReadJsonLines("hf_cases.jsonl"))
        {
            string text = c.GetProperty("text").GetString()!;
            bool addBos = c.GetProperty("add_bos").GetBoolean();
            int[] expected = Goldens.Ints(c.GetProperty("ids"));
            int[] ids = T.Encode(text, addBos);
            Assert.True(ids.AsSpan().SequenceEqual(expected), $"{JsonSerializer.Serialize(text)} (bos {addBos}): {Goldens.Diff(expected, ids)}");
            n++;
        }
        Assert.True(n > 200);
    }

    [Fact]
    public void DecodingMatchesSentencepieceAndUpstream()
    {
        int n = 0;
        foreach (var c in Goldens.ReadJsonLines("decode_cases.jsonl"))
        {
            int[] ids = Goldens.Ints(c.GetProperty("ids"));
            Assert.Equal(c.GetProperty("raw").GetString(), T.DecodeRaw(ids));
            Assert.Equal(c.GetProperty("hf").GetString(), T.Decode(ids));
            n++;
        }
        Assert.True(n > 500);
    }
}
