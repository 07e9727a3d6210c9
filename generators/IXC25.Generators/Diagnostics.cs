using Microsoft.CodeAnalysis;

namespace IXC25.Generators;

/// <summary>
/// Every diagnostic the spec generator reports. Ids are stable: never renumber, only append.
/// Each one is located in the spec file at the offending value and has a test in
/// tests/IXC25.Generators.Tests/DiagnosticTests.cs.
/// </summary>
internal static class Diagnostics
{
    private const string Category = "IXC25.Spec";

    public static readonly DiagnosticDescriptor InvalidJson = Error("IXC0001", "Spec file is not valid JSON", "{0}");
    public static readonly DiagnosticDescriptor MissingField = Error("IXC0002", "Required spec field is missing", "{0}");
    public static readonly DiagnosticDescriptor WrongType = Error("IXC0003", "Spec field has the wrong type or value", "{0}");
    public static readonly DiagnosticDescriptor UnknownDType = Error("IXC0004", "Unknown dtype", "{0}");
    public static readonly DiagnosticDescriptor UnknownSymbol = Error("IXC0005", "Unknown shape symbol", "{0}");
    public static readonly DiagnosticDescriptor DuplicateName = Error("IXC0006", "Duplicate name", "{0}");
    public static readonly DiagnosticDescriptor UnknownOp = Error("IXC0007", "Unknown op or block", "{0}");
    public static readonly DiagnosticDescriptor UnknownTolerance = Error("IXC0008", "Unknown tolerance class", "{0}");
    public static readonly DiagnosticDescriptor BadExpression = Error("IXC0009", "Invalid expression", "{0}");
    public static readonly DiagnosticDescriptor UnknownReference = Error("IXC0010", "Unknown tensor or parameter reference", "{0}");
    public static readonly DiagnosticDescriptor BadBinding = Error("IXC0011", "Op inputs or outputs bound incorrectly", "{0}");
    public static readonly DiagnosticDescriptor BadAttribute = Error("IXC0012", "Invalid op attribute", "{0}");
    public static readonly DiagnosticDescriptor UndeclaredTap = Error("IXC0013", "Tap not declared", "{0}");
    public static readonly DiagnosticDescriptor BadClass = Error("IXC0014", "Unknown class or bad class arguments", "{0}");
    public static readonly DiagnosticDescriptor UnsupportedSchema = Error("IXC0015", "Unsupported spec schema version", "{0}");
    public static readonly DiagnosticDescriptor UnknownIndex = Error("IXC0016", "Unknown index variable", "{0}");
    public static readonly DiagnosticDescriptor UnknownGroup = Error("IXC0017", "Unknown optional group", "{0}");
    public static readonly DiagnosticDescriptor BadKernel = Error("IXC0018", "Invalid kernel description", "{0}");
    public static readonly DiagnosticDescriptor UnknownConfigKey = Error("IXC0019", "Unknown config key", "{0}");
    public static readonly DiagnosticDescriptor MissingSpecFile = Error("IXC0020", "Spec file missing", "{0}");
    public static readonly DiagnosticDescriptor BadLowering = Error("IXC0021", "Invalid op lowering", "{0}");
    public static readonly DiagnosticDescriptor BadFold = Error("IXC0022", "Invalid folded leading dimensions (\"...\")", "{0}");

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "IXC0001" => InvalidJson,
        "IXC0002" => MissingField,
        "IXC0003" => WrongType,
        "IXC0004" => UnknownDType,
        "IXC0005" => UnknownSymbol,
        "IXC0006" => DuplicateName,
        "IXC0007" => UnknownOp,
        "IXC0008" => UnknownTolerance,
        "IXC0009" => BadExpression,
        "IXC0010" => UnknownReference,
        "IXC0011" => BadBinding,
        "IXC0012" => BadAttribute,
        "IXC0013" => UndeclaredTap,
        "IXC0014" => BadClass,
        "IXC0015" => UnsupportedSchema,
        "IXC0016" => UnknownIndex,
        "IXC0017" => UnknownGroup,
        "IXC0018" => BadKernel,
        "IXC0019" => UnknownConfigKey,
        "IXC0021" => BadLowering,
        "IXC0022" => BadFold,
        _ => MissingSpecFile,
    };

    private static DiagnosticDescriptor Error(string id, string title, string format) =>
        new(id, title, format, Category, DiagnosticSeverity.Error, isEnabledByDefault: true,
            helpLinkUri: "spec/README.md#diagnostics");
}
