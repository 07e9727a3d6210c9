using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using IXC25.Runtime;

namespace IXC25.GpuCheck.SelfTest;

/// <summary>
/// <c>ptx [--arch sm_90]</c>: every ILGPU kernel of the GPU backend's assembly compiled to PTX by ILGPU's own CUDA
/// backend (PTXBackend), with no device or driver: ILGPU's IL frontend, its IR passes, the intrinsics of ILGPU.Algorithms
/// and the PTX code generator, which the CPU accelerator (gpu-sim) never runs. It proves on a machine without a GPU that a
/// trimmed publish kept what the CUDA path reads by reflection. A kernel is a static void method of that assembly taking
/// an ArrayView; one whose first parameter is an index (Index1D/2D/3D) is implicitly grouped, any other explicitly
/// grouped (launched with a KernelConfig). One line per kernel; exit 1 when one fails or none is found.
/// </summary>
internal static class PtxCompileCheck
{
    public const string Help =
        "ptx [--arch sm_90]\n" +
        "    every ILGPU kernel of the GPU backend compiled to PTX by ILGPU's CUDA backend without a device (the CUDA\n" +
        "    compile path a trimmed publish must keep); one line per kernel; exit 1 on any failure";

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "IXC25.Backends.Gpu is a TrimmerRootAssembly (IXC25.GpuCheck.csproj): all its types are kept")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "IXC25.Backends.Gpu is a TrimmerRootAssembly (IXC25.GpuCheck.csproj): all its methods are kept")]
    public static int Run(CheckArgs a)
    {
        string arch = a.Text("arch", "sm_90");
        a.Done("ptx");
        // sm_XY: compute capability X.Y (sm_90: 9.0, sm_120: 12.0)
        if (!arch.StartsWith("sm_", StringComparison.Ordinal) || !int.TryParse(arch[3..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int cc) || cc < 50 || cc > 129)
            throw new IxcException($"--arch {arch}: expected sm_XY for compute capability X.Y from sm_50 to sm_129 (e.g. sm_80, sm_90)");
        var architecture = new CudaArchitecture(cc / 10, cc % 10);
        var assembly = typeof(IXC25.Backends.Gpu.GpuOps).Assembly;
        var kernels = assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType == typeof(void) && !m.IsGenericMethodDefinition && m.GetParameters().Any(p => IsView(p.ParameterType)))
            .OrderBy(m => m.DeclaringType!.FullName, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
            .ToList();
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        using var backend = new PTXBackend(context, architecture, CudaInstructionSet.ISA_80, nvvmAPI: null!);
        int failed = 0;
        foreach (var m in kernels)
        {
            var clock = Stopwatch.StartNew();
            string name = $"ptx {m.DeclaringType!.Name}.{m.Name}";
            try
            {
                var first = m.GetParameters()[0].ParameterType;
                var entry = first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D)
                    ? EntryPointDescription.FromImplicitlyGroupedKernel(m)
                    : EntryPointDescription.FromExplicitlyGroupedKernel(m);
                var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
                bool ok = compiled.PTXAssembly.Contains(".entry", StringComparison.Ordinal);
                if (!ok) failed++;
                Console.WriteLine(new CheckResult(name, ok, ok ? $"{compiled.PTXAssembly.Length} characters of PTX for {architecture}" : "no .entry in the PTX", clock.Elapsed.TotalSeconds));
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine(new CheckResult(name, false, $"{e.GetType().Name}: {e.Message}", clock.Elapsed.TotalSeconds));
            }
        }
        if (kernels.Count == 0)
        {
            Console.WriteLine($"FAIL  ptx: no kernel (static void method taking an ArrayView) in {assembly.GetName().Name}");
            return 1;
        }
        Console.WriteLine($"ptx for {architecture}: {kernels.Count} kernels, {kernels.Count - failed} compiled, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    private static bool IsView(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ArrayView<>);
}
