using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;

namespace IXC25.Conformance.Ports;

/// <summary>
/// Serves an <see cref="IPort"/> over the protocol (stdin/stdout lines): `ixc25 serve-port`. A request this
/// side cannot read is answered with status error; an input the engine refuses (an IxcException) with
/// status refused; nothing a request holds ends the server.
/// </summary>
public static class PortServer
{
    public static int Serve(IPort port, TextReader input, TextWriter output, TextWriter log)
    {
        string? line;
        while ((line = input.ReadLine()) is not null)
        {
            if (line.Trim().Length == 0) continue;
            var (id, request, problem) = PortRequest.Parse(line);
            JsonObject answer;
            if (request is null)
                answer = PortReply.Error(problem!).ToMessage(Math.Max(id, 0));
            else if (request.Surface == "hello")
                answer = new JsonObject
                {
                    ["id"] = id, ["status"] = "ok", ["name"] = port.Info.Name, ["version"] = port.Info.Version,
                    ["protocol_version"] = PortSchema.Default.Version, ["surfaces"] = new JsonArray(port.Info.Surfaces.Select(s => (JsonNode)s).ToArray()),
                };
            else
            {
                PortReply reply;
                try { reply = port.Call(request); }
                catch (IxcException e) { reply = PortReply.Refused(e.Message); }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    log.WriteLine($"serve-port: request {id} ({request.Surface}): {e}");
                    reply = PortReply.Error($"{e.GetType().Name}: {e.Message}");
                }
                answer = reply.ToMessage(id);
            }
            output.WriteLine(answer.ToJsonString());
            output.Flush();
        }
        return 0;
    }
}
