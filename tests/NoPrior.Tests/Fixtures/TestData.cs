using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>Small seeded inputs and exact KKT instances shared by the tests.</summary>
static class TestData
{
    public static Tensor Randn(long seed, params long[] shape) => torch.randn(shape, dtype: ScalarType.Float64, generator: new Generator((ulong)seed));

    /// <summary>The basis-vector instance of docs/theory.md §3: x_i = e_i, y_i, network w_j = x_j, v_j = y_j. Exactly KKT with λ_i = 1 and every margin 1.</summary>
    public static (HomogeneousMlp Net, LabelledSet Set) OneNeuronPerPoint(int n, int d, double[] labels) => NoPrior.Kkt.ExactInstances.BasisVectors(n, d, labels);

    /// <summary>True when a and b have the same dtype, shape and bytes: equal values, and zeros of the same sign (the
    /// bitwise comparison of the workspace tests).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var scope = torch.NewDisposeScope();
        using var values = a.eq(b).all();
        return values.ToBoolean() && a.detach().cpu().contiguous().bytes.SequenceEqual(b.detach().cpu().contiguous().bytes);
    }

    public static double MaxAbs(Tensor t) => t.abs().max().ToDouble();

    /// <summary>‖a − b‖ / ‖b‖, the relative difference in norm (the absolute one where b = 0).</summary>
    public static double RelDiff(Tensor a, Tensor b)
    {
        using var diff = (a - b).norm();
        using var nb = b.norm();
        return diff.ToDouble() / Math.Max(nb.ToDouble(), 1e-300);
    }
}
