using System.CommandLine;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Ports;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 serve-port [--backend B] [--threads N]</c>: this engine speaking the port protocol of the
/// conformance kit (spec/port.json, docs/PORTING.md) on stdin/stdout, every surface. Lets the kit
/// cross-check two builds, two backends (CPU tiers, GPU) or two machines:
/// <c>ixc25 conform --port "ixc25 serve-port --backend cpu"</c>.
/// </summary>
internal static class ServePortCommand
{
    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "Backend of the op, layer and model surfaces: reference (default), cpu, gpu, gpu-sim, gpu-ocl.", DefaultValueFactory = _ => "reference" };
        var threads = new Option<int>("--threads") { Description = "Worker threads (-1 = all cores). Results do not depend on it.", DefaultValueFactory = _ => -1 }.Within(-1, OptionLimits.MaxThreads, 0);
        var cmd = new Command("serve-port", "Speak the conformance kit's port protocol on stdin/stdout (every surface), for `ixc25 conform --port`.") { backend, threads };
        cmd.SetAction(r =>
        {
            using var port = new EnginePort(r.GetValue(backend)!, r.GetValue(threads));
            // the protocol owns stdout: nothing else may write there
            var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = false };
            var stdin = new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false));
            return PortServer.Serve(port, stdin, stdout, r.InvocationConfiguration.Error);
        });
        return cmd;
    }
}
