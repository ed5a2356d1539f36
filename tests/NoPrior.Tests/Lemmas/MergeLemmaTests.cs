using NoPrior.Kkt;
using NoPrior.Lemmas;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

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

    [Fact]
    public void Mergeable_pairs_are_the_pairs_that_hold_among_the_given_indices()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 4, 1 }, 3);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 2, perCluster: 3, seed: 7);
        var among = new[] { 0, 1, 2, 4 };
        var expected = MergeLemma.Pairs(net, set).Where(p => p.Hold && among.Contains(p.I) && among.Contains(p.J)).Select(p => (p.I, p.J)).ToArray();
        var got = MergeLemma.MergeablePairs(net, set, among);
        Assert.Equal(expected, got.Select(p => (p.I, p.J)).ToArray());
        Assert.All(got, p => Assert.True(MergeLemma.Check(net, set, p.I, p.J).Hold));
    }
}
