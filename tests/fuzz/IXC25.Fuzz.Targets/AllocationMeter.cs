namespace IXC25.Fuzz.Targets;

/// <summary>What one execution allocated (<see cref="AllocationMeter"/>).</summary>
/// <param name="Managed">Bytes of managed objects allocated by the whole process during the execution
/// (GC.GetTotalAllocatedBytes(precise: true), so work handed to other threads counts).</param>
/// <param name="ManagedThisThread">The part allocated on the executing thread (GC.GetAllocatedBytesForCurrentThread):
/// equal to <see cref="Managed"/> up to runtime noise when the target does all its work on the calling thread.</param>
/// <param name="Native">The C heap's largest growth over its size at the start, at the samples taken
/// (<see cref="AllocationMeter.SampleNative"/>): live NativeMemory/malloc blocks; 0 where <see cref="NativeHeap"/> is unavailable.</param>
public readonly record struct Allocation(long Managed, long ManagedThisThread, long Native)
{
    /// <summary>What the budget is checked against: managed allocations plus the native high-water.</summary>
    public long Bytes => Managed + Native;

    public override string ToString() => $"managed {Managed:N0}, native {Native:N0}";
}

/// <summary>
/// Measures what one execution allocates, for the contract's allocation clause (issue 15). Managed allocations are
/// counted exactly (every object, however short-lived). Native memory has no running total, so the C heap's
/// in-use size is sampled: at the end of the execution (memory still held: a leak) and wherever a target calls
/// <see cref="SampleNative"/> at its native high-water mark (the torch reader before it is disposed, when every
/// inflated or materialized block is alive). Memory-mapped input files are not allocations and are not counted.
/// One measurement at a time per thread; <see cref="SampleNative"/> outside one does nothing.
/// </summary>
public sealed class AllocationMeter
{
    [ThreadStatic] private static AllocationMeter? _current;

    private readonly long _managed0 = GC.GetTotalAllocatedBytes(precise: true);
    private readonly long _thread0 = GC.GetAllocatedBytesForCurrentThread();
    private readonly long? _native0 = NativeHeap.InUse();
    private long _nativePeak;

    private AllocationMeter() { }

    /// <summary>Starts measuring on this thread.</summary>
    public static AllocationMeter Start()
    {
        if (_current is not null) throw new InvalidOperationException("an allocation measurement is already running on this thread");
        return _current = new AllocationMeter();
    }

    /// <summary>Records the C heap's growth now, when a measurement is running on this thread.</summary>
    public static void SampleNative() => _current?.Sample();

    /// <summary>Ends the measurement (samples the C heap once more) and returns what was allocated.</summary>
    public Allocation Stop()
    {
        Sample();
        long thread = GC.GetAllocatedBytesForCurrentThread() - _thread0;
        long managed = GC.GetTotalAllocatedBytes(precise: true) - _managed0;
        _current = null;
        return new Allocation(managed, thread, _nativePeak);
    }

    private void Sample()
    {
        if (_native0 is not { } start || NativeHeap.InUse() is not { } now) return;
        _nativePeak = Math.Max(_nativePeak, now - start);
    }
}
