using NoPrior.Kkt;
using NoPrior.Lemmas;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class SplitLemmaTests
{
    [Theory]
    [InlineData(new[] { 6, 10, 1 }, 1)]
    [InlineData(new[] { 5, 8, 7, 1 }, 2)]
    [InlineData(new[] { 5, 1 }, 3)]
    public void Split_along_a_margin_preserving_direction_preserves_sum_margins_and_patterns(int[] widths, int seed)
    {
        using var net = HomogeneousMlp.Create(widths, seed);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 2, seed: 20 * seed);
        using var before = set.X.clone();
        for (int i = 0; i < set.Count; i++)
        {
            using var raw = TestData.Randn(30 * seed + i, widths[0]);
            using var nu = Directions.MarginPreserving(net, set.X[i], raw);
            Assert.True(Math.Abs(Directions.MarginSlope(net, set.X[i], nu)) < 1e-12);
            var iv = LinearRegion.PatternPreservingInterval(net, set.X[i], nu);
            double a = double.IsFinite(iv.Forward) ? 0.5 * iv.Forward : 3.0, b = double.IsFinite(iv.Backward) ? 0.3 * iv.Backward : 2.0;
            using var split = SplitLemma.Split(net, set, i, nu, a, b);
            Assert.Equal(set.Count + 1, split.Count);
            Assert.True(LemmaTestData.SumChange(net, set, split) < 1e-10);
            using var m = net.Margins(split.X, split.Y);
            Assert.True(TestData.MaxAbs(m - 1) < 1e-10);
            Assert.True(LinearRegion.SamePattern(net, set.X[i], split.X[i]) && LinearRegion.SamePattern(net, set.X[i], split.X[i + 1]));
            // Lemma 2 ∘ Lemma 3 = identity.
            using var back = MergeLemma.Merge(net, split, i, i + 1);
            Assert.True(TestData.MaxAbs(back.X - set.X) < 1e-12 * TestData.MaxAbs(set.X));
            Assert.True(TestData.MaxAbs(back.Lambda! - set.Lambda!) < 1e-12);
            Assert.True(back.Y.eq(set.Y).all().ToBoolean());
        }
        Assert.True(set.X.eq(before).all().ToBoolean(), "the input set was mutated");
    }

    [Fact]
    public void Split_along_a_margin_changing_direction_changes_the_margin_and_is_refused()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 10, 1 }, seed: 7);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 1, seed: 70);
        using var u = LinearRegion.EffectiveMap(net, set.X[0]);
        var iv = LinearRegion.PatternPreservingInterval(net, set.X[0], u);
        double a = 0.5 * iv.Forward, b = 0.5 * iv.Backward;
        var ex = Assert.Throws<LemmaHypothesisException>(() => SplitLemma.Split(net, set, 0, u, a, b));
        Assert.Equal("u_A·ν = 0", ex.Hypothesis);
        using var split = SplitLemma.Split(net, set, 0, u, a, b, SplitChecks.Pattern);
        using var m = net.Margins(split.X, split.Y);
        double uu = u.dot(u).ToDouble(), y = set.Y[0].ToDouble();
        Assert.Equal(1 + y * a * uu, m[0].ToDouble(), 10);
        Assert.Equal(1 - y * b * uu, m[1].ToDouble(), 10);
        Assert.True(Math.Abs(m[1].ToDouble() - 1) > 1e-3);
        Assert.True(LemmaTestData.SumChange(net, set, split) < 1e-10); // stationarity still holds: only the margin breaks
    }

    [Fact]
    public void Split_beyond_the_region_is_refused_and_the_forced_split_breaks_stationarity()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 10, 1 }, seed: 8);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 1, seed: 80);
        using var raw = TestData.Randn(81, 6);
        using var nu = Directions.MarginPreserving(net, set.X[1], raw);
        var iv = LinearRegion.PatternPreservingInterval(net, set.X[1], nu);
        var ex = Assert.Throws<LemmaHypothesisException>(() => SplitLemma.Split(net, set, 1, nu, (1 + 1e-6) * iv.Forward, 0.5 * iv.Backward));
        Assert.Equal("x + αν, x − βν ∈ R_A", ex.Hypothesis);
        Assert.Contains("α_max", ex.Message);
        using var ok = SplitLemma.Split(net, set, 1, nu, (1 - 1e-6) * iv.Forward, (1 - 1e-6) * iv.Backward);
        using var forced = SplitLemma.SplitUnchecked(set, 1, nu, 3 * iv.Forward, 0.5 * iv.Backward);
        double change = LemmaTestData.SumChange(net, set, forced);
        Assert.True(change > 1e-4, $"a split across a region boundary changed the sum by only {change:G3}");
    }

    [Fact]
    public void Split_of_the_exact_instance_along_an_out_of_span_direction_stays_exactly_kkt()
    {
        var (net, set) = TestData.OneNeuronPerPoint(4, 7, new double[] { 1, -1, -1, 1 });
        using (net) using (set)
        {
            using var nu = torch.zeros(7, dtype: ScalarType.Float64); nu[5] = 1.0;
            using var split = SplitLemma.Split(net, set, 2, nu, 0.25, 4.0);
            var r = KktConditions.Diagnose(net, split);
            Assert.True(r.Stationarity < 1e-14);
            Assert.All(r.Margins, m => Assert.Equal(1.0, m, 14));
            Assert.Equal(4.0 / 4.25, r.Lambda[2], 14); Assert.Equal(0.25 / 4.25, r.Lambda[3], 14);
        }
    }

    [Fact]
    public void Bad_inputs_get_clear_errors()
    {
        using var net = HomogeneousMlp.Create(new[] { 4, 3, 1 }, seed: 1);
        using var set = LemmaTestData.RandomWeightedSet(net, 2, 1, 5);
        using var nu = TestData.Randn(2, 4); using var zero = torch.zeros(4, dtype: ScalarType.Float64); using var wrong = TestData.Randn(2, 3);
        Assert.Contains("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => SplitLemma.Split(net, set, 0, nu, 0, 1)).Message);
        Assert.Contains("beta", Assert.Throws<ArgumentOutOfRangeException>(() => SplitLemma.Split(net, set, 0, nu, 1, -2)).Message);
        Assert.Contains("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => SplitLemma.SplitUnchecked(set, 0, nu, double.NaN, 1)).Message);
        Assert.Contains("zero vector", Assert.Throws<ArgumentException>(() => SplitLemma.Split(net, set, 0, zero, 1, 1)).Message);
        Assert.Contains("zero vector", Assert.Throws<ArgumentException>(() => SplitLemma.SplitUnchecked(set, 0, zero, 1, 1)).Message);
        Assert.Contains("length 4", Assert.Throws<ArgumentException>(() => SplitLemma.Split(net, set, 0, wrong, 1, 1)).Message);
        Assert.Contains("out of range", Assert.Throws<ArgumentOutOfRangeException>(() => SplitLemma.Split(net, set, 2, nu, 1, 1)).Message);
    }

    [Fact]
    public void Lemma_transforms_refuse_non_finite_directions_and_points()
    {
        var (net, set) = TestData.OneNeuronPerPoint(3, 4, new[] { 1.0, -1.0, 1.0 });
        using var nu = torch.tensor(new[] { 0.0, 0.0, 0.0, double.NaN });
        Assert.Contains("nu", Assert.Throws<ArgumentException>(() => SplitLemma.Split(net, set, 0, nu, 0.1, 0.1)).Message);
        Assert.Contains("nu", Assert.Throws<ArgumentException>(() => LinearRegion.PatternPreservingInterval(net, set.X[0], nu)).Message);
        using var x = set.X[0].clone(); x[1] = double.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => LinearRegion.PatternPreservingInterval(net, x, set.X[1])).Message);
    }
}
