using NoPrior.Kkt;
using NoPrior.Lemmas;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class LinearRegionTests
{
    [Theory]
    [InlineData(new[] { 6, 9, 1 })]
    [InlineData(new[] { 5, 7, 6, 1 })]
    [InlineData(new[] { 4, 1 })]
    public void Phi_is_u_A_dot_x_and_the_gradient_is_linear_inside_a_region(int[] widths)
    {
        using var net = HomogeneousMlp.Create(widths, seed: 3);
        using var X = TestData.Randn(4, 12, widths[0]);
        using var u = LinearRegion.EffectiveMap(net, X);
        using var phi = net.Forward(X);
        using var ux = (u * X).sum(1);
        Assert.True(TestData.MaxAbs(ux - phi) < 1e-12 * TestData.MaxAbs(phi));
        // ∇Φ(x_1 + x_2) = ∇Φ(x_1) + ∇Φ(x_2) for x_2 = 0.7·x_1 + small (same cone), fails for an unrelated point.
        using var x1 = X[0].unsqueeze(0);
        using var x2 = x1 * 0.7 + TestData.Randn(5, 1, widths[0]) * 1e-6;
        Assert.True(LinearRegion.SamePattern(net, x1, x2));
        using var g1 = ParameterGradients.Compute(net, x1); using var g2 = ParameterGradients.Compute(net, x2);
        using var g12 = ParameterGradients.Compute(net, x1 + x2);
        using var J1 = g1.Matrix(); using var J2 = g2.Matrix(); using var J12 = g12.Matrix();
        Assert.True(TestData.MaxAbs(J12 - J1 - J2) < 1e-12 * TestData.MaxAbs(J12));
        if (net.Depth > 1)
        {
            using var x3 = X[1].unsqueeze(0);
            Assert.False(LinearRegion.SamePattern(net, x1, x3));
            using var g3 = ParameterGradients.Compute(net, x3); using var g13 = ParameterGradients.Compute(net, x1 + x3);
            using var J3 = g3.Matrix(); using var J13 = g13.Matrix();
            Assert.True(TestData.MaxAbs(J13 - J1 - J3) > 1e-3, "gradients of points in different regions must not add up");
        }
    }

    [Theory]
    [InlineData(new[] { 6, 9, 1 }, 1)]
    [InlineData(new[] { 6, 9, 1 }, 2)]
    [InlineData(new[] { 5, 8, 7, 1 }, 3)]
    [InlineData(new[] { 5, 8, 7, 6, 1 }, 4)]
    public void The_pattern_preserving_interval_is_tight(int[] widths, int seed)
    {
        using var net = HomogeneousMlp.Create(widths, seed);
        for (int trial = 0; trial < 5; trial++)
        {
            using var x = TestData.Randn(100 * seed + trial, widths[0]);
            using var nu = TestData.Randn(200 * seed + trial, widths[0]);
            var iv = LinearRegion.PatternPreservingInterval(net, x, nu);
            foreach (var (t, sign) in new[] { (iv.Forward, 1.0), (iv.Backward, -1.0) })
            {
                if (double.IsPositiveInfinity(t))
                {
                    // No unit ever switches along this half-ray (every unit's pre-activation moves away from 0): then
                    // the pattern must hold arbitrarily far out.
                    using var far = x + nu * (sign * 1e8);
                    Assert.True(LinearRegion.SamePattern(net, x, far), $"trial {trial}: infinite interval but the pattern changed by t = 1e8");
                    continue;
                }
                using var inside = x + nu * (sign * (1 - 1e-6) * t);
                using var outside = x + nu * (sign * (1 + 1e-6) * t);
                Assert.True(LinearRegion.SamePattern(net, x, inside), $"trial {trial}: (1 − 1e-6)·{t} changed the pattern");
                Assert.False(LinearRegion.SamePattern(net, x, outside), $"trial {trial}: (1 + 1e-6)·{t} kept the pattern");
            }
        }
    }

    [Fact]
    public void Two_layer_interval_is_min_of_h_over_w_nu_over_flipping_units()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 11, 1 }, seed: 9);
        using var x = TestData.Randn(10, 5); using var nu = TestData.Randn(11, 5);
        var h = net.Weights[0].matmul(x).data<double>().ToArray();
        var g = net.Weights[0].matmul(nu).data<double>().ToArray();
        double expected = Enumerable.Range(0, h.Length).Where(j => Math.Sign(h[j]) == -Math.Sign(g[j])).Min(j => Math.Abs(h[j]) / Math.Abs(g[j]));
        Assert.Equal(expected, LinearRegion.PatternPreservingInterval(net, x, nu).Forward, 14);
    }

    [Fact]
    public void Bad_inputs_get_clear_errors()
    {
        using var net = HomogeneousMlp.Create(new[] { 4, 3, 1 }, seed: 1);
        using var x = TestData.Randn(1, 4); using var zero = torch.zeros(4, dtype: ScalarType.Float64); using var wrong = TestData.Randn(2, 5);
        Assert.Contains("zero vector", Assert.Throws<ArgumentException>(() => LinearRegion.PatternPreservingInterval(net, x, zero)).Message);
        Assert.Contains("length 4", Assert.Throws<ArgumentException>(() => LinearRegion.PatternPreservingInterval(net, x, wrong)).Message);
        Assert.Contains("length 4", Assert.Throws<ArgumentException>(() => LinearRegion.PatternPreservingInterval(net, wrong, x)).Message);
    }
}

public class MergeLemmaTests
{
    [Theory]
    [InlineData(new[] { 6, 10, 1 }, 1)]
    [InlineData(new[] { 6, 10, 1 }, 2)]
    [InlineData(new[] { 5, 8, 7, 1 }, 3)]
    public void Merge_preserves_the_stationarity_sum_and_the_margin_on_random_sets(int[] widths, int seed)
    {
        using var net = HomogeneousMlp.Create(widths, seed);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 4, perCluster: 3, seed: 10 * seed);
        using var before = set.X.clone();
        var (i, j) = LemmaTestData.SamePatternPair(net, set) ?? throw new Exception("no same-pattern pair in the test data");
        using var merged = MergeLemma.Merge(net, set, i, j);
        Assert.Equal(set.Count - 1, merged.Count);
        Assert.True(LemmaTestData.SumChange(net, set, merged) < 1e-10);
        using var m = net.Margins(merged.X, merged.Y);
        Assert.True(TestData.MaxAbs(m - 1) < 1e-10);
        Assert.True(LinearRegion.SamePattern(net, set.X[i], merged.X[Math.Min(i, j)]));
        Assert.Equal(set.Lambda![i].ToDouble() + set.Lambda[j].ToDouble(), merged.Lambda![Math.Min(i, j)].ToDouble(), 14);
        Assert.True(set.X.eq(before).all().ToBoolean(), "the input set was mutated");
    }

    [Fact]
    public void Merge_refuses_different_patterns_and_the_forced_merge_breaks_stationarity()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 10, 1 }, seed: 5);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 4, perCluster: 2, seed: 50);
        var (i, j) = LemmaTestData.DifferentPatternPair(net, set) ?? throw new Exception("no different-pattern pair");
        var ex = Assert.Throws<LemmaHypothesisException>(() => MergeLemma.Merge(net, set, i, j));
        Assert.Equal("same activation pattern", ex.Hypothesis);
        Assert.False(MergeLemma.Check(net, set, i, j).Hold);
        using var forced = MergeLemma.MergeUnchecked(set, i, j);
        double change = LemmaTestData.SumChange(net, set, forced);
        Assert.True(change > 1e-4, $"forced merge of different patterns changed the sum by only {change:G3}");
        using var forced2 = MergeLemma.Merge(net, set, i, j, MergeChecks.All & ~MergeChecks.SamePattern);
        Assert.True(forced2.X.eq(forced.X).all().ToBoolean());
    }

    [Fact]
    public void Merge_refuses_different_labels_and_nonpositive_multipliers()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 10, 1 }, seed: 6);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 3, seed: 60);
        var (i, j) = LemmaTestData.SamePatternPair(net, set)!.Value;
        using var flipped = new LabelledSet(set.X, set.Y * torch.tensor(Enumerable.Range(0, (int)set.Count).Select(k => k == j ? -1.0 : 1.0).ToArray()), set.Lambda);
        Assert.Equal("same label", Assert.Throws<LemmaHypothesisException>(() => MergeLemma.Merge(net, flipped, i, j)).Hypothesis);
        using var lam = set.Lambda!.clone(); lam[i] = 0.0;
        using var zeroed = set.WithLambda(lam);
        Assert.Equal("λ₁, λ₂ > 0", Assert.Throws<LemmaHypothesisException>(() => MergeLemma.Merge(net, zeroed, i, j)).Hypothesis);
        Assert.Throws<ArgumentOutOfRangeException>(() => MergeLemma.Merge(net, set, i, (int)set.Count));
        Assert.Throws<ArgumentOutOfRangeException>(() => MergeLemma.Merge(net, set, -1, j));
        Assert.Contains("itself", Assert.Throws<ArgumentException>(() => MergeLemma.Merge(net, set, i, i)).Message);
        using var unweighted = new LabelledSet(set.X, set.Y);
        Assert.Contains("no multipliers", Assert.Throws<ArgumentException>(() => MergeLemma.Merge(net, unweighted, i, j)).Message);
        using var other = HomogeneousMlp.Create(new[] { 5, 3, 1 }, 1);
        Assert.Contains("dimension", Assert.Throws<ArgumentException>(() => MergeLemma.Merge(other, set, i, j)).Message);
    }

    [Fact]
    public void Merge_keeps_an_exact_linear_kkt_set_exact()
    {
        var (net, set) = LemmaTestData.Linear(d: 7, k: 4, pairs: 4, seed: 3);
        using (net) using (set)
        {
            var r0 = KktConditions.Diagnose(net, set);
            Assert.True(r0.RelativeStationarity < 1e-13 && r0.ComplementarySlackness < 1e-13);
            using var merged = MergeLemma.Merge(net, set, 0, 4); // same label (pairs 0 and 2 are +1), one region
            var r1 = KktConditions.Diagnose(net, merged);
            Assert.True(Math.Abs(r1.Stationarity - r0.Stationarity) / r0.ThetaNorm < 1e-10);
            Assert.All(r1.Margins, m => Assert.Equal(1.0, m, 10));
        }
    }
}

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
}
