using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Model.Inference;
using IXC25.Model.Loading;
using IXC25.Runtime;

namespace IXC25.Model.Tests;

/// <summary>
/// Issue 12: a load on an accelerator backend is refused before any weight is uploaded when the weights as stored,
/// the f32 KV cache for the context and the work exceed the device's memory, with both numbers.
/// </summary>
public sealed class DeviceMemoryCheckTests
{
    /// <summary>The CPU backend posing as a device of <paramref name="bytes"/> bytes (counts what it was given).</summary>
    private sealed class SmallDevice(long bytes) : DelegatingGraphOps(new CpuGraphOps(1)), IDeviceBackend
    {
        public string DeviceName => "test device";
        public long DeviceMemoryBytes => bytes;
        public long WeightBytesOnDevice => Uploaded.Sum(t => t.Numel);
        public List<IXC25.Runtime.Tensors.NamedTensor> Uploaded { get; } = [];
        public int ArgMax(Act row)
        {
            var x = row.ToArray<float>();
            int best = 0;
            for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
            return best;
        }
        public void UploadWeights(IEnumerable<IXC25.Runtime.Tensors.NamedTensor> weights) => Uploaded.AddRange(weights);
        public bool Disposed { get; private set; }
        public override void Dispose()
        {
            Disposed = true;
            base.Dispose();
        }
    }

    [Fact]
    public void ALoadThatDoesNotFitTheDeviceIsRefusedWithBothNumbersAndTheBackendIsDisposed()
    {
        SmallDevice? made = null;
        var options = new ModelOptions(Threads: 1, MaxContext: 4096);
        var e = Assert.Throws<IxcException>(() => Ixc25Model.Open(TinyCheckpoint.Safetensors, o => made = new SmallDevice(1 << 20), options));
        Assert.Contains("of device memory", e.Message);
        Assert.Contains("but test device has 1.0 MiB", e.Message);
        Assert.Contains("for 4,096 tokens in f32", e.Message);
        Assert.Contains("nothing was uploaded", e.Message);
        Assert.True(made!.Disposed);
        Assert.Empty(made.Uploaded); // refused before any upload
        // the estimate the message names is the one info prints
        using var dir = ModelDirectory.Open(TinyCheckpoint.Safetensors);
        var estimate = DeviceMemoryCheck.Estimate(dir, options);
        Assert.Contains(MemoryEstimate.Size(estimate.Total), e.Message);
        Assert.Contains("does not fit", DeviceMemoryCheck.Verdict(estimate, "test device", 1 << 20));
    }

    [Fact]
    public void ALoadThatFitsOrIsForcedOpensAndUploadsEveryWeightOnce()
    {
        SmallDevice? made = null;
        using (var fits = Ixc25Model.Open(TinyCheckpoint.Safetensors, _ => made = new SmallDevice(1L << 40), new ModelOptions(Threads: 1)))
        {
            Assert.Equal("cpu", fits.BackendName.Split(' ')[0]);
            // every tensor the model binds, once: the linears, norms, embeddings, LoRA factors of the checkpoint
            Assert.Equal(made!.Uploaded.Count, made.Uploaded.Distinct(ReferenceEqualityComparer.Instance).Count());
            foreach (var w in fits.Weights.LinearWeights()) Assert.Contains(w, made.Uploaded);
            Assert.Contains(fits.Weights.Llm.Norm.Weight, made.Uploaded);
            Assert.Contains(fits.Weights.Vision.PositionEmbedding, made.Uploaded);
            Assert.Contains(fits.Weights.Llm.Layers[0].Wqkv.PloraA, made.Uploaded);
            using var dir = ModelDirectory.Open(TinyCheckpoint.Safetensors);
            Assert.Equal(dir.Source.Names.Count, made.Uploaded.Count); // the tiny checkpoint holds only bound tensors
        }
        using (Ixc25Model.Open(TinyCheckpoint.Safetensors, _ => new SmallDevice(1 << 20), new ModelOptions(Threads: 1, MaxContext: 4096, IgnoreMemoryCheck: true))) { }
    }
}
