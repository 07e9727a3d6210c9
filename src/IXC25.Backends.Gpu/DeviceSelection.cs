using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using IXC25.Runtime;

namespace IXC25.Backends.Gpu;

/// <summary>Which kind of ILGPU accelerator a <see cref="GpuOps"/> runs on.</summary>
public enum GpuDevice
{
    /// <summary>CUDA when ILGPU finds a CUDA device, else OpenCL when it finds an OpenCL device it can use, else the
    /// CPU accelerator (--backend gpu). The choice and why are in <see cref="GpuChoice.Description"/>.</summary>
    Auto,
    /// <summary>ILGPU's CPU accelerator (a GPU simulator: correct, slow; for tests; --backend gpu-sim).</summary>
    Cpu,
    /// <summary>A CUDA device; an error when there is none.</summary>
    Cuda,
    /// <summary>An OpenCL device ILGPU's OpenCL backend accepts (OpenCL 2.0, or 3.0 with the generic address space);
    /// an error naming the devices it refuses when there is none (--backend gpu-ocl).</summary>
    OpenCL,
}

/// <summary>The device a <see cref="GpuOps"/> runs on: its kind, its index among the <paramref name="Count"/>
/// usable devices of that kind, and a one-line description for the backend's name (with "auto: " and, when auto
/// fell past a kind, why).</summary>
public sealed record GpuChoice(GpuDevice Kind, int Index, int Count, string Description);

/// <summary>What ILGPU finds on this machine, per kind, in ILGPU's order.</summary>
/// <param name="Cuda">The CUDA devices' names.</param>
/// <param name="OpenCL">The OpenCL devices ILGPU's OpenCL backend accepts.</param>
/// <param name="OpenCLRefused">The OpenCL devices it refuses, each as "name: why".</param>
/// <param name="OpenCLMissing">Why no OpenCL device was found at all (no ICD loader, no platform), or null.</param>
public sealed record DeviceInventory(IReadOnlyList<string> Cuda, IReadOnlyList<string> OpenCL, IReadOnlyList<string> OpenCLRefused, string? OpenCLMissing = null)
{
    /// <summary>Usable devices of a kind (the CPU accelerator: always one).</summary>
    public int Count(GpuDevice kind) => kind switch
    {
        GpuDevice.Cuda => Cuda.Count,
        GpuDevice.OpenCL => OpenCL.Count,
        GpuDevice.Cpu => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "a concrete kind"),
    };
}

/// <summary>
/// Opens the ILGPU context and accelerator for a requested kind and device index (<see cref="GpuOps"/>'s
/// constructor): <see cref="GpuDevice.Auto"/> takes CUDA, then OpenCL, then the CPU accelerator; the index picks
/// among the usable devices of the chosen kind (--device N). The choice itself (<see cref="Choose"/>) is a pure
/// function of the request and a <see cref="DeviceInventory"/>, so the order and the errors are tested without
/// the devices. Findings per device (pocl, why ILGPU refuses it): src/IXC25.Backends.Gpu/README.md.
/// </summary>
public static class DeviceSelection
{
    /// <summary>The name of the CPU accelerator in descriptions.</summary>
    public const string CpuAcceleratorName = "CPU accelerator";

    /// <summary>
    /// The simulated device of gpu-sim: ILGPU's CPU accelerator runs every simulated thread as an OS thread that
    /// spins at group barriers, so on a small machine a kernel with many barriers (attention over thousands of keys,
    /// a product with many K tiles) is bound by thread hand-offs, not by arithmetic: the tiny checkpoint's image
    /// goldens took minutes each with groups of 4. By default gpu-sim therefore runs groups of one thread on two
    /// multiprocessors (the same kernels; every reduction a one-element tree, every barrier free), and the op
    /// table and the GPU suite use <paramref name="simulatorGroup"/> 4 to exercise the group reductions and barriers
    /// (a 2-level tree). A simulated device of group size g sums in the order a real device of group size g would.
    /// </summary>
    public static CPUDevice SimulatorDevice(int simulatorGroup) => simulatorGroup switch
    {
        // ILGPU's smallest warp is 2 threads; GpuOps launches groups of one on it (GroupSize)
        1 => new(numThreadsPerWarp: 2, numWarpsPerMultiprocessor: 1, numMultiprocessors: 2),
        _ => new(numThreadsPerWarp: simulatorGroup, numWarpsPerMultiprocessor: 1, numMultiprocessors: 1),
    };

    /// <summary>Threads per group of gpu-sim unless a caller asks for another width.</summary>
    public const int DefaultSimulatorGroup = 1;

    /// <summary>The device <paramref name="requested"/> and <paramref name="index"/> name on a machine with
    /// <paramref name="inventory"/>; an <see cref="IxcException"/> (one line, naming what there is) when there is none.</summary>
    public static GpuChoice Choose(GpuDevice requested, int index, DeviceInventory inventory)
    {
        if (index < 0) throw new IxcException($"--device must be >= 0 (got {index})");
        var kind = requested;
        string? fellPast = null;
        if (requested == GpuDevice.Auto)
        {
            kind = inventory.Cuda.Count > 0 ? GpuDevice.Cuda : inventory.OpenCL.Count > 0 ? GpuDevice.OpenCL : GpuDevice.Cpu;
            fellPast = kind switch
            {
                GpuDevice.OpenCL => "no CUDA device",
                GpuDevice.Cpu => "no CUDA device, no OpenCL device ILGPU can use",
                _ => null,
            };
        }
        int count = inventory.Count(kind);
        if (count == 0) throw new IxcException($"{(kind == GpuDevice.Cuda ? NoCuda : NoOpenCL(inventory))}; {Instead}");
        if (index >= count)
            throw new IxcException($"--device {index} is out of range: {Plural(count, kind == GpuDevice.Cpu ? CpuAcceleratorName : KindName(kind) + " device")}{(kind == GpuDevice.OpenCL ? " ILGPU can use" : "")} here (--device {(count == 1 ? "0" : $"0 to {count - 1}")}){(requested == GpuDevice.Auto ? $"; --backend gpu picked {(kind == GpuDevice.Cpu ? "the " + CpuAcceleratorName : KindName(kind))}" : "")}");
        string device = kind switch
        {
            GpuDevice.Cuda => $"CUDA {index}/{count} {inventory.Cuda[index]}",
            GpuDevice.OpenCL => $"OpenCL {index}/{count} {inventory.OpenCL[index]}",
            _ => CpuAcceleratorName,
        };
        string description = requested != GpuDevice.Auto ? device : fellPast is null ? $"auto: {device}" : $"auto: {device} [{fellPast}]";
        return new GpuChoice(kind, index, count, description);
    }

    /// <summary>Why <paramref name="kind"/> cannot be opened on this machine, or null when it can (for skip reasons).</summary>
    public static string? Unavailable(GpuDevice kind) => kind switch
    {
        GpuDevice.Cuda when Probe.Value.Cuda.Count == 0 => NoCuda,
        GpuDevice.OpenCL when Probe.Value.OpenCL.Count == 0 => NoOpenCL(Probe.Value),
        _ => null,
    };

    /// <summary>What ILGPU finds on this machine (enumerated once per process).</summary>
    public static DeviceInventory Inventory => Probe.Value;

    private static readonly Lazy<DeviceInventory> Probe = new(() =>
    {
        using var context = Context.Create(b => b.Cuda().OpenCL(_ => true));
        return InventoryOf(context);
    });

    /// <summary>Opens the accelerator <paramref name="requested"/> and <paramref name="index"/> name (see
    /// <see cref="Choose"/>). The caller owns (and disposes) both the context and the accelerator.</summary>
    /// <param name="simulatorGroup">Threads per group of the CPU accelerator (a power of two; <see cref="SimulatorDevice"/>).</param>
    public static (Context Context, Accelerator Accelerator, GpuChoice Choice) Open(GpuDevice requested, int index, int simulatorGroup = DefaultSimulatorGroup)
    {
        if (simulatorGroup < 1 || simulatorGroup > 64 || (simulatorGroup & (simulatorGroup - 1)) != 0)
            throw new IxcException($"simulator group size {simulatorGroup} must be a power of two from 1 to 64");
        if (index < 0) throw new IxcException($"--device must be >= 0 (got {index})");
        var context = Context.Create(b =>
        {
            // register only the kinds the request can reach: gpu-sim never loads the CUDA or OpenCL drivers
            if (requested is GpuDevice.Auto or GpuDevice.Cpu) b.CPU(SimulatorDevice(simulatorGroup));
            if (requested is GpuDevice.Auto or GpuDevice.Cuda) b.Cuda();
            // every OpenCL device, so that the ones ILGPU refuses can be named with the reason
            if (requested is GpuDevice.Auto or GpuDevice.OpenCL) b.OpenCL(_ => true);
            b.EnableAlgorithms();
        });
        try
        {
            var choice = Choose(requested, index, requested == GpuDevice.Cpu ? new DeviceInventory([], [], []) : InventoryOf(context));
            Accelerator accelerator = choice.Kind switch
            {
                GpuDevice.Cuda => context.CreateCudaAccelerator(choice.Index),
                GpuDevice.OpenCL => context.Devices.OfType<CLDevice>().Where(Usable).ElementAt(choice.Index).CreateCLAccelerator(context),
                _ => context.CreateCPUAccelerator(0),
            };
            return (context, accelerator, choice);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>ILGPU's own condition for an OpenCL device (its default predicate, CLContextExtensions.OpenCL() in
    /// ILGPU 1.5.3): OpenCL C 2.0 or later as passed to -cl-std, and the generic address space, which its generated
    /// OpenCL C uses for pointers; CLAccelerator's constructor refuses a device without it.</summary>
    public static bool Usable(CLDevice d) => d.CLStdVersion >= CLBackend.MinimumVersion && d.Capabilities.GenericAddressSpace;

    /// <summary>Why ILGPU refuses an OpenCL device (<see cref="Usable"/> false).</summary>
    public static string WhyRefused(CLDevice d) => d.CLStdVersion < CLBackend.MinimumVersion
        ? $"OpenCL {d.DeviceVersion} (OpenCL C {CVersion(d.CVersion)}): ILGPU's OpenCL backend needs OpenCL C {CVersion(CLBackend.MinimumVersion)} or later"
        : $"OpenCL {d.DeviceVersion} (OpenCL C {CVersion(d.CVersion)}) without the generic address space, which ILGPU's OpenCL backend needs (OpenCL 2.0, or 3.0 with __opencl_c_generic_address_space)";

    private static string CVersion(CLCVersion v) => v.ToString().Replace("CL", "", StringComparison.Ordinal); // "CL1.2" -> "1.2"

    private static DeviceInventory InventoryOf(Context context)
    {
        // Context.Devices holds every registered device in ILGPU's order (GetCudaDevices/GetCLDevices index the same lists)
        var cuda = context.Devices.OfType<CudaDevice>().Select(d => d.Name).ToList();
        var cl = context.Devices.OfType<CLDevice>().ToList();
        var usable = cl.Where(Usable).Select(Describe).ToList();
        var refused = cl.Where(d => !Usable(d)).Select(d => $"{Describe(d)}: {WhyRefused(d)}").ToList();
        return new DeviceInventory(cuda, usable, refused, cl.Count == 0 ? OpenCLRuntimeMissing(CanLoad) : null);
    }

    private static string Describe(CLDevice d) => $"{d.Name} ({d.PlatformName}, {d.DeviceType.ToString().Replace("CL_DEVICE_TYPE_", "", StringComparison.Ordinal).ToLowerInvariant()})";

    /// <summary>Why ILGPU finds no OpenCL device at all. ILGPU imports the ICD loader as "OpenCL", which .NET resolves
    /// to libOpenCL.so on Linux: Debian's runtime package (ocl-icd-libopencl1) has only libOpenCL.so.1, and without
    /// the unversioned name ILGPU silently sees no platform.</summary>
    public static string OpenCLRuntimeMissing(Func<string, bool> canLoad)
    {
        if (!OperatingSystem.IsLinux()) return "no OpenCL platform found";
        if (canLoad("libOpenCL.so")) return "the OpenCL ICD loader lists no device (no OpenCL driver installed)";
        if (canLoad("libOpenCL.so.1")) return "ILGPU loads the OpenCL ICD loader as libOpenCL.so and this machine has only libOpenCL.so.1 (Debian: apt-get install ocl-icd-opencl-dev)";
        return "no OpenCL ICD loader (libOpenCL.so; Debian: ocl-icd-opencl-dev and a driver's ICD)";
    }

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }

    private const string NoCuda = "no CUDA device: ILGPU finds no NVIDIA GPU or driver";

    private static string NoOpenCL(DeviceInventory inventory) =>
        "no OpenCL device ILGPU can use: " + (inventory.OpenCLRefused.Count > 0 ? string.Join("; ", inventory.OpenCLRefused) : inventory.OpenCLMissing ?? "none found");

    private const string Instead = "use --backend gpu (CUDA, else OpenCL, else ILGPU's CPU accelerator), gpu-sim or cpu";

    private static string KindName(GpuDevice kind) => kind switch
    {
        GpuDevice.Cuda => "CUDA",
        GpuDevice.OpenCL => "OpenCL",
        _ => CpuAcceleratorName,
    };

    private static string Plural(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";
}
