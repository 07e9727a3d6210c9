using System.CommandLine;
using System.Globalization;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.IO;

namespace IXC25.Cli.Commands;

/// <summary>
/// `ixc25 rope-table`: simulates successive forward passes of total lengths L1, L2, ... on one rotary
/// module and writes, for each call k, `call{k}.cos` and `call{k}.sin` (F32 [positions below Lk, D]):
/// the module's tables at the requested positions after that call.
/// </summary>
internal static class RopeTableCommand
{
    public static Command Create()
    {
        var headDim = new Option<int>("--head-dim") { Description = "head dimension D (even)", Required = true }.Within(2, OptionLimits.MaxHeadDim);
        var theta = new Option<double>("--theta") { Description = "rope_theta (base)", Required = true }.Within(0, double.MaxValue, minOpen: true);
        var maxPos = new Option<int>("--max-pos") { Description = "max_position_embeddings", Required = true }.Within(1, int.MaxValue);
        var scaling = new Option<string>("--scaling") { Description = "none, linear or dynamic", DefaultValueFactory = _ => "none" };
        var factor = new Option<double>("--factor") { Description = "scaling factor (linear, dynamic)", DefaultValueFactory = _ => 1.0 }.Within(1, double.MaxValue);
        var mode = new Option<string>("--mode") { Description = "hf (upstream's stateful module, the default) or stateless", DefaultValueFactory = _ => "hf" };
        var calls = new Option<string>("--calls") { Description = "total lengths of successive forward passes, comma-separated", Required = true };
        var positions = new Option<string>("--positions") { Description = "positions to write, comma-separated", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "output .safetensors", Required = true };
        var cmd = new Command("rope-table", "Write the rotary cos/sin tables a module holds after a sequence of forward passes (dynamic NTK state included).")
        {
            headDim, theta, maxPos, scaling, factor, mode, calls, positions, output,
        };
        cmd.SetAction(r =>
        {
            var kind = r.GetValue(scaling) switch
            {
                "none" => RopeScaling.None,
                "linear" => RopeScaling.Linear,
                "dynamic" => RopeScaling.Dynamic,
                var s => throw new IxcException($"--scaling must be none, linear or dynamic (got '{s}')"),
            };
            var m = r.GetValue(mode) switch
            {
                "hf" => RopeMode.Hf,
                "stateless" => RopeMode.Stateless,
                var s => throw new IxcException($"--mode must be hf or stateless (got '{s}')"),
            };
            var callList = ParseList(r.GetValue(calls)!, "--calls", 1);
            var posList = ParseList(r.GetValue(positions)!, "--positions", 0);
            var rope = new RotaryEmbedding(new RopeConfig(r.GetValue(headDim), r.GetValue(theta), r.GetValue(maxPos), kind, r.GetValue(factor)), m);
            using var w = new SafetensorsWriter(r.GetValue(output)!.FullName);
            RopeTables.Write(rope, callList, posList, w);
            w.Commit(new Dictionary<string, string>
            {
                ["producer"] = "ixc25 rope-table",
                ["mode"] = m == RopeMode.Hf ? "hf" : "stateless",
                ["calls"] = string.Join(",", callList),
                ["positions"] = string.Join(",", posList),
            });
            return 0;
        });
        return cmd;
    }

    private static long[] ParseList(string s, string flag, long min)
    {
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var list = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out list[i]) || list[i] < min)
                throw new IxcException($"{flag}: '{parts[i]}' is not an integer >= {min}");
        }
        return list;
    }
}
