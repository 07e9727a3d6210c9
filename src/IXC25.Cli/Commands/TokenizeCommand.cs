using System.CommandLine;
using IXC25.Runtime;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 tokenize (--text TEXT | --text-file FILE) [--bos] [--raw] [--model DIR]</c>: prints the token
/// ids as one JSON array. By default the text is encoded as upstream's
/// <c>tokenizer(text, add_special_tokens=bos)</c> does (the strings &lt;s&gt;, &lt;/s&gt;, &lt;unk&gt; become
/// special tokens, with the whitespace around them removed); <c>--raw</c> is plain sentencepiece.
/// </summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var text = new Option<string?>("--text") { Description = "The text to encode." };
        var textFile = new Option<string?>("--text-file") { Description = "A UTF-8 file whose exact content is encoded (no newline is stripped)." };
        var bos = new Option<bool>("--bos") { Description = "Prepend BOS (id 1), as add_special_tokens=True does." };
        var raw = new Option<bool>("--raw") { Description = "Plain sentencepiece encode: no special-token splitting (with --text-file, malformed UTF-8 bytes are encoded as sentencepiece does)." };
        var model = TokenizerOptions.Model();
        var command = new Command("tokenize", "Encode text into InternLM2 token ids (prints a JSON array).") { text, textFile, bos, raw, model };
        command.SetAction(parse =>
        {
            string? t = parse.GetValue(text), file = parse.GetValue(textFile);
            if ((t is null) == (file is null)) throw new IxcException("tokenize: give exactly one of --text and --text-file");
            var tokenizer = TokenizerOptions.Load(parse.GetValue(model));
            bool addBos = parse.GetValue(bos);
            int[] ids;
            if (parse.GetValue(raw))
            {
                int[] body = file is null ? tokenizer.EncodeRaw(t!) : tokenizer.EncodeRaw(TokenizerOptions.ReadBytes(file));
                ids = addBos ? [tokenizer.BosId, .. body] : body;
            }
            else
            {
                ids = tokenizer.Encode(t ?? TokenizerOptions.ReadUtf8(file!), addBos);
            }
            parse.InvocationConfiguration.Output.WriteLine(TokenizerOptions.IdsJson(ids));
            return 0;
        });
        return command;
    }
}
