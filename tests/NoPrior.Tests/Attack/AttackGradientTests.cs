using NoPrior.Attack;
using NoPrior.Metrics;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class AttackGradientTests
{
    /// <summary>A prior the hand-written gradient does not know: it must fall back to autograd.</summary>
    sealed record QuarticPrior : CandidatePrior
    {
        public override Tensor Penalty(Tensor X) => X.pow(4).sum() * 0.1;
    }

    public static IEnumerable<object[]> Cases()
    {
        var nets = new (int[] Widths, double Alpha, double Scale)[]
        {
            (new[] { 6, 9, 1 }, 20.0, 0.8), (new[] { 5, 7, 4, 1 }, 150.0, 1.0), (new[] { 30, 50, 1 }, 10.0, 0.3),
            (new[] { 8, 6, 5, 4, 1 }, 3.0, 1.0), (new[] { 7, 1 }, 5.0, 1.0),
        };
        foreach (var (w, a, sc) in nets)
            foreach (var name in new[] { "box", "none", "pixelbox", "custom" })
                yield return new object[] { w, a, sc, name };
    }

    /// <summary>Tolerances of the fused-against-autograd check (float64): loss values to 1e-12 relative, gradients to
    /// 1e-10 relative in norm (the two sum the same terms in different orders).</summary>
    const double ValueTolerance = 1e-12, GradientTolerance = 1e-10;

    static CandidatePrior MakePrior(string prior, int d) => prior switch
    {
        "box" => CandidatePrior.Box(0.5),
        "none" => CandidatePrior.None,
        "pixelbox" => CandidatePrior.PixelBoxFromMean(torch.linspace(0.2, 0.7, d, dtype: ScalarType.Float64)),
        _ => new QuarticPrior(),
    };

    /// <summary>The ways the hand-derived <paramref name="gradX"/>, <paramref name="gradLambda"/> and loss terms differ from
    /// autograd through <see cref="AttackObjective.Terms"/> along <paramref name="path"/>; empty when they agree within the tolerances.</summary>
    static List<string> DisagreementsWithAutograd(AttackObjective obj, HomogeneousMlp net, Tensor X0, Tensor y, Tensor lam0,
        AttackLossTerms fusedTerms, Tensor gradX, Tensor gradLambda, StationarityPath path)
    {
        var problems = new List<string>();
        using var X = X0.detach().clone().requires_grad_(true);
        using var lam = lam0.detach().clone().requires_grad_(true);
        using var terms = (obj with { Path = path }).Terms(net, X, y, lam);
        var grads = torch.autograd.grad(new[] { terms.Total }, new[] { X, lam });
        foreach (var (a, b, what) in new[] { (fusedTerms.Total, terms.Total, "total"), (fusedTerms.Stationary, terms.Stationary, "stationary"),
                     (fusedTerms.Lambda, terms.Lambda, "lambda"), (fusedTerms.Prior, terms.Prior, "prior") })
            if (!(Math.Abs(a.ToDouble() - b.ToDouble()) <= ValueTolerance * Math.Abs(b.ToDouble()) || a.ToDouble() == b.ToDouble()))
                problems.Add($"{path} {what}: {a.ToDouble()} vs {b.ToDouble()}");
        if (!(TestData.RelDiff(gradX, grads[0]) <= GradientTolerance)) problems.Add($"{path}: ∂L/∂X relative difference {TestData.RelDiff(gradX, grads[0])}");
        if (!(TestData.RelDiff(gradLambda, grads[1]) <= GradientTolerance)) problems.Add($"{path}: ∂L/∂λ relative difference {TestData.RelDiff(gradLambda, grads[1])}");
        return problems;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hand_derived_gradient_equals_autograd_along_both_paths(int[] widths, double alpha, double scale, string prior)
    {
        using var net = HomogeneousMlp.Create(widths, seed: 11);
        int m = 9;
        var obj = AttackObjective.Reference with { Alpha = alpha, LambdaMin = 0.5, Prior = MakePrior(prior, widths[0]), StationaryWeight = 1.3, LambdaWeight = 0.7, PriorWeight = 2 };
        using var y = torch.tensor(Enumerable.Range(0, m).Select(k => k % 3 == 0 ? -1.0 : 1.0).ToArray());
        using var X0 = (TestData.Randn(12, m, widths[0]) * scale);
        using var lam0 = torch.rand(m, dtype: ScalarType.Float64, generator: new Generator(13));

        using var fused = obj.ValueAndGradient(net, X0, y, lam0);
        Assert.False(fused.GradX.requires_grad);
        using var gxNorm = fused.GradX.norm();
        Assert.True(gxNorm.ToDouble() > 1e-8, "gradients must be non-trivial for the comparison to mean anything");
        foreach (var path in new[] { StationarityPath.ClosedForm, StationarityPath.Autograd })
            Assert.Empty(DisagreementsWithAutograd(obj, net, X0, y, lam0, fused.Terms, fused.GradX, fused.GradLambda, path));
    }

    [Theory]
    [InlineData("box")]
    [InlineData("none")]
    public void The_check_fails_a_gradient_perturbed_beyond_its_tolerance(string prior)
    {
        // The same comparison as above must notice a wrong gradient: one coordinate of ∂L/∂X off by 1e-6 of its norm
        // (10⁴ times the tolerance), or a wrong prior weight in ∂L/∂X.
        int[] widths = { 6, 9, 1 };
        using var net = HomogeneousMlp.Create(widths, seed: 11);
        int m = 9;
        var obj = AttackObjective.Reference with { Alpha = 20, LambdaMin = 0.5, Prior = MakePrior(prior, widths[0]), PriorWeight = 2 };
        using var y = torch.tensor(Enumerable.Range(0, m).Select(k => k % 3 == 0 ? -1.0 : 1.0).ToArray());
        using var X0 = (TestData.Randn(12, m, widths[0]) * 1.5);
        using var lam0 = torch.rand(m, dtype: ScalarType.Float64, generator: new Generator(13));
        using var fused = obj.ValueAndGradient(net, X0, y, lam0);
        Assert.Empty(DisagreementsWithAutograd(obj, net, X0, y, lam0, fused.Terms, fused.GradX, fused.GradLambda, StationarityPath.ClosedForm));

        using var bumped = fused.GradX.clone();
        bumped[0, 0] = bumped[0, 0] + 1e-6 * fused.GradX.norm().ToDouble();
        var found = DisagreementsWithAutograd(obj, net, X0, y, lam0, fused.Terms, bumped, fused.GradLambda, StationarityPath.ClosedForm);
        Assert.Contains(found, p => p.Contains("∂L/∂X"));

        if (prior == "none") return;
        // The box prior is active at this scale: dropping its gradient (as if the prior's weight were 0) must fail too.
        var (_, priorGrad) = obj.Prior.ValueAndGradient(X0);
        using (priorGrad)
        {
            using var withoutPrior = fused.GradX - 2 * priorGrad;
            Assert.Contains(DisagreementsWithAutograd(obj, net, X0, y, lam0, fused.Terms, withoutPrior, fused.GradLambda, StationarityPath.ClosedForm), p => p.Contains("∂L/∂X"));
        }
    }

    [Fact]
    public void Attack_runs_along_both_paths_give_the_same_candidates()
    {
        using var net = HomogeneousMlp.Create(new[] { 12, 16, 8, 1 }, seed: 21);
        var settings = new AttackSettings { Candidates = 6, Steps = 30, Seed = 4, ProgressTitle = null, LearningRateX = 0.01 };
        var a = ReconstructionAttack.Run(net, settings with { Objective = AttackObjective.Reference with { Path = StationarityPath.ClosedForm } });
        var b = ReconstructionAttack.Run(net, settings with { Objective = AttackObjective.Reference with { Path = StationarityPath.Autograd } });
        Assert.True(TestData.RelDiff(a.Candidates.X, b.Candidates.X) <= 1e-10, $"candidates differ by {TestData.RelDiff(a.Candidates.X, b.Candidates.X)}");
        Assert.True(Math.Abs(a.FinalLoss.Total - b.FinalLoss.Total) <= 1e-9 * b.FinalLoss.Total);
        using var moved = a.Candidates.X - b.Candidates.X;
    }

    [Fact]
    public void Float32_attack_runs_and_stays_close_to_float64()
    {
        using var net = HomogeneousMlp.Create(new[] { 20, 30, 1 }, seed: 5);
        using var net32 = net.To(ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, net32.DType);
        Assert.Equal(ScalarType.Float64, net.DType);
        var settings = new AttackSettings { Candidates = 8, Steps = 20, Seed = 2, ProgressTitle = null };
        var r64 = ReconstructionAttack.Run(net, settings);
        var r32 = ReconstructionAttack.Run(net32, settings);
        Assert.Equal(ScalarType.Float64, r32.Candidates.X.dtype);
        Assert.True(TestData.RelDiff(r32.Candidates.X, r64.Candidates.X) <= 1e-4, $"float32 vs float64 candidates: {TestData.RelDiff(r32.Candidates.X, r64.Candidates.X)}");
        Assert.True(Math.Abs(r32.FinalLoss.Total - r64.FinalLoss.Total) <= 1e-4 * r64.FinalLoss.Total);
    }
}
