using NoPrior.Kkt;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class KktConditionsTests
{
    [Fact]
    public void Exact_instance_one_neuron_per_point_is_kkt_with_unit_multipliers()
    {
        var (net, set) = TestData.OneNeuronPerPoint(4, 7, new double[] { 1, -1, -1, 1 });
        using (net) using (set)
        {
            var given = KktConditions.Diagnose(net, set);
            Assert.False(given.Fitted);
            Assert.True(given.Stationarity < 1e-14);
            Assert.All(given.Margins, m => Assert.Equal(1.0, m, 14));
            Assert.True(given.IsApproximateKkt(1e-14, 1e-14));
            using var unweighted = new LabelledSet(set.X, set.Y);
            var fitted = KktConditions.Diagnose(net, unweighted);
            Assert.True(fitted.Fitted);
            Assert.All(fitted.Lambda, l => Assert.Equal(1.0, l, 12));
            Assert.Equal(new[] { 0, 1, 2, 3 }, fitted.Support);
        }
    }

    [Fact]
    public void Linear_model_hard_margin_svm()
    {
        // Φ(w; x) = w·x, points (1, 0, 0) with y = +1 and (0, 1, 0) with y = −1: w = (1, −1, 0) = λ₁x₁ − λ₂x₂ with
        // λ = (1, 1). The third point (2, 0, 1) has margin 2; its third coordinate forces λ₃ = 0. (In R² a third point
        // would make λ non-unique: NNLS fits stationarity only, so complementary slackness is reported, not imposed.)
        using var w = torch.tensor(new double[,] { { 1, -1, 0 } });
        using var net = new HomogeneousMlp(new[] { w });
        using var X = torch.tensor(new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 2, 0, 1 } });
        using var y = torch.tensor(new double[] { 1, -1, 1 });
        var r = KktConditions.Diagnose(net, new LabelledSet(X, y));
        Assert.True(r.Stationarity < 1e-12);
        Assert.Equal(1.0, r.Lambda[0], 12); Assert.Equal(1.0, r.Lambda[1], 12); Assert.Equal(0.0, r.Lambda[2], 12);
        Assert.Equal(new[] { 0, 1 }, r.Support);
        Assert.True(r.ComplementarySlackness < 1e-12);
    }

    [Fact]
    public void Unconstrained_fit_can_go_negative_where_nnls_cannot()
    {
        // Linear model w = (1, 0): points (1, 1) and (1, −1) with y = +1, and (0, 1) with y = −1. Stationarity alone
        // is solved by λ = (0.5, 0.5, 0) + t·(1, −1, ... ) families; the minimum-norm unconstrained solution of this
        // 3-point problem uses a negative weight on the y = −1 point, NNLS does not.
        using var w = torch.tensor(new double[,] { { 1, 0 } });
        using var net = new HomogeneousMlp(new[] { w });
        using var X = torch.tensor(new double[,] { { 1, 1 }, { 2, -1 }, { 0, 1 } });
        using var y = torch.tensor(new double[] { 1, 1, -1 });
        using var set = new LabelledSet(X, y);
        using var free = KktConditions.FitMultipliers(net, set, nonNegative: false);
        using var nn = KktConditions.FitMultipliers(net, set);
        Assert.True(free.min().ToDouble() < -1e-3, $"unconstrained fit {free.str()}");
        Assert.True(nn.min().ToDouble() >= 0);
    }

    [Fact]
    public void A_random_network_is_far_from_kkt_on_random_data()
    {
        // The failing case: nothing ties θ to these points, so even the best λ ≥ 0 leaves a large residual.
        using var net = HomogeneousMlp.Create(new[] { 10, 20, 1 }, seed: 8);
        using var X = TestData.Randn(9, 6, 10);
        using var y = torch.tensor(new double[] { 1, -1, 1, -1, 1, -1 });
        using var set = new LabelledSet(X, y);
        var r = KktConditions.Diagnose(net, set);
        Assert.True(r.RelativeStationarity > 0.3, $"relative residual {r.RelativeStationarity}");
        Assert.False(r.IsApproximateKkt(0.1 * r.ThetaNorm, 1.0));
    }

    [Fact]
    public void Multipliers_of_the_wrong_length_are_refused()
    {
        var (net, set) = TestData.OneNeuronPerPoint(3, 5, new double[] { 1, -1, 1 });
        using (net) using (set)
        {
            using var lam = torch.ones(2, dtype: ScalarType.Float64);
            Assert.Contains("3 multipliers", Assert.Throws<ArgumentException>(() => KktConditions.Diagnose(net, set, lam)).Message);
            using var other = HomogeneousMlp.Create(new[] { 4, 3, 1 }, 1);
            Assert.Contains("dimension 5", Assert.Throws<ArgumentException>(() => KktConditions.Diagnose(other, set)).Message);
        }
    }

    [Fact]
    public void Non_finite_multipliers_are_refused_naming_lambda()
    {
        var (net, set) = TestData.OneNeuronPerPoint(3, 4, new[] { 1.0, -1.0, 1.0 });
        using var lambda = torch.tensor(new[] { 1.0, double.NaN, 1.0 });
        Assert.Contains("lambda contains NaN", Assert.Throws<ArgumentException>(() => KktConditions.Diagnose(net, set, lambda)).Message);
        Assert.Contains("lambda contains NaN", Assert.Throws<ArgumentException>(() => KktConditions.StationarityResidual(net, set, lambda)).Message);
        Assert.Contains("lambda contains NaN", Assert.Throws<ArgumentException>(() => set.WithLambda(lambda)).Message);
    }
}
