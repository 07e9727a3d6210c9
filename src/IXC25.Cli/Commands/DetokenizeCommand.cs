using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using IXC25.Runtime;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 detokenize --ids 1,2,3 [--raw] [--response] [--json] [--model DIR]</c>: prints the text of
/// token ids. By default as upstream's <c>tokenizer.decode(ids, skip_special_tokens=True)</c> (ids 0/1/2
/// dropped, spaces before punctuation cleaned up); <c>--response</c> also cuts at <c>[UNUSED_TOKEN_145]</c>
/// as chat does; <c>--raw</c> is plain sentencepiece decode.
/// </summary>
internal static class DetokenizeCommand
{
    public static Command Create()
    {
        var ids = new Option<string>("--ids") { Description = "Comma-separated token ids, e.g. 1,2,3 (a JSON array also works).", Required = true };
        var raw = new Option<bool>("--raw") { Description = "Plain sentencepiece decode (nothing dropped, no clean-up)." };
        var response = new Option<bool>("--response") { Description = "Cut the text at the first [UNUSED_TOKEN_145], as chat returns it." };
        var json = new Option<bool>("--json") { Description = "Print the text as a JSON string instead of as-is." };
        var model = TokenizerOptions.Model();
        var command = new Command("detokenize", "Decode InternLM2 token ids into text.") { ids, raw, response, json, model };
        command.SetAction(parse =>
        {
            if (parse.GetValue(raw) && parse.GetValue(response)) throw new IxcException("detokenize: --raw and --response cannot be combined");
            int[] values = ParseIds(parse.GetValue(ids)!);
            var tokenizer = TokenizerOptions.Load(parse.GetValue(model));
            string text = parse.GetValue(raw) ? tokenizer.DecodeRaw(values)
                : parse.GetValue(response) ? tokenizer.DecodeResponse(values)
                : tokenizer.Decode(values);
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
                output.WriteLine(JsonSerializer.Serialize(text, new JsonSerializerOptions { Encoder = TokenizerOptions.Json.Encoder }));
            else
                output.WriteLine(text);
            return 0;
        });
        return command;
    }

    /// <summary>"1,2,3", "1, 2, 3" or "[1,2,3]"; an empty list is allowed.</summary>
    internal static int[] ParseIds(string s)
    {
        string body = s.Trim();
        if (body.StartsWith('[') && body.EndsWith(']')) body = body[1..^1];
        if (body.Trim().Length == 0) return [];
        var parts = body.Split(',');
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out ids[i]))
                throw new IxcException($"--ids: '{parts[i].Trim()}' is not an integer token id (expected comma-separated ids like 1,2,3)");
        }
        return ids;
    }
}
