using IXC25.Backends.Gpu;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace IXC25.Backends.Tests.Gpu;

/// <summary>Marks a GPU suite subclass that needs a CUDA device: its <see cref="GpuFactAttribute"/> tests are
/// reported as skipped (with the reason) on machines where ILGPU finds none.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresCudaAttribute : Attribute;

/// <summary>A fact of the abstract GPU suite: skipped with a reason when the concrete class requires CUDA and there is none.</summary>
[XunitTestCaseDiscoverer("IXC25.Backends.Tests.Gpu.GpuFactDiscoverer", "IXC25.Backends.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class GpuFactAttribute : FactAttribute;

public sealed class GpuFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var options = discoveryOptions.MethodDisplayOptionsOrDefault();
        bool needsCuda = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresCudaAttribute)).Any();
        yield return needsCuda
            ? new CudaTestCase(diagnosticMessageSink, display, options, testMethod)
            : new XunitTestCase(diagnosticMessageSink, display, options, testMethod);
    }
}

/// <summary>A test case that is skipped, with the reason, when ILGPU finds no CUDA device (decided where the test runs).</summary>
public sealed class CudaTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public CudaTestCase() { }

    public CudaTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method)
        : base(sink, display, options, method) { }

    protected override string? GetSkipReason(IAttributeInfo factAttribute) =>
        GpuOps.CudaAvailable ? base.GetSkipReason(factAttribute)
            : "no CUDA device: ILGPU finds no NVIDIA GPU or driver here; run on a GPU machine with dotnet test --filter \"FullyQualifiedName~CudaGpuTests\"";
}
