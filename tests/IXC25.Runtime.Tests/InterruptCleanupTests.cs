using IXC25.Runtime.IO;
using IXC25.Runtime.Processes;

namespace IXC25.Runtime.Tests;

/// <summary>An interrupt (Interrupts.Interrupt, called by the CLI's SIGINT/SIGTERM handler) removes the temporary file of an
/// output not yet committed, so nothing half-written is left; a committed output is not touched.</summary>
public sealed class InterruptCleanupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ixc25-interrupt-cleanup-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AnUncommittedOutputLeavesNothingBehind()
    {
        string done = Path.Combine(_dir, "done.safetensors"), open = Path.Combine(_dir, "open.safetensors");
        using (var w = new SafetensorsWriter(done))
        {
            w.AddF32("x", [2], [1f, 2f]);
            w.Commit();
        }
        using var writer = new SafetensorsWriter(open);
        writer.AddF32("y", [3], [1f, 2f, 3f]);
        Assert.Contains(Directory.EnumerateFiles(_dir), f => f.EndsWith(".data.tmp", StringComparison.Ordinal));
        Interrupts.Interrupt();
        Assert.Equal([done], Directory.EnumerateFiles(_dir));
    }
}
