using NoPrior.Attack;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class CandidatePriorTests
{
    /// <summary>A prior without a closed-form gradient: the default ValueAndGradient differentiates its penalty by autograd.</summary>
    sealed record QuarticPrior : CandidatePrior
    {
        public override Tensor Penalty(Tensor X) => X.pow(4).sum() * 0.1;
    }

    [Fact]
    public void Priors_penalise_exactly_the_excess_outside_the_box()
    {
        using var X = torch.tensor(new double[] { 1.5, -2.0, 0.3, -0.9 }).reshape(2, 2);
        // Box [−1, 1]: excesses 0.5 and 1.0 → 0.25 + 1.
        using var p = CandidatePrior.Box().Penalty(X);
        Assert.Equal(1.25, p.ToDouble(), 14);
        // Pixel box from mean μ = (0.5, 0.2), raw range [0, 1] → column 0 in [−0.5, 0.5], column 1 in [−0.2, 0.8]:
        // excesses 1.5 − 0.5 = 1.0, 0.3 inside, −0.2 − (−2.0) = 1.8, −0.2 − (−0.9) = 0.7.
        using var mean = torch.tensor(new double[] { 0.5, 0.2 });
        using var q = CandidatePrior.PixelBoxFromMean(mean).Penalty(X);
        Assert.Equal(1.0 + 1.8 * 1.8 + 0.7 * 0.7, q.ToDouble(), 12);
        using var none = CandidatePrior.None.Penalty(X);
        Assert.Equal(0.0, none.ToDouble());
    }

    [Fact]
    public void Each_priors_value_and_gradient_equal_its_penalty_and_the_autograd_gradient()
    {
        using var gen = new Generator(7);
        using var X = torch.randn(new long[] { 5, 4 }, dtype: ScalarType.Float64, generator: gen) * 1.5;
        using var mean = torch.tensor(new double[] { 0.5, 0.2, 0.9, 0.1 });
        foreach (var prior in new[] { CandidatePrior.None, CandidatePrior.Box(), CandidatePrior.Box(0.3), CandidatePrior.PixelBoxFromMean(mean), new QuarticPrior() })
        {
            using var leaf = X.detach().clone().requires_grad_(true);
            using var penalty = prior.Penalty(leaf);
            // No prior: a constant 0 with no autograd history, whose gradient is 0.
            using var expected = penalty.requires_grad ? torch.autograd.grad(new[] { penalty }, new[] { leaf })[0].detach() : torch.zeros_like(X);
            var (value, grad) = prior.ValueAndGradient(X);
            using (value) using (grad)
            {
                Assert.False(grad.requires_grad);
                Assert.Equal(penalty.ToDouble(), value.ToDouble(), 12);
                using var diff = (grad - expected).abs().max();
                Assert.True(diff.ToDouble() <= 1e-12, $"{prior.GetType().Name}: gradient off by {diff.ToDouble()}");
            }
        }
        // Not vacuous: the box is active at this scale.
        var (boxValue, boxGrad) = CandidatePrior.Box().ValueAndGradient(X);
        using (boxValue) using (boxGrad) Assert.True(boxValue.ToDouble() > 0.1);
    }

    [Fact]
    public void Priors_reject_non_finite_bounds()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidatePrior.Box(double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => CandidatePrior.Box(double.NaN));
        using var mean = torch.tensor(new[] { 0.5, double.NaN });
        Assert.Contains("mean", Assert.Throws<ArgumentException>(() => CandidatePrior.PixelBoxFromMean(mean)).Message);
        using var lo = torch.tensor(new[] { 0.0, double.NegativeInfinity });
        using var hi = torch.tensor(new[] { 1.0, 1.0 });
        Assert.Contains("lower", Assert.Throws<ArgumentException>(() => new PixelBoxPrior(lo, hi)).Message);
    }
}
