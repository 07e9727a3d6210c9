using System.Text;
using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Tests.Hostile;

namespace IXC25.Conformance.Tests.Hostile;

/// <summary>
/// Hostile protocol lines: valid request and response lines of every surface of spec/port.json, mutated
/// (hostile numbers, invalid UTF-8 decoded as a reader of the port's stdout decodes it, deep nesting,
/// duplicate keys, bit flips, truncations). <see cref="PortRequest.Parse"/> and <see cref="PortReply.Parse"/>
/// answer every line (a request, a problem, or a Garbage reply); they never throw.
/// </summary>
public sealed class PortProtocolHostileTests
{
    private static JsonNode Sample(string type) => type.TrimEnd('?') switch
    {
        "string" => "text \u4E2D",
        "bool" => true,
        "int" => 12,
        "number" => 1.5,
        "object" => new JsonObject { ["a"] = 1, ["b"] = new JsonArray(1, 2) },
        var t when t.EndsWith("[]", StringComparison.Ordinal) => new JsonArray(Sample(t[..^2]), Sample(t[..^2])),
        _ => "x",
    };

    private static readonly Lazy<List<(string Surface, string Request, string Reply)>> Lines = new(() =>
        PortSchema.Default.Surfaces.Select(s =>
        {
            var req = new JsonObject { ["id"] = 7, ["surface"] = s.Name, ["work"] = "/tmp/work" };
            foreach (var f in s.Request) req[f.Name] = Sample(f.Type);
            var rep = new JsonObject { ["id"] = 7, ["status"] = "ok" };
            foreach (var f in s.Response) rep[f.Name] = Sample(f.Type);
            return (s.Name, req.ToJsonString(), rep.ToJsonString());
        }).ToList());

    [Fact]
    public void TheSampleLinesParse()
    {
        foreach (var (surface, request, reply) in Lines.Value)
        {
            var (id, r, problem) = PortRequest.Parse(request);
            Assert.True(problem is null, problem);
            Assert.Equal(7, id);
            Assert.Equal(surface, r!.Surface);
            var answer = PortReply.Parse(reply, 7, PortSchema.Default.Surface(surface));
            Assert.True(answer.IsOk, answer.Message);
        }
    }

    [Theory]
    [InlineData("{\"id\":1,\"id\":2,\"surface\":\"tokenize\"}")]
    [InlineData("{\"id\":1,\"surface\":\"tokenize\",\"text\":\"a\",\"text\":\"b\"}")]
    public void ARequestWithADuplicateKeyIsAProblemNotACrash(string line)
    {
        var (_, request, problem) = PortRequest.Parse(line);
        Assert.Null(request);
        Assert.Contains("duplicate", problem, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AReplyWithADuplicateKeyIsGarbageNotACrash()
    {
        var reply = PortReply.Parse("{\"id\":7,\"status\":\"ok\",\"status\":\"error\"}", 7, null);
        Assert.Equal(ReplyStatus.Garbage, reply.Status);
        Assert.Contains("duplicate", reply.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void MutatedLinesAreAnsweredNeverThrown()
    {
        var lines = Lines.Value;
        Contract.ForSeeds(4000, seed =>
        {
            var rng = new Random(seed);
            var (surface, request, reply) = lines[rng.Next(lines.Count)];
            bool isRequest = rng.Next(2) == 0;
            var original = Encoding.UTF8.GetBytes(isRequest ? request : reply);
            var (bytes, what) = new Mutator(original).Next(rng);
            if (rng.Next(8) == 0)
            {
                // a key repeated: JSON allows the text, a JSON object does not
                int brace = Array.IndexOf(bytes, (byte)'{');
                if (brace >= 0) { bytes = [.. bytes[..(brace + 1)], .. "\"id\":1,"u8, .. bytes[(brace + 1)..]]; what += "; a second \"id\" key"; }
            }
            string line = Encoding.UTF8.GetString(bytes); // as the kit's reader of a port's stdout decodes it
            string description = $"seed {seed}: {(isRequest ? "request" : "reply")} of {surface}: {what}";
            Contract.Holds(description, () =>
            {
                if (isRequest)
                {
                    var (id, r, problem) = PortRequest.Parse(line);
                    Assert.True((r is null) == (problem is not null), description);
                    if (r is not null) _ = r.ToMessage(id).ToJsonString();
                }
                else
                {
                    var answer = PortReply.Parse(line, 7, PortSchema.Default.Surface(surface));
                    Assert.True(answer.IsOk || !string.IsNullOrEmpty(answer.Message), description);
                    _ = answer.ToMessage(7).ToJsonString();
                }
            });
        });
    }
}
