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
