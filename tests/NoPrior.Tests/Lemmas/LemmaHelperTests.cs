using NoPrior.Kkt;
using NoPrior.Lemmas;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class LemmaHelperTests
{
    [Fact]
    public void Pairs_agrees_with_Check_for_every_pair()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 6, 1 }, seed: 2);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 3, seed: 4);
        var pairs = MergeLemma.Pairs(net, set);
        Assert.Equal(9 * 8 / 2, pairs.Length);
        foreach (var p in pairs)
        {
            var c = MergeLemma.Check(net, set, p.I, p.J);
            Assert.Equal(c.SameLabel, p.SameLabel); Assert.Equal(c.SamePattern, p.SamePattern);
            Assert.Equal(c.DifferingUnits, p.DifferingUnits); Assert.Equal(c.LambdaI, p.LambdaI);
        }
        Assert.Contains(pairs, p => p.Hold);
        Assert.Contains(pairs, p => p.SameLabel && !p.SamePattern);
    }

    [Fact]
    public void Stationarity_sum_change_is_zero_for_a_merge_and_not_for_a_forced_one()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 6, 1 }, seed: 2);
        using var set = LemmaTestData.RandomWeightedSet(net, clusters: 3, perCluster: 3, seed: 4);
        var pairs = MergeLemma.Pairs(net, set);
        var ok = pairs.First(p => p.Hold); var bad = pairs.First(p => p.SameLabel && !p.SamePattern);
        using var merged = MergeLemma.Merge(net, set, ok.I, ok.J);
        using var forced = MergeLemma.MergeUnchecked(set, bad.I, bad.J);
        Assert.True(KktConditions.StationaritySumChange(net, set, merged) < 1e-13);
        // The test helper takes the largest layer; the library the norm over all layers: between 1 and √L times it.
        double perLayer = LemmaTestData.SumChange(net, set, forced), total = KktConditions.StationaritySumChange(net, set, forced);
        Assert.InRange(total, perLayer * (1 - 1e-12), perLayer * Math.Sqrt(net.Depth) * (1 + 1e-12));
        Assert.True(KktConditions.StationaritySumChange(net, set, forced) > 1e-4);
    }

    [Fact]
    public void Compare_puts_reports_side_by_side()
    {
        var (net, set) = TestData.OneNeuronPerPoint(3, 5, new double[] { 1, -1, 1 });
        using (net) using (set)
        {
            var r = KktConditions.Diagnose(net, set);
            var df = KktReport.Compare(("a", r), ("b", r));
            Assert.Equal(3, df.Columns.Count);
            Assert.Equal(3.0, (double)df["a"][0]!);
            Assert.Equal(3.0, (double)df["b"][1]!);     // Σλ = 3
            Assert.Equal(1.0, (double)df["a"][7]!, 12); // min margin
        }
    }
}
