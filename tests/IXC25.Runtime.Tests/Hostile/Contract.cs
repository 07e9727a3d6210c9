using System.Diagnostics;
using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Runtime;

namespace IXC25.Tests.Hostile;

/// <summary>
/// The contract of every parser of outside data: it returns, or throws <see cref="IxcException"/> with a
/// non-empty message; never another exception type, never a hang (a per-case time limit). A violation
/// fails with the case's seed and the description of the mutated input, so it can be replayed.
/// Shared by the hostile-input properties of every test project (linked, not copied).
/// </summary>
/// <remarks>
/// A hang is measured as the CPU time of the thread that runs the case (its own thread, not the thread pool),
/// not as wall time: in the whole suite on a loaded 2-core CI machine a case that takes milliseconds alone waited
/// more than 2 s of wall time for a core or a pool thread (CI, seed 32182826 of the synthetic tokenizer model).
/// A parser that loops burns CPU and is caught at the CPU limit; one that blocks without CPU is caught at the wall
/// ceiling (<see cref="WallCeiling"/>). Where the thread's CPU clock cannot be read (not Linux) the wall limit is the CPU limit.
/// </remarks>
internal static class Contract
{
    public static readonly TimeSpan PerCase = TimeSpan.FromSeconds(2);

    /// <summary>Wall time after which a case that still has not used its CPU limit is a hang (blocked, not spinning).</summary>
    public static readonly TimeSpan WallCeiling = TimeSpan.FromSeconds(60);

    /// <summary>Multiplies every property's case count (environment variable IXC25_HOSTILE_SCALE, default 1) for a longer search outside the suite.</summary>
    public static int Scale => int.TryParse(Environment.GetEnvironmentVariable("IXC25_HOSTILE_SCALE"), out int s) && s > 0 ? s : 1;

    /// <summary>Runs <paramref name="check"/> for <paramref name="cases"/> (times <see cref="Scale"/>) seeds drawn over the whole int range.</summary>
    /// <remarks>The first case may take <see cref="FirstCase"/>: it pays for JIT compilation and the seeds' lazy loading,
    /// which on a loaded 2-core machine (the whole suite in parallel) can pass <see cref="PerCase"/>.</remarks>
    public static void ForSeeds(int cases, Action<int> check, TimeSpan? perCase = null)
    {
        _limit = FirstCase;
        try
        {
            Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed => { check(seed); _limit = perCase ?? PerCase; return true; })
                .Check(Config.QuickThrowOnFailure.WithMaxTest(cases * Scale).WithQuietOnSuccess(true));
        }
        finally { _limit = null; }
    }

    public static readonly TimeSpan FirstCase = TimeSpan.FromSeconds(30);

    [ThreadStatic] private static TimeSpan? _limit;

    /// <summary>Asserts the contract for one load of the input described by <paramref name="description"/>.</summary>
    public static void Holds(string description, Action load) => Holds(description, load, _limit ?? PerCase, WallCeiling);

    /// <summary>Asserts the contract with explicit limits: <paramref name="cpuLimit"/> of the case thread's CPU time, <paramref name="wallCeiling"/> of wall time.</summary>
    public static void Holds(string description, Action load, TimeSpan cpuLimit, TimeSpan wallCeiling)
    {
        Exception? other = null;
        long clock = -1;
        using var clockKnown = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            clock = ThreadCpuClock.OfCurrentThread();
            clockKnown.Set();
            try { load(); }
            catch (IxcException e) when (!string.IsNullOrWhiteSpace(e.Message)) { }
            catch (Exception e) { other = e; }
        }, 16 * 1024 * 1024) { IsBackground = true, Name = "hostile case" };
        thread.Start();
        clockKnown.Wait();
        var wall = Stopwatch.StartNew();
        var slice = TimeSpan.FromMilliseconds(Math.Clamp(cpuLimit.TotalMilliseconds / 8, 5, 100));
        while (!thread.Join(slice))
        {
            var cpu = ThreadCpuClock.Read(clock);
            if (cpu is { } used && used > cpuLimit)
                throw new Xunit.Sdk.XunitException($"no result within {cpuLimit.TotalSeconds} s of CPU time for: {description}");
            if (wall.Elapsed > (cpu is null ? cpuLimit : wallCeiling))
                throw new Xunit.Sdk.XunitException($"no result within {wall.Elapsed.TotalSeconds:0.#} s of wall time " +
                    $"({(cpu is { } c ? $"{c.TotalSeconds:0.###} s of CPU" : "CPU time unknown")}) for: {description}");
        }
        if (other is not null)
            throw new Xunit.Sdk.XunitException($"{other.GetType().Name} (not an IxcException with a message) for: {description}\n{other}");
    }

    /// <summary>The CPU clock of a thread (POSIX pthread_getcpuclockid), readable from another thread.</summary>
    private static class ThreadCpuClock
    {
        [StructLayout(LayoutKind.Sequential)] private struct TimeSpec { public long Sec; public long Nsec; }

        [DllImport("libc", EntryPoint = "pthread_self")] private static extern nint PthreadSelf();
        [DllImport("libc", EntryPoint = "pthread_getcpuclockid")] private static extern int GetCpuClockId(nint thread, out int clockId);
        [DllImport("libc", EntryPoint = "clock_gettime")] private static extern int ClockGetTime(int clockId, out TimeSpec t);

        /// <summary>The calling thread's CPU clock id, or -1 where there is none.</summary>
        public static long OfCurrentThread()
        {
            if (!OperatingSystem.IsLinux()) return -1;
            try { return GetCpuClockId(PthreadSelf(), out int id) == 0 ? id : -1; }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return -1; }
        }

        public static TimeSpan? Read(long clock)
        {
            if (clock == -1 || ClockGetTime((int)clock, out var t) != 0) return null;
            return TimeSpan.FromTicks(t.Sec * TimeSpan.TicksPerSecond + t.Nsec / 100);
        }
    }
}
