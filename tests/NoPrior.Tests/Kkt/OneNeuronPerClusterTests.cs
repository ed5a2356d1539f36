using NoPrior.Kkt;
using NoPrior.Lemmas;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class OneNeuronPerClusterTests
{
    [Theory]
    [InlineData(3, 2, 5, 0.4, 0)]      // the plane: three directions 120° apart
    [InlineData(4, 784, 6, 1.0, 1)]    // MNIST-sized input
    [InlineData(5, 12, 3, 0.5, 2)]
    public void Is_exactly_kkt_with_unit_margins_and_one_pattern_per_cluster(int k, int d, int per, double spread, int seed)
    {
        using var M = ExactInstances.ObtuseDirections(k, d, seed);
        using var gram = M.matmul(M.t());
        using var expected = torch.eye(k, dtype: ScalarType.Float64) * (1 + 1.0 / (k - 1)) - 1.0 / (k - 1);
        Assert.True(TestData.MaxAbs(gram - expected) < 1e-12, "directions must be unit and pairwise at cos = −1/(k−1)");
        var labels = Enumerable.Range(0, k).Select(j => j % 2 == 0 ? 1.0 : -1.0).ToArray();
        var (net, set) = ExactInstances.OneNeuronPerCluster(M, labels, per, spread, seed);
        using (net) using (set)
        {
            var r = KktConditions.Diagnose(net, set);
            Assert.True(r.RelativeStationarity < 1e-13, $"stationarity {r.RelativeStationarity}");
            Assert.True(r.Margins.All(m => Math.Abs(m - 1) < 1e-13));
            Assert.True(r.Lambda.All(l => l >= 0.5 && l <= 1.5));
            for (int j = 0; j < k; j++)
                for (int i = 1; i < per; i++)
                    Assert.True(MergeLemma.Check(net, set, j * per, j * per + i).Hold);
            Assert.False(MergeLemma.Check(net, set, 0, per).SamePattern);
        }
    }

    [Fact]
    public void Refuses_a_spread_that_activates_another_neuron()
    {
        using var M = ExactInstances.ObtuseDirections(3, 2, 0);
        var e = Assert.Throws<ArgumentException>(() => ExactInstances.OneNeuronPerCluster(M, new[] { 1.0, -1.0, 1.0 }, 6, 5.0, 0));
        Assert.Contains("smaller spread", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactInstances.ObtuseDirections(4, 2, 0));
    }
}
