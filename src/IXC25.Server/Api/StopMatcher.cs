namespace IXC25.Server.Api;

/// <summary>
/// OpenAI's <c>stop</c> sequences over streamed text: text is released only once it cannot be the start of a stop
/// sequence; at the first complete match the text before it is final and generation should stop.
/// </summary>
internal sealed class StopMatcher(IReadOnlyList<string> stops)
{
    private readonly System.Text.StringBuilder _all = new();
    private int _released;

    public bool Stopped { get; private set; }

    /// <summary>The text released so far (the answer, once finished).</summary>
    public string Text => _all.ToString(0, _released);

    /// <summary>Adds a delta; returns the text that can be released now (possibly empty).</summary>
    public string Add(string delta)
    {
        if (Stopped) return "";
        _all.Append(delta);
        if (stops.Count == 0) return Release(_all.Length);
        string all = _all.ToString();
        int cut = -1;
        foreach (var s in stops)
        {
            int i = all.IndexOf(s, Math.Max(0, _released - s.Length + 1), StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            Stopped = true;
            return Release(Math.Max(cut, _released));
        }
        int hold = 0;
        foreach (var s in stops)
            for (int k = Math.Min(s.Length - 1, all.Length); k > hold; k--)
                if (all.AsSpan(all.Length - k).SequenceEqual(s.AsSpan(0, k))) { hold = k; break; }
        return Release(all.Length - hold);
    }

    /// <summary>At the end of generation: whatever is held back is final unless a stop sequence matched.</summary>
    public string Finish() => Stopped ? "" : Release(_all.Length);

    private string Release(int upTo)
    {
        if (upTo <= _released) return "";
        string s = _all.ToString(_released, upTo - _released);
        _released = upTo;
        return s;
    }
}
