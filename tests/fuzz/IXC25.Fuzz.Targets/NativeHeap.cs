using System.Runtime.InteropServices;

namespace IXC25.Fuzz.Targets;

/// <summary>
/// The bytes the process holds from the C heap right now: glibc's <c>mallinfo2()</c>, in-use chunks of every arena
/// (<c>uordblks</c>) plus the large blocks malloc maps on its own (<c>hblkhd</c>). <c>NativeMemory.Alloc</c> (the
/// engine's NativeBlock) and SkiaSharp's native code both allocate through malloc, so their live memory shows here.
/// Process-wide and a point in time, not a running total: <see cref="AllocationMeter"/> samples it.
/// Null where there is no glibc (musl, macOS, Windows): native memory is then not measured.
/// </summary>
public static class NativeHeap
{
    private static readonly bool Available = Probe();

    /// <summary>Bytes of the C heap in use, or null when glibc's mallinfo2 is not there.</summary>
    public static long? InUse()
    {
        if (!Available) return null;
        var m = mallinfo2();
        return (long)(m.uordblks + m.hblkhd);
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { _ = mallinfo2(); return true; }
        catch (EntryPointNotFoundException) { return false; }
        catch (DllNotFoundException) { return false; }
    }

    // struct mallinfo2 (glibc >= 2.33): ten size_t fields
    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", ExactSpelling = true)]
#pragma warning disable SYSLIB1054 // a blittable struct return: DllImport marshals it without generated code
    private static extern MallInfo2 mallinfo2();
#pragma warning restore SYSLIB1054
}
