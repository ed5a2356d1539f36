using NoPrior.Lemmas;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class LowDimensionalDataTests
{
    [Theory]
    [InlineData(5, 1)]
    [InlineData(6, 2)]
    [InlineData(8, 3)]
    public void Measured_split_length_is_at_least_the_derived_bound_and_grows_like_one_over_sigma(int n, int seed)
    {
        var measured = new List<double>();
        var inverse = new List<double>();
        foreach (var tau in new[] { 1e-1, 1e-2, 1e-3 })
        {
            var (net, set) = LemmaTestData.Obtuse(n, n, seed, tau);      // spans R^n, close to an (n−1)-dim subspace
            using (net) using (set)
            using (var f = LowDimensionalData.Measure(net, set))
            {
                for (int i = 0; i < n; i++)
                {
                    Assert.True(f.Measured[i] >= f.Bound[i], $"τ={tau}, point {i}: measured {f.Measured[i]:G6} < bound {f.Bound[i]:G6}");
                    Assert.True(f.Measured[i] >= f.BoundWithResidual[i]);
                    Assert.True(f.Bound[i] > 0);
                }
                measured.Add(f.MeasuredMin); inverse.Add(f.InverseSigma);
            }
        }
        for (int k = 1; k < measured.Count; k++)
        {
            Assert.True(inverse[k] > 5 * inverse[k - 1]);
            Assert.True(measured[k] > 5 * measured[k - 1], $"split length {measured[k - 1]:G3} → {measured[k]:G3} as 1/σ {inverse[k - 1]:G3} → {inverse[k]:G3}");
        }
    }
}
