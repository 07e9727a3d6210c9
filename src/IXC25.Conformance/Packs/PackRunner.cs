using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;

namespace IXC25.Conformance.Packs;

/// <summary>
/// Produces offline results for a case pack with a live port (a .NET port's own tests, the kit's tests): each
/// case's inputs are copied into RESULTS/ID/, the request runs there, and the reply line goes to RESULTS/ID/reply.json.
/// </summary>
public static class PackRunner
{
    public static void Run(IPort port, string packDir, string resultsDir)
    {
        var (_, cases) = CasePack.ReadManifest(packDir);
        foreach (var pc in cases)
        {
            string caseDir = Path.Combine(packDir, CasePack.CasesFolder, pc.Id);
            string work = Path.GetFullPath(Path.Combine(resultsDir, pc.Id));
            Directory.CreateDirectory(work);
            foreach (var input in pc.Inputs)
            {
                if (!CasePack.IsPlainName(input)) throw new IxcException($"pack case {pc.Id}: input '{input}' is not a plain file name");
                File.Copy(Path.Combine(caseDir, input), Path.Combine(work, input), overwrite: true);
            }
            var (id, request, problem) = PortRequest.Parse(File.ReadAllText(Path.Combine(caseDir, CasePack.RequestFile)));
            if (request is null) throw new IxcException($"pack case {pc.Id}: {CasePack.RequestFile}: {problem}");
            var reply = port.Call(request with { Work = work });
            File.WriteAllText(Path.Combine(work, CasePack.ReplyFile), reply.ToMessage(id).ToJsonString(CasePack.Indented));
        }
    }
}
