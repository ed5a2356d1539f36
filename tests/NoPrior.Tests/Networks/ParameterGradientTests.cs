using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ParameterGradientTests
{
    [Theory]
    [InlineData(new[] { 4, 6, 1 })]
    [InlineData(new[] { 5, 7, 3, 1 })]
    public void Per_example_gradients_match_autograd(int[] widths)
    {
        using var net = HomogeneousMlp.Create(widths, seed: 3);
        using var X = TestData.Randn(4, 6, widths[0]);
        using var g = ParameterGradients.Compute(net, X);
        using var J = g.Matrix();
        Assert.Equal(new long[] { 6, net.ParameterCount }, J.shape);
        for (int i = 0; i < 6; i++)
        {
            var ws = net.Weights.Select(w => w.clone().requires_grad_(true)).ToArray();
            using var phi = net.Forward(X[i], ws);
            var grads = torch.autograd.grad(new[] { phi.sum() }, ws);
            using var flat = torch.cat(grads.Select(t => t.reshape(-1)).ToArray());
            Assert.True(TestData.MaxAbs(flat - J[i]) < 1e-12, $"row {i}");
        }
    }

    [Fact]
    public void Per_example_gradients_match_central_differences()
    {
        using var net = HomogeneousMlp.Create(new[] { 3, 5, 1 }, seed: 5);
        using var X = TestData.Randn(6, 4, 3);
        using var g = ParameterGradients.Compute(net, X);
        using var J = g.Matrix();
        using var theta = net.Flatten();
        double h = 1e-6, worst = 0;
        for (int p = 0; p < theta.shape[0]; p++)
        {
            using var e = torch.zeros_like(theta); e[p] = h;
            using var plus = net.WithFlat(theta + e);
            using var minus = net.WithFlat(theta - e);
            using var fd = (plus.Forward(X) - minus.Forward(X)) / (2 * h);
            worst = Math.Max(worst, TestData.MaxAbs(fd - J[.., p]));
        }
        // Piecewise-quadratic Φ (a ReLU net of depth 2 is bilinear in (W, v) away from kinks): central differences are exact up to rounding.
        Assert.True(worst < 1e-8, $"max deviation {worst}");
    }

    [Fact]
    public void Gram_and_jacobian_products_match_the_explicit_matrix()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 8, 4, 1 }, seed: 7);
        using var X = TestData.Randn(8, 9, 5);
        using var g = ParameterGradients.Compute(net, X);
        using var J = g.Matrix();
        using var G = g.Gram();
        Assert.True(TestData.MaxAbs(G - J.matmul(J.t())) < 1e-12);
        using var theta = net.Flatten();
        using var Jtheta = g.JacobianTimes(net.Weights);
        Assert.True(TestData.MaxAbs(Jtheta - J.matmul(theta)) < 1e-12);
        // Euler's identity for a degree-L homogeneous function: ∇_θΦ · θ = L Φ.
        using var phi = net.Forward(X);
        Assert.True(TestData.MaxAbs(Jtheta - net.Depth * phi) < 1e-12);
        using var c = TestData.Randn(10, 9);
        var sums = g.WeightedSum(c);
        using var flat = torch.cat(sums.Select(s => s.reshape(-1)).ToArray());
        Assert.True(TestData.MaxAbs(flat - J.t().matmul(c)) < 1e-12);
    }

    [Fact]
    public void Activation_pattern_is_sign_of_preactivations()
    {
        using var net = HomogeneousMlp.Create(new[] { 3, 4, 2, 1 }, seed: 11);
        using var X = TestData.Randn(12, 5, 3);
        using var A = net.ActivationPattern(X);
        Assert.Equal(new long[] { 5, 6 }, A.shape);
        var hs = net.PreActivations(X);
        using var expected = torch.cat(hs.Select(h => h.gt(0)).ToArray(), 1);
        Assert.True(A.eq(expected).all().ToBoolean());
    }
}
