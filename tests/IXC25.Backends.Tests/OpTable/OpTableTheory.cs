using IXC25.Backends.Gpu;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace IXC25.Backends.Tests.OpTable;

/// <summary>A row of the op table on one backend (the first argument of each row is the op's name). A row the
/// backend cannot run is reported as skipped with the reason, decided where the test runs: no CUDA device, no
/// OpenCL device ILGPU accepts, or an op the backend's lowering table sends to "none".</summary>
[XunitTestCaseDiscoverer("IXC25.Backends.Tests.OpTable.OpTableTheoryDiscoverer", "IXC25.Backends.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class OpTableTheoryAttribute(string backend) : TheoryAttribute
{
    public string Backend { get; } = backend;

    /// <summary>Why <paramref name="backend"/> does not run <paramref name="op"/> here, or null when it does.</summary>
    public static string? SkipReason(string backend, string op)
    {
        if (backend is "gpu" or "gpu-sim" or "gpu-ocl")
        {
            if (backend == "gpu" && !GpuOps.CudaAvailable)
                return "no CUDA device: ILGPU finds no NVIDIA GPU or driver here; run on a GPU machine with dotnet test --filter \"FullyQualifiedName~OpTableTests.Cuda\"";
            if (backend == "gpu-ocl" && DeviceSelection.Unavailable(GpuDevice.OpenCL) is { } why)
                return $"{why}; run on a machine with one: dotnet test --filter \"FullyQualifiedName~OpTableTests.OpenCL\"";
            if (!GpuOps.Supports(op))
                return $"spec/ops.json lowers '{op}' to \"{GpuLowering.Of(op)}\" on the GPU (an oracle-only op the graph never calls): {backend} runs it on its CPU fallback, which the Cpu rows check";
        }
        return null;
    }
}

public sealed class OpTableTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute, object[] dataRow) =>
        [new OpTableTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, dataRow)];
}

/// <summary>One (backend, op) row; its skip reason is computed when it runs, from the attribute's backend and the row's op.</summary>
public sealed class OpTableTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public OpTableTestCase() { }

    public OpTableTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method, object[] row)
        : base(sink, display, options, method, row) { }

    protected override string? GetSkipReason(IAttributeInfo factAttribute) =>
        OpTableTheoryAttribute.SkipReason(factAttribute.GetConstructorArguments().Cast<string>().First(), (string)TestMethodArguments[0])
        ?? base.GetSkipReason(factAttribute);
}
