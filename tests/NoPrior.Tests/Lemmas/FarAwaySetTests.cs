using NoPrior.Lemmas;
using NoPrior.Networks;
using NoPrior.Training;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class FarAwaySetTests
{
    [Theory]
    [InlineData(10.0)]
    [InlineData(100.0)]
    [InlineData(1000.0)]
    public void Far_away_set_of_data_in_a_subspace(double r)
    {
        var (net, set) = LemmaTestData.Obtuse(6, 10, seed: 5, tau: 0.05);   // rank 6 < d = 10
        using (net) using (set)
        using (var far = FarAwaySet.Build(net, set, r))
        {
            Assert.True(far.MinDistance > r, $"min distance {far.MinDistance} ≤ r = {r}");
            Assert.Equal(2 * set.Count, far.Set.Count);
            Assert.True(far.StationarityChange < 1e-10, $"stationarity changed by {far.StationarityChange:G3} relative to ‖θ‖");
            Assert.True(far.FarSet.RelativeStationarity < 1e-13);
            Assert.All(far.FarSet.Margins, m => Assert.True(Math.Abs(m - 1) < 1e-10, $"margin {m}"));
            Assert.True(far.MaxMarginChange < 1e-10 && far.PatternsPreserved);
            Assert.True(far.FirstLayerOnNu < 1e-13 && far.DistanceToSpan < 1e-13);
            using var lam = far.Set.Lambda!.reshape(-1, 2);
            Assert.True(TestData.MaxAbs(lam[.., 0] - set.Lambda! / 2) < 1e-15 && TestData.MaxAbs(lam[.., 1] - set.Lambda! / 2) < 1e-15);
        }
    }

    [Fact]
    public void Float64_limits_t_rounding_in_W1_nu_is_amplified_and_reported()
    {
        // ‖W_1ν‖ ≈ 5e-17 here (rounding): at t ≈ 1e9 the margins drift by ~3e-8 > 1e-10, and Build says why.
        var (net, set) = LemmaTestData.Obtuse(6, 10, seed: 5, tau: 0.05);
        using (net) using (set)
        {
            var ex = Assert.Throws<LemmaHypothesisException>(() => FarAwaySet.Build(net, set, 1e9));
            Assert.Contains("amplified by t", ex.Message);
            using var forced = FarAwaySet.BuildUnchecked(net, set, 1e9);
            Assert.True(forced.MaxMarginChange > 1e-10 && forced.MaxMarginChange < 1e-6, $"margin drift {forced.MaxMarginChange:G3}");
        }
    }

    [Fact]
    public void Far_away_set_for_the_paper_instance_and_a_linear_model()
    {
        var (net, set) = TestData.OneNeuronPerPoint(4, 7, new double[] { 1, -1, -1, 1 });
        using (net) using (set)
        using (var far = FarAwaySet.Build(net, set, 100))
        {
            Assert.True(far.MinDistance > 100 && far.StationarityChange < 1e-10 && far.FarSet.Stationarity < 1e-13);
            Assert.All(far.FarSet.Margins, m => Assert.Equal(1.0, m, 12));
        }
        var (lin, lset) = LemmaTestData.Linear(d: 8, k: 5, pairs: 3, seed: 2);
        using (lin) using (lset)
        using (var far = FarAwaySet.Build(lin, lset, 1000))
        {
            Assert.True(far.MinDistance > 1000 && far.StationarityChange < 1e-10);
            Assert.All(far.FarSet.Margins, m => Assert.True(Math.Abs(m - 1) < 1e-10));
        }
    }

    [Fact]
    public void Data_that_span_R_d_are_refused_and_the_forced_construction_breaks()
    {
        var (net, set) = LemmaTestData.Obtuse(6, 6, seed: 6, tau: 0.05);     // full rank
        using (net) using (set)
        {
            var ex = Assert.Throws<LemmaHypothesisException>(() => FarAwaySet.Build(net, set, 10));
            Assert.Equal("span{x_i} ≠ R^d", ex.Hypothesis);
            Assert.Contains("span all of R^6", ex.Message);
            using var forced = FarAwaySet.BuildUnchecked(net, set, 10);
            Assert.False(forced.PatternsPreserved);
            Assert.True(forced.StationarityChange > 1e-3 || forced.MaxMarginChange > 1e-3,
                $"forced S_r on spanning data: stationarity change {forced.StationarityChange:G3}, margin change {forced.MaxMarginChange:G3}");
        }
    }

    [Fact]
    public void Out_of_span_component_zero_in_span_removed_exactly_and_refused_when_present()
    {
        var (net, set) = LemmaTestData.Obtuse(5, 8, seed: 7, tau: 0.05);
        using (net) using (set)
        {
            using (var inSpan = FarAwaySet.OutOfSpanComponent(net, set.X))
            {
                Assert.True(inSpan.Norm < 1e-14 && inSpan.Rank == 5, $"norm {inSpan.Norm}, rank {inSpan.Rank}");
            }
            // A "trained" first layer: the exact one plus an initial-weights part outside span(S).
            using var P = Directions.SpanProjector(set.X);
            using var E = TestData.Randn(8, 5, 8) * 0.1;
            using var Eperp = E - E.matmul(P);
            using var noisy = net.WithLayer(0, net.Weights[0] + Eperp);
            using var oos = FarAwaySet.OutOfSpanComponent(noisy, set.X);
            Assert.Equal(Eperp.norm().ToDouble(), oos.Norm, 12);
            Assert.True(oos.RelativeToFirstLayer > 1e-3 && oos.RelativeToTheta > 1e-3);
            var ex = Assert.Throws<LemmaHypothesisException>(() => FarAwaySet.Build(noisy, set, 10));
            Assert.Equal("W_1ν = 0 for ν ⊥ span(S)", ex.Hypothesis);
            Assert.Contains("RemoveOutOfSpanComponent", ex.Message);
            using var fixedNet = FarAwaySet.RemoveOutOfSpanComponent(noisy, set.X);
            Assert.True(fixedNet.MaxOutputChangeOnData < 1e-12, $"outputs on the data changed by {fixedNet.MaxOutputChangeOnData}");
            Assert.True(TestData.MaxAbs(fixedNet.Network.Weights[0] - net.Weights[0]) < 1e-14);
            using var C = Directions.OrthogonalComplement(set.X);
            using var off = set.X[0] + C[0] * 3.0;
            using var fOld = noisy.Forward(off); using var fNew = fixedNet.Network.Forward(off);
            Assert.True(TestData.MaxAbs(fOld - fNew) > 1e-3, "removing the component must change outputs off the span");
            using var far = FarAwaySet.Build(fixedNet.Network, set, 10);
            Assert.True(far.MinDistance > 10 && far.StationarityChange < 1e-10);
        }
    }

    [Fact]
    public void Gradient_descent_never_changes_the_first_layer_outside_the_span()
    {
        // Every gradient of W_1 is δ_1 xᵀ with x in span(S), so W_1 P_⊥ stays at its initial value.
        using var basis = LemmaTestData.RandomRotation(8, 3).narrow(0, 0, 4);
        using var X = TestData.Randn(4, 10, 4).matmul(basis);
        using var y = X[.., 0].sign();
        using var data = new LabelledSet(X, y);
        using var init = HomogeneousMlp.Create(new[] { 8, 12, 1 }, seed: 5);
        using var run = GradientDescent.Train(init, data, new TrainingSettings(Steps: 300, LearningRate: 0.2));
        using var a = FarAwaySet.OutOfSpanComponent(init, X);
        using var b = FarAwaySet.OutOfSpanComponent(run.Network, X);
        Assert.True(a.Norm > 0.1);
        Assert.True(TestData.MaxAbs(a.Component - b.Component) < 1e-12, "W_1 P_⊥ moved during training");
        using var w0 = run.Network.Weights[0] - init.Weights[0];
        Assert.True(w0.norm().ToDouble() > 1e-2, "training must have moved W_1 inside the span");
    }

    [Fact]
    public void A_given_direction_orthogonal_to_the_data_is_used_and_one_inside_the_span_is_refused()
    {
        var (net, set) = LemmaTestData.Obtuse(5, 9, seed: 3, tau: 0.05);      // rank 5 < d = 9
        using (net) using (set)
        {
            using var C = Directions.OrthogonalComplement(set.X);
            using var nu = (C[0] + C[2]) * 3.0;                                 // ⊥ span(S), not unit
            using (var far = FarAwaySet.Build(net, set, 100, nu: nu))
            {
                using var unit = nu / nu.norm();
                Assert.True(TestData.MaxAbs(far.Nu - unit) < 1e-15, "Build must use the given direction, normalised");
                Assert.True(far.MinDistance > 100 && far.StationarityChange < 1e-10 && far.MaxMarginChange < 1e-10);
            }
            using var tilted = nu + set.X[1] * 1e-3;
            var ex = Assert.Throws<LemmaHypothesisException>(() => FarAwaySet.Build(net, set, 100, nu: tilted));
            Assert.Equal("ν ⊥ span(S)", ex.Hypothesis);
        }
    }

    [Fact]
    public void Bad_inputs_get_clear_errors()
    {
        var (net, set) = LemmaTestData.Obtuse(4, 6, seed: 1);
        using (net) using (set)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => FarAwaySet.Build(net, set, 0));
            Assert.Contains("must exceed r", Assert.Throws<ArgumentOutOfRangeException>(() => FarAwaySet.Build(net, set, 10, t: 5)).Message);
            using var unweighted = new LabelledSet(set.X, set.Y);
            Assert.Contains("no multipliers", Assert.Throws<ArgumentException>(() => FarAwaySet.Build(net, unweighted, 10)).Message);
        }
    }
}
