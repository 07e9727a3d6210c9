using IXC25.Backends.Gpu;
using IXC25.Runtime;

namespace IXC25.Backends.Tests.Gpu;

/// <summary>
/// Device selection (DeviceSelection.cs): the order --backend gpu takes (CUDA, then OpenCL, then the CPU
/// accelerator), --device N among the devices of the chosen kind, and the one-line errors, on made-up machines
/// (<see cref="DeviceInventory"/>) and on this one.
/// </summary>
[Trait("Category", "Gpu")]
public class DeviceSelectionTests
{
    private static readonly DeviceInventory Nothing = new([], [], []);
    private static readonly DeviceInventory TwoCudaOneOpenCL = new(["H100 a", "H100 b"], ["gfx1100 (AMD APP, gpu)"], []);
    private static readonly DeviceInventory OpenCLOnly = new([], ["gfx1100 (AMD APP, gpu)", "Arc A770 (Intel, gpu)"], []);
    private static readonly DeviceInventory PoclOnly = new([], [], ["pthread-x (Portable Computing Language, cpu): OpenCL 3.0 (OpenCL C 1.2) without the generic address space"]);

    [Fact]
    public void AutoTakesCudaThenOpenCLThenTheCpuAccelerator()
    {
        var cuda = DeviceSelection.Choose(GpuDevice.Auto, 0, TwoCudaOneOpenCL);
        Assert.Equal((GpuDevice.Cuda, 0, 2), (cuda.Kind, cuda.Index, cuda.Count));
        Assert.Equal("auto: CUDA 0/2 H100 a", cuda.Description);

        var ocl = DeviceSelection.Choose(GpuDevice.Auto, 0, OpenCLOnly);
        Assert.Equal((GpuDevice.OpenCL, 0, 2), (ocl.Kind, ocl.Index, ocl.Count));
        Assert.Equal("auto: OpenCL 0/2 gfx1100 (AMD APP, gpu) [no CUDA device]", ocl.Description);

        foreach (var machine in new[] { Nothing, PoclOnly })
        {
            var cpu = DeviceSelection.Choose(GpuDevice.Auto, 0, machine);
            Assert.Equal((GpuDevice.Cpu, 0, 1), (cpu.Kind, cpu.Index, cpu.Count));
            Assert.Equal("auto: CPU accelerator [no CUDA device, no OpenCL device ILGPU can use]", cpu.Description);
        }
    }

    [Fact]
    public void AnExplicitKindIsTakenAsAsked()
    {
        Assert.Equal("OpenCL 0/1 gfx1100 (AMD APP, gpu)", DeviceSelection.Choose(GpuDevice.OpenCL, 0, TwoCudaOneOpenCL).Description);
        Assert.Equal("CPU accelerator", DeviceSelection.Choose(GpuDevice.Cpu, 0, TwoCudaOneOpenCL).Description);
        Assert.Equal("CUDA 0/2 H100 a", DeviceSelection.Choose(GpuDevice.Cuda, 0, TwoCudaOneOpenCL).Description);
    }

    [Fact]
    public void TheIndexPicksAmongTheDevicesOfTheChosenKind()
    {
        Assert.Equal("auto: CUDA 1/2 H100 b", DeviceSelection.Choose(GpuDevice.Auto, 1, TwoCudaOneOpenCL).Description);
        Assert.Equal("auto: OpenCL 1/2 Arc A770 (Intel, gpu) [no CUDA device]", DeviceSelection.Choose(GpuDevice.Auto, 1, OpenCLOnly).Description);
        Assert.Equal("CUDA 1/2 H100 b", DeviceSelection.Choose(GpuDevice.Cuda, 1, TwoCudaOneOpenCL).Description);
    }

    [Theory]
    [InlineData(GpuDevice.Cuda, 2, "--device 2 is out of range: 2 CUDA devices here (--device 0 to 1)")]
    [InlineData(GpuDevice.Auto, 2, "--device 2 is out of range: 2 CUDA devices here (--device 0 to 1); --backend gpu picked CUDA")]
    [InlineData(GpuDevice.OpenCL, 1, "--device 1 is out of range: 1 OpenCL device ILGPU can use here (--device 0)")]
    [InlineData(GpuDevice.Cpu, 1, "--device 1 is out of range: 1 CPU accelerator here (--device 0)")]
    [InlineData(GpuDevice.Cuda, -1, "--device must be >= 0 (got -1)")]
    public void AnIndexPastTheDevicesNamesHowManyThereAre(GpuDevice kind, int index, string message) =>
        Assert.Equal(message, Assert.Throws<IxcException>(() => DeviceSelection.Choose(kind, index, TwoCudaOneOpenCL)).Message);

    [Fact]
    public void AutoFallingToTheCpuAcceleratorSaysSoInTheIndexError() =>
        Assert.Equal("--device 1 is out of range: 1 CPU accelerator here (--device 0); --backend gpu picked the CPU accelerator",
            Assert.Throws<IxcException>(() => DeviceSelection.Choose(GpuDevice.Auto, 1, Nothing)).Message);

    [Fact]
    public void AKindWithoutDevicesIsAnErrorSayingWhy()
    {
        Assert.StartsWith("no CUDA device: ILGPU finds no NVIDIA GPU or driver",
            Assert.Throws<IxcException>(() => DeviceSelection.Choose(GpuDevice.Cuda, 0, OpenCLOnly)).Message);
        string refused = Assert.Throws<IxcException>(() => DeviceSelection.Choose(GpuDevice.OpenCL, 0, PoclOnly)).Message;
        Assert.StartsWith("no OpenCL device ILGPU can use: pthread-x (Portable Computing Language, cpu): OpenCL 3.0 (OpenCL C 1.2) without the generic address space; use --backend gpu", refused);
        string missing = Assert.Throws<IxcException>(() => DeviceSelection.Choose(GpuDevice.OpenCL, 0, Nothing with { OpenCLMissing = "no OpenCL ICD loader" })).Message;
        Assert.StartsWith("no OpenCL device ILGPU can use: no OpenCL ICD loader; use --backend gpu", missing);
        Assert.DoesNotContain('\n', refused + missing);
    }

    [Fact]
    public void AMissingOpenCLRuntimeNamesWhatIsMissing()
    {
        if (!OperatingSystem.IsLinux()) return; // the loader's names are Linux's
        Assert.Contains("lists no device", DeviceSelection.OpenCLRuntimeMissing(_ => true));
        Assert.Contains("only libOpenCL.so.1 (Debian: apt-get install ocl-icd-opencl-dev)", DeviceSelection.OpenCLRuntimeMissing(lib => lib == "libOpenCL.so.1"));
        Assert.StartsWith("no OpenCL ICD loader", DeviceSelection.OpenCLRuntimeMissing(_ => false));
    }

    [Fact]
    public void TheGpuBackendOnThisMachineSaysWhichDeviceAutoPicked()
    {
        var here = DeviceSelection.Inventory;
        var expected = DeviceSelection.Choose(GpuDevice.Auto, 0, here);
        using var gpu = new GpuOps(GpuDevice.Auto);
        Assert.Equal(expected, gpu.Device);
        Assert.Equal(expected.Kind == GpuDevice.Cuda, gpu.IsCuda);
        using var backend = BackendFactory.Create("gpu", threads: 1);
        Assert.Equal($"gpu (ilgpu {expected.Description} + cpu)", backend.Name);
    }

    [Fact]
    public void OpenCLWithoutAUsableDeviceIsAClearErrorHere()
    {
        if (DeviceSelection.Unavailable(GpuDevice.OpenCL) is not { } why) return; // a usable device: the OpenCL rows and suite run instead
        var e = Assert.Throws<IxcException>(() => BackendFactory.Create("gpu-ocl"));
        Assert.Equal(why + "; use --backend gpu (CUDA, else OpenCL, else ILGPU's CPU accelerator), gpu-sim or cpu", e.Message);
        Assert.StartsWith("no OpenCL device ILGPU can use: ", e.Message);
        // pocl (Debian 12: 3.1) lists its CPU device, which ILGPU refuses for the missing generic address space
        foreach (var pocl in DeviceSelection.Inventory.OpenCLRefused.Where(d => d.Contains("Portable Computing Language", StringComparison.Ordinal)))
            Assert.Contains("without the generic address space", pocl);
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("reference")]
    public void TheHostBackendsHaveNoDevice(string backend) =>
        Assert.Equal($"--device 1 picks a GPU device; the {backend} backend runs on the host (--device applies to gpu, gpu-sim and gpu-ocl)",
            Assert.Throws<IxcException>(() => BackendFactory.Create(backend, device: 1)).Message);

    [Fact]
    public void GpuSimHasOneDevice() =>
        Assert.Equal("--device 1 is out of range: 1 CPU accelerator here (--device 0)",
            Assert.Throws<IxcException>(() => BackendFactory.Create("gpu-sim", device: 1)).Message);
}
