using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Protocol;
using IXC25.Runtime.Spec;

namespace IXC25.Conformance.Surfaces;

/// <summary>
/// One surface of the protocol as the kit drives it: how its cases are generated (an FsCheck generator) and
/// shrunk, how a case becomes a request (input files written into the work folder), and the tolerance of
/// each output tensor. Comparison itself is the kit's (<see cref="Kit.ReplyComparer"/>), driven by spec/port.json.
/// </summary>
public interface ISurface
{
    /// <summary>The surface's name in spec/port.json.</summary>
    string Name { get; }

    /// <summary>The surface's entry of spec/port.json.</summary>
    SurfaceSchema Schema { get; }

    /// <summary>Cases run when the user gives no --cases.</summary>
    int DefaultCases { get; }

    /// <summary>A case from the seed of case number <paramref name="index"/> (sizes grow with the index, as FsCheck's do).</summary>
    object Generate(ulong seed, int index, int count);

    /// <summary>Smaller cases than <paramref name="c"/>, most promising first.</summary>
    IEnumerable<object> Shrink(object c);

    /// <summary>The measure shrinking reduces (characters, pixels, table rows, tensor elements).</summary>
    long Size(object c);

    /// <summary>One line naming the case.</summary>
    string Describe(object c);

    JsonNode ToJson(object c);
    object FromJson(JsonNode json);

    /// <summary>Writes the case's input files into <paramref name="work"/> and returns the request (without "out").</summary>
    PortRequest Prepare(object c, string work);

    /// <summary>The tolerance class of output tensor <paramref name="tensor"/> of the case.</summary>
    ToleranceInfo Tolerance(object c, string tensor);

    /// <summary>The position of row <paramref name="row"/> of tensor <paramref name="tensor"/> when the tolerance grows with position (rope), else null.</summary>
    long? RowPosition(object c, string tensor, long row) => null;

    /// <summary>True when a missing output tensor counts as not covered rather than a failure (model: any subset of taps).</summary>
    bool OutputsOptional => false;

    /// <summary>
    /// The kind of a failing case whose port and reference both answered ok, when the surface can tell kinds
    /// apart better than the problem text; null: the kit's default (<see cref="Kit.CaseVerdict.Kind"/>). Each
    /// kind is shrunk once per run, and a case of a surface kind shrinks only to cases of the same kind (so a
    /// second bug met while shrinking does not swallow the first).
    /// </summary>
    string? FailureKind(object c, PortReply port, PortReply reference) => null;
}

/// <summary>The typed base of a surface: cases are records of <typeparamref name="TCase"/>.</summary>
public abstract class Surface<TCase> : ISurface where TCase : notnull
{
    public abstract string Name { get; }
    public SurfaceSchema Schema => PortSchema.Default.Surface(Name);
    public abstract int DefaultCases { get; }

    /// <summary>The FsCheck generator of cases; FsCheck's size parameter (0..100) scales them.</summary>
    public abstract Gen<TCase> Generator { get; }

    public abstract IEnumerable<TCase> Shrink(TCase c);
    public abstract long Size(TCase c);
    public abstract string Describe(TCase c);
    public abstract JsonNode ToJson(TCase c);
    public abstract TCase FromJson(JsonNode json);
    public abstract PortRequest Prepare(TCase c, string work);

    /// <summary>Default: the class spec/port.json names for the tensor (patterns with {..} match any text).</summary>
    public virtual ToleranceInfo Tolerance(TCase c, string tensor) => Kit.ToleranceLookup.ForSchemaTensor(Schema, tensor);
    public virtual long? RowPosition(TCase c, string tensor, long row) => null;
    public virtual bool OutputsOptional => false;
    public virtual string? FailureKind(TCase c, PortReply port, PortReply reference) => null;

    /// <summary>The FsCheck arbitrary (generator and shrinker) for a .NET port's own property tests.</summary>
    public Arbitrary<TCase> Arbitrary => Arb.From(Generator, Shrink);

    object ISurface.Generate(ulong seed, int index, int count)
    {
        // FsCheck's own schedule of sizes: small cases first, growing to 100 by the last case
        int size = count <= 1 ? 50 : (int)Math.Round(100.0 * index / (count - 1));
        var rnd = new FsCheck.Rnd(unchecked(seed * 0x9E3779B97F4A7C15UL + (ulong)index * 0xBF58476D1CE4E5B9UL + 1));
        return Gen.Sample(Generator, 1, rnd, size)[0]; // (generator, numberOfSamples, seed, size)
    }

    IEnumerable<object> ISurface.Shrink(object c) => Shrink((TCase)c).Cast<object>();
    long ISurface.Size(object c) => Size((TCase)c);
    string ISurface.Describe(object c) => Describe((TCase)c);
    JsonNode ISurface.ToJson(object c) => ToJson((TCase)c);
    object ISurface.FromJson(JsonNode json) => FromJson(json);
    PortRequest ISurface.Prepare(object c, string work) => Prepare((TCase)c, work);
    ToleranceInfo ISurface.Tolerance(object c, string tensor) => Tolerance((TCase)c, tensor);
    long? ISurface.RowPosition(object c, string tensor, long row) => RowPosition((TCase)c, tensor, row);
    string? ISurface.FailureKind(object c, PortReply port, PortReply reference) => FailureKind((TCase)c, port, reference);
}
