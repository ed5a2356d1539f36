using NoPrior.Kkt;
using NoPrior.Lemmas;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ExactInstanceTests
{
    [Theory]
    [InlineData(5, 5, 1, false)]
    [InlineData(6, 9, 2, true)]
    [InlineData(4, 4, 3, true)]
    public void Obtuse_one_neuron_per_point_instance_is_exactly_kkt(int n, int d, int seed, bool rotate)
    {
        var (net, set) = LemmaTestData.Obtuse(n, d, seed, tau: 0.05, rotate: rotate);
        using (net) using (set)
        {
            var r = KktConditions.Diagnose(net, set);
            Assert.True(r.RelativeStationarity < 1e-14, $"relative stationarity {r.RelativeStationarity}");
            Assert.All(r.Margins, m => Assert.Equal(1.0, m, 13));
            using var h = net.PreActivations(set.X)[0];
            using var offDiagonal = torch.eye(n, dtype: ScalarType.Bool).logical_not();
            Assert.True(h.masked_select(offDiagonal).max().ToDouble() < 0, "every neuron must be strictly off on the other points");
        }
    }

    [Fact]
    public void Directions_complement_is_orthonormal_and_orthogonal_to_the_data()
    {
        var (net, set) = LemmaTestData.Obtuse(5, 9, 4);          // τ = 0: rank n − 1 = 4
        using (net) using (set)
        {
            Assert.Equal(4, Directions.Rank(set.X));
            using var C = Directions.OrthogonalComplement(set.X);
            Assert.Equal(new long[] { 5, 9 }, C.shape);
            using var gram = C.matmul(C.t());
            Assert.True(TestData.MaxAbs(gram - torch.eye(5, dtype: ScalarType.Float64)) < 1e-13);
            Assert.True(TestData.MaxAbs(set.X.matmul(C.t())) < 1e-13);
            using var sd = Directions.SmallestSingular(set.X, 6);
            Assert.Equal(6, sd.Values.Length);
            Assert.True(sd.Values.Take(5).All(s => s < 1e-13) && sd.Values[5] > 0.1);
            using var Xv = set.X.matmul(sd.Directions.t()).norm(0, false);
            for (int k = 0; k < 6; k++) Assert.Equal(sd.Values[k], Xv[k].ToDouble(), 12);
            using var full = TestData.Randn(1, 12, 9);
            Assert.Equal(0, Directions.OrthogonalComplement(full).shape[0]);
        }
    }
}
