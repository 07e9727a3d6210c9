using ILGPU;
using ILGPU.Runtime;

namespace IXC25.Backends.Gpu.Kernels;

/// <summary>
/// Greedy decoding's choice on the device, so a decode step sends the host one index instead of the logits row:
/// the first index of the largest value, exactly as the host's left-to-right scan (ScoreMath.ArgMax) picks it,
/// NaN included: the scan starts at index 0 and moves only to a strictly larger value, so a NaN at 0 is kept, a NaN
/// elsewhere is never taken and blocks nothing. One group: each thread scans a strided slice, then a tree keeps
/// (larger value, then smaller index) among the valid candidates.
/// </summary>
public static class ArgMaxKernels
{
    /// <summary>One group of g threads with an int and a float per thread of shared memory.</summary>
    public static KernelConfig Config(int g) => new(new Index1D(1), new Index1D(g), SharedMemoryConfig.RequestDynamic<float>(2 * g));

    /// <summary>result[0] = the first index of the largest of x[0 .. n).</summary>
    public static void Reduce(ArrayView<float> x, ArrayView<int> result, int n)
    {
        int g = Group.DimX, tid = Group.IdxX;
        var shared = SharedMemory.GetDynamic<float>(); // values [0, g), indices (as int bits) [g, 2g)
        float bestV = 0f;
        int bestI = int.MaxValue; // none yet
        for (int i = tid; i < n; i += g)
        {
            float v = x[i];
            if (float.IsNaN(v)) continue;
            if (bestI == int.MaxValue || v > bestV) { bestV = v; bestI = i; }
        }
        shared[tid] = bestV;
        shared[g + tid] = Interop.IntAsFloat((uint)bestI);
        Group.Barrier();
        for (int s = g / 2; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                float va = shared[tid], vb = shared[tid + s];
                int ia = (int)Interop.FloatAsInt(shared[g + tid]), ib = (int)Interop.FloatAsInt(shared[g + tid + s]);
                if (ib != int.MaxValue && (ia == int.MaxValue || vb > va || (vb == va && ib < ia)))
                {
                    shared[tid] = vb;
                    shared[g + tid] = shared[g + tid + s];
                }
            }
            Group.Barrier();
        }
        if (tid == 0)
        {
            int best = (int)Interop.FloatAsInt(shared[g]);
            result[0] = float.IsNaN(x[0]) || best == int.MaxValue ? 0 : best;
        }
    }
}
