using System.CommandLine;
using IXC25.Cli.Commands;

namespace IXC25.Cli.Tests;

/// <summary>
/// Every numeric option of every command (found by walking the command tree, so a new option without bounds fails
/// here) has a documented range in its help, and each value just outside each bound is one clear line and exit 1,
/// never a clamp, an exception or a parse error of another kind (issue 15).
/// </summary>
public class OptionBoundsTests
{
    private static IEnumerable<(string[] Path, Option Option)> NumericOptions()
    {
        static IEnumerable<(string[], Option)> Walk(Command c, string[] path)
        {
            foreach (var o in c.Options.Where(o => OptionBounds.IsNumeric(o.ValueType))) yield return (path, o);
            foreach (var sub in c.Subcommands)
                foreach (var x in Walk(sub, [.. path, sub.Name])) yield return x;
        }
        return IXC25.Cli.Cli.BuildRoot().Subcommands.SelectMany(c => Walk(c, [c.Name]));
    }

    public static TheoryData<string, string, string> OutsideValues()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (path, o) in NumericOptions())
            foreach (var v in OptionBounds.RangeOf(o)?.Outside ?? [])
                data.Add(string.Join(' ', path), o.Name, v);
        return data;
    }

    [Fact]
    public void EveryNumericOptionHasARange()
    {
        var options = NumericOptions().ToList();
        Assert.True(options.Count >= 25, $"only {options.Count} numeric options found: is the walk broken?");
        var missing = options.Where(x => OptionBounds.RangeOf(x.Option) is null).Select(x => $"{string.Join(' ', x.Path)} {x.Option.Name}").ToList();
        Assert.True(missing.Count == 0, "numeric options without documented bounds (use .Within / .WithinIfGiven): " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryRangeIsInTheHelpAndTheLimitsTable()
    {
        string limits = File.ReadAllText(IXC25.Runtime.RepoLayout.Path("docs", "CLI-LIMITS.md"));
        foreach (var (path, o) in NumericOptions())
        {
            var range = OptionBounds.RangeOf(o)!;
            var (code, help, _) = CliRunner.Run([.. path, "--help"]);
            Assert.Equal(0, code);
            Assert.Contains($"[{range.Text}]", help.Replace("\n", " ").Replace("  ", " "));
            string row = $"| `{string.Join(' ', path)}` | `{o.Name}` | {range.Text} |";
            Assert.True(limits.Contains(row, StringComparison.Ordinal), $"docs/CLI-LIMITS.md has no row {row}");
        }
    }

    [Theory]
    [MemberData(nameof(OutsideValues))]
    public void AValueJustOutsideIsOneLineAndExit1(string command, string option, string value)
    {
        var (code, output, err) = CliRunner.Run([.. command.Split(' '), option, value]);
        Assert.True(code == 1, $"exit {code}: {err}");
        Assert.Equal("", output);
        string line = Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"ixc25: {option} must be ", line);
    }

    [Theory]
    [InlineData("chat", "--top-k", "abc", "an integer")]
    [InlineData("chat", "--top-p", "0.5x", "a number")]
    [InlineData("conform", "--timeout", "Infinity", "got Infinity")]
    public void NotANumberIsTheSameOneLine(string command, string option, string value, string expected)
    {
        var (code, _, err) = CliRunner.Run(command, option, value);
        Assert.Equal(1, code);
        Assert.Contains(expected, err);
        Assert.StartsWith($"ixc25: {option} must be ", err);
    }
}
