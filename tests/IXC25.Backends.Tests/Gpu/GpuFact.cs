using IXC25.Backends.Gpu;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace IXC25.Backends.Tests.Gpu;

/// <summary>Marks a GPU suite subclass that needs a device of <see cref="Kind"/>: its <see cref="GpuFactAttribute"/>
/// tests are reported as skipped, with the reason <see cref="DeviceSelection.Unavailable"/> gives, on machines
/// where ILGPU finds none.</summary>
[AttributeUsage(AttributeTargets.Class)]
public abstract class RequiresDeviceAttribute(GpuDevice kind) : Attribute
{
    public GpuDevice Kind { get; } = kind;
}

/// <summary>A CUDA device (run where there is one: dotnet test --filter "FullyQualifiedName~CudaGpuTests").</summary>
public sealed class RequiresCudaAttribute() : RequiresDeviceAttribute(GpuDevice.Cuda);

/// <summary>An OpenCL device ILGPU accepts (run where there is one: dotnet test --filter "FullyQualifiedName~OpenCLGpuTests").</summary>
public sealed class RequiresOpenCLAttribute() : RequiresDeviceAttribute(GpuDevice.OpenCL);

/// <summary>A fact of the abstract GPU suite: skipped with a reason when the concrete class requires a device kind this machine lacks.</summary>
[XunitTestCaseDiscoverer("IXC25.Backends.Tests.Gpu.GpuFactDiscoverer", "IXC25.Backends.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class GpuFactAttribute : FactAttribute;

public sealed class GpuFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var options = discoveryOptions.MethodDisplayOptionsOrDefault();
        bool needsDevice = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresDeviceAttribute)).Any();
        yield return needsDevice
            ? new DeviceTestCase(diagnosticMessageSink, display, options, testMethod)
            : new XunitTestCase(diagnosticMessageSink, display, options, testMethod);
    }
}

/// <summary>A test case that is skipped, with the reason, when ILGPU finds no device of the kind its class requires
/// (decided where the test runs).</summary>
public sealed class DeviceTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public DeviceTestCase() { }

    public DeviceTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method)
        : base(sink, display, options, method) { }

    protected override string? GetSkipReason(IAttributeInfo factAttribute)
    {
        var kind = TestMethod.TestClass.Class.ToRuntimeType().GetCustomAttributes(typeof(RequiresDeviceAttribute), inherit: true)
            .Cast<RequiresDeviceAttribute>().Single().Kind;
        return DeviceSelection.Unavailable(kind) is { } why
            ? $"{why}; run on a machine with one: dotnet test --filter \"FullyQualifiedName~{TestMethod.TestClass.Class.ToRuntimeType().Name}\""
            : base.GetSkipReason(factAttribute);
    }
}
