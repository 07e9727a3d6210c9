using IXC25.Conformance.Kit;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Surfaces;
using IXC25.Runtime;
using Xunit.Abstractions;

namespace IXC25.Conformance.Tests;

/// <summary>
/// A port that crashes, hangs, writes garbage, answers with the wrong id or wrong types, refuses, or answers
/// wrongly gets a clear line in the report (and the kit goes on with the next case after restarting it),
/// never a crash of the kit. The ports are small shell scripts speaking just enough of the protocol.
/// </summary>
public sealed class PortFailureTests(ReferenceFixture fixture, ITestOutputHelper output) : IClassFixture<ReferenceFixture>
{
    private ConformanceReport Run(string behaviour, int cases = 3, double timeoutSeconds = 60) // 60 s: a loaded 2-core suite can hold a shell port back for seconds; only the hang test needs the limit
    {
        string script = ShellPort.Write(behaviour);
        try
        {
            using var port = new ProcessPort("/bin/sh " + script, TimeSpan.FromSeconds(timeoutSeconds));
            var runner = new ConformanceRunner(port, fixture.Reference, SurfaceCatalog.All);
            var report = runner.Run(new ConformanceOptions { Surfaces = ["tokenize"], Cases = cases, OutDir = Path.Combine(Path.GetTempPath(), "ixc25-portfail"), ShrinkBudget = 5 });
            output.WriteLine(report.ToText());
            return report;
        }
        finally { File.Delete(script); }
    }

    private static void AssertFailsWith(ConformanceReport report, string words)
    {
        Assert.False(report.Passed);
        var s = report.Surfaces.Single();
        Assert.Equal(s.Cases, s.Failed);
        Assert.Contains(words, s.Failures[0].Problems[0]);
    }

    [Fact]
    public void Crashing_port_is_reported_and_restarted() =>
        AssertFailsWith(Run("echo 'segfault' >&2; exit 3"), "port crashed: the port exited (exit code 3)");

    [Fact]
    public void Hanging_port_times_out() =>
        AssertFailsWith(Run("sleep 30", cases: 2, timeoutSeconds: 1), "port hung: no answer within 1 s");

    [Fact]
    public void Garbage_is_reported() =>
        AssertFailsWith(Run("echo 'hello there'"), "not a JSON object");

    [Fact]
    public void Wrong_id_is_reported() =>
        AssertFailsWith(Run("printf '{\"id\":999,\"status\":\"ok\",\"ids\":[1]}\\n'"), "answered with id 999");

    [Fact]
    public void Wrong_field_type_is_reported() =>
        AssertFailsWith(Run("printf '{\"id\":%s,\"status\":\"ok\",\"ids\":\"1 2 3\"}\\n' \"$id\""), "field 'ids' is not int[]");

    [Fact]
    public void Refusal_where_the_reference_answers_fails() =>
        AssertFailsWith(Run("printf '{\"id\":%s,\"status\":\"refused\",\"message\":\"no\"}\\n' \"$id\""), "refuses where the reference answers: no");

    [Fact]
    public void Wrong_answer_names_the_first_difference() =>
        AssertFailsWith(Run("printf '{\"id\":%s,\"status\":\"ok\",\"ids\":[7,7,7,7,7,7,7,7,7]}\\n' \"$id\""), "ids differs: ");

    [Fact]
    public void Port_without_handshake_is_one_clear_error()
    {
        string script = ShellPort.Write("true");
        File.WriteAllText(script, "#!/bin/sh\nread line\necho nonsense\n");
        try
        {
            var e = Assert.Throws<IxcException>(() => new ProcessPort("/bin/sh " + script, TimeSpan.FromSeconds(5)));
            Assert.Contains("no valid handshake", e.Message);
        }
        finally { File.Delete(script); }
    }

    [Fact]
    public void Missing_command_is_one_clear_error()
    {
        var e = Assert.Throws<IxcException>(() => new ProcessPort("/nonexistent/port-binary", TimeSpan.FromSeconds(5)));
        Assert.Contains("no valid handshake", e.Message);
    }
}

/// <summary>A port whose tensor outputs are wrong in form: the kit names the tensor and what is wrong, and goes on.</summary>
public sealed class BadOutputTests(ReferenceFixture fixture, ITestOutputHelper output) : IClassFixture<ReferenceFixture>
{
    /// <summary>This engine, with its output file rewritten by <paramref name="spoil"/> after every answer.</summary>
    private sealed class SpoilingPort(Action<string> spoil) : IPort
    {
        private readonly Engine.EnginePort _inner = new("reference", threads: 2);
        public PortInfo Info => _inner.Info;
        public Protocol.PortReply Call(Protocol.PortRequest request)
        {
            var reply = _inner.Call(request);
            if (reply.IsOk && request.Fields["out"] is { } o) spoil(Path.Combine(request.Work, (string)o!));
            return reply;
        }
        public void Dispose() => _inner.Dispose();
    }

    private ConformanceReport Run(Action<string> spoil)
    {
        using var port = new SpoilingPort(spoil);
        var runner = new ConformanceRunner(port, fixture.Reference, SurfaceCatalog.All);
        var report = runner.Run(new ConformanceOptions { Surfaces = ["rope"], Cases = 20, OutDir = Path.Combine(Path.GetTempPath(), "ixc25-badout"), ShrinkBudget = 10 });
        output.WriteLine(report.ToText());
        return report;
    }

    [Fact]
    public void Wrong_shape_is_named()
    {
        var report = Run(path =>
        {
            // every tensor written again with its two dimensions swapped (same bytes, transposed shape)
            using (var f = new Runtime.IO.SafetensorsFile(path))
            {
                var tensors = f.Tensors.Select(t => (t.Name, Shape: t.Shape.Reverse().ToArray(), Data: t.ToFloat32())).ToList();
                f.Dispose();
                using var w = new Runtime.IO.SafetensorsWriter(path);
                foreach (var (name, shape, data) in tensors) w.AddF32(name, shape, data);
                w.Commit(new Dictionary<string, string>());
            }
        });
        Assert.False(report.Passed);
        Assert.Contains(report.Surfaces[0].Failures[0].Problems, p => p.Contains("shape [") && p.Contains(", expected ["));
    }

    [Fact]
    public void Output_file_that_is_not_safetensors_is_named()
    {
        var report = Run(path => File.WriteAllText(path, "this is not a safetensors file"));
        Assert.False(report.Passed);
        Assert.Contains("not a valid safetensors file", report.Surfaces[0].Failures[0].Problems[0]);
    }

    [Fact]
    public void Missing_output_file_is_named()
    {
        var report = Run(File.Delete);
        Assert.False(report.Passed);
        Assert.Contains("wrote no output file port.safetensors", report.Surfaces[0].Failures[0].Problems[0]);
    }
}
