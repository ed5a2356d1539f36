using NoPrior.Lemmas;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ApproximateKktTests
{
    [Fact]
    public void Split_delta_formula_matches_the_measured_delta_on_an_exact_instance()
    {
        var (net, set) = LemmaTestData.Obtuse(5, 7, seed: 11, tau: 0.05);
        using (net) using (set)
        {
            for (int i = 0; i < set.Count; i++)
            {
                using var raw = TestData.Randn(40 + i, 7);
                var iv = LinearRegion.PatternPreservingInterval(net, set.X[i], raw);
                double a = 0.5 * Math.Min(iv.Forward, 10), b = 0.25 * Math.Min(iv.Backward, 10);
                using var book = ApproximateKkt.Split(net, set, i, raw, a, b);
                double slope = Directions.MarginSlope(net, set.X[i], raw), lam = set.Lambda![i].ToDouble();
                double expected = lam * a * b / (a + b) * Math.Abs(slope);
                Assert.True(expected > 1e-3, "the test direction must change the margin");
                Assert.Equal(0.0, book.Before.Delta, 14);
                Assert.True(Math.Abs(book.After.Delta - expected) < 1e-10 * Math.Max(1, expected), $"point {i}: δ' {book.After.Delta} vs λαβ/(α+β)|u·ν| = {expected}");
                Assert.True(Math.Abs(book.PredictedDeltaBound - expected) < 1e-12 * Math.Max(1, expected));
                Assert.True(book.EpsilonChange / net.Norm() < 1e-10);
                Assert.True(Math.Abs(book.After.PrimalViolation - book.PredictedPrimalViolation) < 1e-10 && book.After.PrimalViolation > 1e-3);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Bookkeeping_bounds_hold_on_approximate_kkt_sets(int seed)
    {
        // A random weighted set with margins spread in [1, 2]: δ > 0, ε large.
        using var net = HomogeneousMlp.Create(new[] { 6, 10, 1 }, seed);
        using var base0 = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 3, seed: 90 + seed);
        using var scale = (1 + torch.rand(base0.Count, dtype: ScalarType.Float64, generator: new Generator((ulong)seed)));
        using var set = new LabelledSet(base0.X * scale.unsqueeze(1), base0.Y, base0.Lambda);
        var (i, j) = LemmaTestData.SamePatternPair(net, set)!.Value;
        using (var merge = ApproximateKkt.Merge(net, set, i, j))
        {
            Assert.True(merge.Before.Delta > 0.1);
            Assert.True(merge.EpsilonChange / net.Norm() < 1e-10);
            Assert.True(merge.After.Delta <= merge.PredictedDeltaBound + 1e-12);
            Assert.Equal(merge.PredictedDelta, merge.After.Delta, 10);
            Assert.Equal(0.0, merge.After.PrimalViolation);
        }
        using var raw = TestData.Randn(5 + seed, 6);
        var iv = LinearRegion.PatternPreservingInterval(net, set.X[i], raw);
        using (var split = ApproximateKkt.Split(net, set, i, raw, 0.5 * iv.Forward, 0.5 * iv.Backward))
        {
            Assert.True(split.EpsilonChange / net.Norm() < 1e-10);
            Assert.True(split.After.Delta <= split.PredictedDeltaBound + 1e-12);
            Assert.Equal(split.PredictedDelta, split.After.Delta, 10);
            Assert.Equal(split.PredictedPrimalViolation, split.After.PrimalViolation, 10);
        }
    }

    [Fact]
    public void Split_in_region_takes_fractions_of_the_pattern_interval_and_checks_only_inside()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 4, 1 }, 3);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 2, perCluster: 3, seed: 7);
        using var nu = Directions.Gaussian(5, 11);
        var iv = LinearRegion.PatternPreservingInterval(net, set.X[0], nu);
        using var inside = ApproximateKkt.SplitInRegion(net, set, 0, nu);
        using var direct = ApproximateKkt.Split(net, set, 0, nu, 0.5 * Math.Min(iv.Forward, 10), 0.25 * Math.Min(iv.Backward, 10));
        Assert.Equal(direct.Transform, inside.Transform);
        Assert.Equal(direct.After.Delta, inside.After.Delta);
        Assert.True(Math.Abs(inside.After.Delta - inside.PredictedDelta) <= 1e-10);
        using var outside = ApproximateKkt.SplitInRegion(net, set, 0, nu, alphaFraction: 3, betaFraction: 1.5);   // no pattern check
        Assert.Equal(set.Count + 1, outside.Result.Count);
        Assert.Throws<ArgumentException>(() => ApproximateKkt.SplitInRegion(net, set, 0, nu, alphaFraction: double.NaN));
    }
}
