using System.Runtime.InteropServices;
using IXC25.Fuzz.Targets;
using IXC25.Runtime;

namespace IXC25.Fuzz.Tests;

/// <summary>
/// The contract's allocation clause can fail: an execution over its target's budget escapes <see cref="FuzzTargets.Run"/>
/// as <see cref="AllocationBudgetExceededException"/> naming target, input length, bytes and budget, whether the input
/// was accepted or refused, whether the memory was managed, on another thread or native; and the real targets'
/// allocations are measured (each target's largest seed is over a 1 KiB budget).
/// </summary>
public class AllocationBudgetTests
{
    private const int MiB = 1 << 20;

    [Fact]
    public void AnExecutionOverItsBudgetIsReportedWithTargetLengthBytesAndBudget()
    {
        var greedy = new Allocating("greedy", new AllocationBudget(Floor: MiB, PerInputByte: 16), managed: 8 * MiB);
        var e = Assert.Throws<AllocationBudgetExceededException>(() => FuzzTargets.Run(greedy, new byte[1000]));
        Assert.Equal("greedy", e.Target);
        Assert.Equal(1000, e.InputLength);
        Assert.Equal(MiB + 16 * 1000, e.Budget);
        Assert.InRange(e.Measured.Bytes, 8 * MiB, 9 * MiB);
        Assert.StartsWith("greedy: an input of 1,000 bytes allocated 8,", e.Message);
        Assert.Contains("over its budget of 1,064,576 bytes (1,048,576 + 16 x n)", e.Message);
        // within the budget the same allocation is a result
        Assert.Null(FuzzTargets.Run(greedy, new byte[1 << 19]));
    }

    [Fact]
    public void ARefusalOverItsBudgetIsReportedToo()
    {
        // the parser that allocates from a header's claim before refusing the file: the refusal does not excuse it
        var claims = new Allocating("claims", new AllocationBudget(MiB, 0), managed: 4 * MiB, refuse: true);
        Assert.Throws<AllocationBudgetExceededException>(() => FuzzTargets.Run(claims, [1, 2, 3]));
        var modest = new Allocating("modest", new AllocationBudget(MiB, 0), managed: 64 * 1024, refuse: true);
        Assert.Equal("refused after allocating", FuzzTargets.Run(modest, [1, 2, 3]));
    }

    [Fact]
    public void WorkOnAnotherThreadIsCounted()
    {
        var offloaded = new Allocating("offloaded", new AllocationBudget(MiB, 0), managed: 4 * MiB, onAnotherThread: true);
        var e = Assert.Throws<AllocationBudgetExceededException>(() => FuzzTargets.Run(offloaded, []));
        Assert.True(e.Measured.Managed >= 4 * MiB, e.Message);
        Assert.True(e.Measured.ManagedThisThread < MiB, $"{e.Measured.ManagedThisThread} bytes on the calling thread");
    }

    [NativeHeapFact]
    public void NativeMemoryHeldAtASampleIsCounted()
    {
        var native = new Allocating("native", new AllocationBudget(MiB, 0), native: 8 * MiB);
        var e = Assert.Throws<AllocationBudgetExceededException>(() => FuzzTargets.Run(native, []));
        Assert.InRange(e.Measured.Native, 8 * MiB, 9 * MiB);
        Assert.True(e.Measured.Managed < MiB, e.Message);
    }

    [Theory]
    [MemberData(nameof(CrasherReplayTests.Targets), MemberType = typeof(CrasherReplayTests))]
    public void RealTargetsAllocationsAreMeasured(string name)
    {
        // every target's largest seed, in a warm process, allocates more than 1 KiB: the meter sees the real work
        var target = FuzzTargets.Find(name)!;
        var seeds = Directory.EnumerateFiles(RepoLayout.Path("tests", "fuzz", "corpus", name)).Select(File.ReadAllBytes).ToList();
        FuzzTargets.Warm(target, seeds);
        var tight = new Budgeted(target, new AllocationBudget(Floor: 1024, PerInputByte: 0));
        var e = Assert.Throws<AllocationBudgetExceededException>(() => FuzzTargets.Run(tight, seeds.MaxBy(s => s.Length)!));
        Assert.Equal(name, e.Target);
    }

    /// <summary>A test-only target: allocates <paramref name="managed"/> bytes (here or on a thread of its own) and holds
    /// <paramref name="native"/> bytes of NativeMemory at a sample, then returns or refuses.</summary>
    private sealed class Allocating(string name, AllocationBudget budget, int managed = 0, int native = 0, bool refuse = false, bool onAnotherThread = false) : IFuzzTarget
    {
        public string Name => name;
        public string Description => "allocates what it is told";
        public AllocationBudget Budget => budget;

        public unsafe void Execute(ReadOnlySpan<byte> data)
        {
            if (managed > 0)
            {
                if (onAnotherThread)
                {
                    var worker = new Thread(() => Touch(new byte[managed])); // a thread of its own: Task.Wait may inline the work
                    worker.Start();
                    worker.Join();
                }
                else Touch(new byte[managed]);
            }
            if (native > 0)
            {
                byte* p = (byte*)NativeMemory.Alloc((nuint)native);
                try
                {
                    new Span<byte>(p, native).Fill(1);
                    AllocationMeter.SampleNative();
                }
                finally { NativeMemory.Free(p); }
            }
            if (refuse) throw new IxcException("refused after allocating");
        }

        private static void Touch(byte[] b) => b[^1] = 1;
    }

    /// <summary>Skipped, saying why, where <see cref="NativeHeap"/> cannot measure (no glibc).</summary>
    private sealed class NativeHeapFactAttribute : FactAttribute
    {
        public NativeHeapFactAttribute()
        {
            if (NativeHeap.InUse() is null) Skip = "no glibc mallinfo2 here: native memory is not measured";
        }
    }

    /// <summary>A real target under another budget.</summary>
    private sealed class Budgeted(IFuzzTarget inner, AllocationBudget budget) : IFuzzTarget
    {
        public string Name => inner.Name;
        public string Description => inner.Description;
        public AllocationBudget Budget => budget;
        public void Execute(ReadOnlySpan<byte> data) => inner.Execute(data);
    }
}
