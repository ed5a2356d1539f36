using NoPrior.Attack;
using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>
/// <see cref="AttackGradient.ValueAndGradient"/> with a reused <see cref="TensorWorkspace"/> against the same call without
/// one and against the out-of-place formulation it replaced: the same operations in the same order, so the same bits
/// (compared value by value and byte by byte, not to a tolerance). In the "MatMul settings" collection because the tests switch
/// <see cref="MatMul.Enabled"/> and a bitwise comparison must not see another test switch it halfway.
/// </summary>
[Collection("MatMul settings")]
public class AttackWorkspaceTests
{
    sealed record QuarticPrior : CandidatePrior
    {
        public override Tensor Penalty(Tensor X) => X.pow(4).sum() * 0.1;
    }

    static CandidatePrior MakePrior(string prior, int d) => prior switch
    {
        "box" => CandidatePrior.Box(0.5),
        "none" => CandidatePrior.None,
        "pixelbox" => CandidatePrior.PixelBoxFromMean(torch.linspace(0.2, 0.7, d, dtype: ScalarType.Float64)),
        _ => new QuarticPrior(),
    };

    public static IEnumerable<object[]> Cases()
    {
        // Depths 1–4; the 40-48-32-1 network with m = 40 has products above MatMul's thresholds (the kernel on an AVX-512
        // CPU), the others run every product in libtorch; the 40-300-260-1 one with m = 300 has [m, width] tensors large
        // enough for FusedElementwise's passes to split over threads.
        var nets = new (int[] Widths, int M)[] { (new[] { 6, 9, 1 }, 9), (new[] { 5, 7, 4, 1 }, 9), (new[] { 8, 6, 5, 4, 1 }, 7), (new[] { 7, 1 }, 5), (new[] { 40, 48, 32, 1 }, 40), (new[] { 40, 300, 260, 1 }, 300) };
        foreach (var (w, m) in nets)
            foreach (var prior in new[] { "box", "none", "pixelbox", "custom" })
                foreach (bool kernel in new[] { true, false })
                    yield return new object[] { w, m, prior, kernel };
    }

    static AttackObjective Objective(string prior, int d, double stationaryWeight = 1.3)
        => AttackObjective.Reference with { Alpha = 20, LambdaMin = 0.5, Prior = MakePrior(prior, d), StationaryWeight = stationaryWeight, LambdaWeight = 0.7, PriorWeight = 2 };

    static (Tensor X, Tensor Y, Tensor Lambda) Inputs(int m, int d, long seed)
    {
        var y = torch.tensor(Enumerable.Range(0, m).Select(k => k % 3 == 0 ? -1.0 : 1.0).ToArray());
        return (TestData.Randn(seed, m, d) * 0.8, y, torch.rand(m, dtype: ScalarType.Float64, generator: new Generator((ulong)seed + 1)));
    }

    /// <summary>The outputs that differ in any bit (<see cref="TestData.Identical"/>), by name; empty when all are identical.</summary>
    static List<string> BitDifferences(AttackLossGradient a, AttackLossGradient b)
    {
        var pairs = new[] { ("∂L/∂X", a.GradX, b.GradX), ("∂L/∂λ", a.GradLambda, b.GradLambda), ("total", a.Terms.Total, b.Terms.Total),
            ("stationary", a.Terms.Stationary, b.Terms.Stationary), ("lambda", a.Terms.Lambda, b.Terms.Lambda), ("prior", a.Terms.Prior, b.Terms.Prior) };
        return pairs.Where(p => !TestData.Identical(p.Item2, p.Item3)).Select(p => p.Item1).ToList();
    }

    /// <summary>Steps X ← X − η ∂L/∂X, λ ← λ − η ∂L/∂λ from the same start, one run with a fresh call per step, one with a
    /// workspace reused by every step; the outputs of every step must be bitwise equal.</summary>
    static List<string> StepAndCompare(AttackObjective obj, HomogeneousMlp net, Tensor X0, Tensor y, Tensor lam0, int steps, TensorWorkspace workspace)
    {
        var problems = new List<string>();
        using var Xa = X0.clone(); using var La = lam0.clone();
        using var Xb = X0.clone(); using var Lb = lam0.clone();
        for (int t = 0; t < steps; t++)
        {
            using var fresh = obj.ValueAndGradient(net, Xa, y, La);
            using var reused = obj.ValueAndGradient(net, Xb, y, Lb, workspace);
            problems.AddRange(BitDifferences(fresh, reused).Select(p => $"step {t}: {p}"));
            Xa.add_(fresh.GradX, alpha: -0.01); La.add_(fresh.GradLambda, alpha: -0.01);
            Xb.add_(reused.GradX, alpha: -0.01); Lb.add_(reused.GradLambda, alpha: -0.01);
        }
        if (!TestData.Identical(Xa, Xb)) problems.Add("final candidates");
        return problems;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Steps_with_a_reused_workspace_are_bitwise_equal_to_steps_without_one_and_to_the_out_of_place_formulation(int[] widths, int m, string prior, bool kernel)
    {
        MatMul.Enabled = kernel;
        try
        {
            using var net = HomogeneousMlp.Create(widths, seed: 11);
            var obj = Objective(prior, widths[0]);
            var (X0, y, lam0) = Inputs(m, widths[0], 12);
            using (X0) using (y) using (lam0)
            using (var workspace = new TensorWorkspace())
            {
                Assert.Empty(StepAndCompare(obj, net, X0, y, lam0, steps: 6, workspace));
                // Every tensor was allocated at the first step; the other five reused them.
                int allocated = workspace.Allocations;
                Assert.True(allocated > 0 && allocated == workspace.Count, $"{allocated} allocations for {workspace.Count} tensors");
                using (obj.ValueAndGradient(net, X0, y, lam0, workspace)) { }
                Assert.Equal(allocated, workspace.Allocations);

                // And the formulation before the workspace (new tensors, out-of-place operations), kept below.
                using var now = obj.ValueAndGradient(net, X0, y, lam0, workspace);
                var (terms, gX, gL) = OutOfPlace.ValueAndGradient(obj, net, X0, y, lam0);
                using var before = new AttackLossGradient { Terms = terms, GradX = gX, GradLambda = gL };
                Assert.Empty(BitDifferences(now, before));
            }
        }
        finally { MatMul.Enabled = true; }
    }

    [Fact]
    public void Terms_switched_off_give_the_same_bits_with_and_without_a_workspace()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 9, 1 }, seed: 11);
        var (X0, y, lam0) = Inputs(9, 6, 12);
        using (X0) using (y) using (lam0)
        using (var workspace = new TensorWorkspace())
        {
            // w_stat = 0: ∂L/∂X is the prior's alone and comes from a zeroed workspace tensor.
            Assert.Empty(StepAndCompare(Objective("box", 6, stationaryWeight: 0), net, X0, y, lam0, steps: 4, workspace));
            Assert.Empty(StepAndCompare(Objective("box", 6) with { LambdaWeight = 0, PriorWeight = 0 }, net, X0, y, lam0, steps: 4, workspace));
        }
    }

    [Fact]
    public void A_workspace_reused_with_another_m_width_or_dtype_gives_the_right_answer()
    {
        using var net = HomogeneousMlp.Create(new[] { 30, 20, 10, 1 }, seed: 11);
        using var other = HomogeneousMlp.Create(new[] { 30, 25, 1 }, seed: 12);
        var obj = Objective("box", 30);
        using var workspace = new TensorWorkspace();
        // m = 12, then 5 (every [m, ·] tensor shrinks), then 12 again, then another network, then float32.
        foreach (var (n, m, dtype) in new[] { (net, 12, ScalarType.Float64), (net, 5, ScalarType.Float64), (net, 12, ScalarType.Float64), (other, 7, ScalarType.Float64), (net, 12, ScalarType.Float32) })
        {
            using var netT = n.To(dtype);
            var (X0, y, lam0) = Inputs(m, 30, 20 + m);
            using (X0) using (y) using (lam0)
            {
                int before = workspace.Allocations;
                using var reused = obj.ValueAndGradient(netT, X0, y, lam0, workspace);
                Assert.Equal(dtype, reused.GradX.dtype);
                Assert.Equal(new long[] { m, 30 }, reused.GradX.shape);
                Assert.Equal(new long[] { m }, reused.GradLambda.shape);
                Assert.True(workspace.Allocations > before, "a new shape or dtype must replace the workspace's tensors");
                using var fresh = obj.ValueAndGradient(netT, X0, y, lam0);
                Assert.Empty(BitDifferences(fresh, reused));
                if (dtype != ScalarType.Float64) continue;
                // Against autograd (float64): the tolerances of AttackGradientTests.
                using var X = X0.clone().requires_grad_(true);
                using var lam = lam0.clone().requires_grad_(true);
                using var terms = obj.Terms(netT, X, y, lam);
                var grads = torch.autograd.grad(new[] { terms.Total }, new[] { X, lam });
                Assert.True(Math.Abs(reused.Terms.Total.ToDouble() - terms.Total.ToDouble()) <= 1e-12 * terms.Total.ToDouble());
                Assert.True(TestData.RelDiff(reused.GradX, grads[0]) <= 1e-10, $"m = {m}: ∂L/∂X relative difference {TestData.RelDiff(reused.GradX, grads[0]):E2}");
                Assert.True(TestData.RelDiff(reused.GradLambda, grads[1]) <= 1e-10, $"m = {m}: ∂L/∂λ relative difference {TestData.RelDiff(reused.GradLambda, grads[1]):E2}");
            }
        }
    }

    [Fact]
    public void The_bitwise_check_fails_for_a_perturbed_input_or_step()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 9, 1 }, seed: 11);
        var obj = Objective("box", 6);
        var (X0, y, lam0) = Inputs(9, 6, 12);
        using (X0) using (y) using (lam0)
        using (var workspace = new TensorWorkspace())
        {
            // One coordinate of one candidate moved by 1e-13 of its value: the gradients must differ in some bit.
            using var bumped = X0.clone();
            bumped[2, 3] = bumped[2, 3] * (1 + 1e-13);
            using var a = obj.ValueAndGradient(net, X0, y, lam0);
            using var b = obj.ValueAndGradient(net, bumped, y, lam0, workspace);
            Assert.Contains("∂L/∂X", BitDifferences(a, b));

            // The same with every step: a reused workspace whose stepping differs once (an extra 1e-13 step) is caught.
            var problems = new List<string>();
            using var Xa = X0.clone(); using var Xb = X0.clone();
            for (int t = 0; t < 3; t++)
            {
                using var fresh = obj.ValueAndGradient(net, Xa, y, lam0);
                using var reused = obj.ValueAndGradient(net, Xb, y, lam0, workspace);
                problems.AddRange(BitDifferences(fresh, reused));
                Xa.add_(fresh.GradX, alpha: -0.01);
                Xb.add_(reused.GradX, alpha: t == 1 ? -0.01 * (1 + 1e-13) : -0.01);
            }
            Assert.Contains("∂L/∂X", problems);
        }
    }

    [Fact]
    public void Gradients_from_a_workspace_survive_the_result_and_enclosing_dispose_scopes()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 9, 1 }, seed: 11);
        var obj = Objective("box", 6);
        var (X0, y, lam0) = Inputs(9, 6, 12);
        using (X0) using (y) using (lam0)
        using (var workspace = new TensorWorkspace())
        {
            Tensor gX;
            using (var scope = torch.NewDisposeScope())
            {
                var r = obj.ValueAndGradient(net, X0, y, lam0, workspace);
                gX = r.GradX;
                r.Dispose();
            }
            // The result and the scope are gone; the workspace's gradient is not, and the next call reuses it.
            Assert.False(gX.IsInvalid);
            using var again = obj.ValueAndGradient(net, X0, y, lam0, workspace);
            Assert.Same(gX, again.GradX);
            using var fresh = obj.ValueAndGradient(net, X0, y, lam0);
            Assert.True(TestData.Identical(fresh.GradX, gX));
        }
    }

    /// <summary>
    /// The attack step as it was before the workspace (commit b6bf870): every intermediate a new tensor from an
    /// out-of-place operation. Kept as the reference for the bitwise check; the box priors' closed form as
    /// <see cref="CandidatePrior"/> had it, any other prior through its public <see cref="CandidatePrior.ValueAndGradient(Tensor)"/>.
    /// </summary>
    static class OutOfPlace
    {
        public static (AttackLossTerms Terms, Tensor GradX, Tensor GradLambda) ValueAndGradient(AttackObjective obj, HomogeneousMlp net, Tensor X, Tensor y, Tensor lambda)
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var Xc = X.to(net.DType, net.Device).detach();
            long m = Xc.shape[0];
            var lam = lambda.detach().to(net.DType, net.Device);
            var yy = y.to(net.DType, net.Device);
            var zero = torch.zeros(Array.Empty<long>(), dtype: net.DType, device: net.Device);
            var gX = torch.zeros_like(Xc);
            var gL = torch.zeros_like(lam);
            var stat = zero;
            if (obj.StationaryWeight > 0)
            {
                var c = lam * yy / (double)m;
                var (st, gXs, gC) = Stationarity(net.Weights, Xc, c, obj.Alpha, obj.StationaryWeight);
                stat = st; gX = gXs; gL = gC.mul_(yy).div_((double)m);
            }
            var lamPen = zero;
            if (obj.LambdaWeight > 0)
            {
                var gap = (obj.LambdaMin - lam).relu_();
                lamPen = gap.square().sum().mul_(obj.LambdaPenaltyCoefficient);
                gL.add_(gap, alpha: -2 * obj.LambdaPenaltyCoefficient * obj.LambdaWeight);
            }
            var prior = zero;
            if (obj.PriorWeight > 0 && obj.Prior != CandidatePrior.None)
            {
                var (pv, gP) = obj.Prior switch
                {
                    BoxPrior box => Box(Xc - box.Bound, -box.Bound - Xc),
                    PixelBoxPrior pixel => Box(Xc - pixel.Upper, pixel.Lower - Xc),
                    var other => other.ValueAndGradient(Xc),
                };
                prior = pv;
                gX.add_(gP, alpha: obj.PriorWeight);
            }
            var total = stat * obj.StationaryWeight + lamPen * obj.LambdaWeight + prior * obj.PriorWeight;
            var terms = new AttackLossTerms { Total = total.MoveToOuterDisposeScope(), Stationary = stat.MoveToOuterDisposeScope(), Lambda = lamPen.MoveToOuterDisposeScope(), Prior = prior.MoveToOuterDisposeScope() };
            return (terms, gX.MoveToOuterDisposeScope(), gL.MoveToOuterDisposeScope());
        }

        static (Tensor, Tensor) Box(Tensor above, Tensor below)
        {
            above.relu_();
            below.relu_();
            return (above.square().sum() + below.square().sum(), (above - below).mul_(2));
        }

        static (Tensor Loss, Tensor GradX, Tensor GradC) Stationarity(IReadOnlyList<Tensor> W, Tensor X, Tensor c, double alpha, double weight)
        {
            int L = W.Count;
            long m = X.shape[0];
            var cc = c.unsqueeze(1);
            var a = new Tensor[L];
            var s = new Tensor[L - 1];
            a[0] = X;
            for (int k = 0; k < L - 1; k++)
            {
                var h = MatMul.Product(a[k], W[k].t());
                s[k] = h.mul(alpha).sigmoid_();
                a[k + 1] = h.relu_();
            }
            var delta = new Tensor[L];
            var u = new Tensor[L - 1];
            delta[L - 1] = torch.ones(m, 1, dtype: X.dtype, device: X.device);
            for (int k = L - 2; k >= 0; k--)
            {
                u[k] = k + 1 == L - 1 ? W[L - 1].expand(m, -1) : MatMul.Product(delta[k + 1], W[k + 1]);
                delta[k] = u[k] * s[k];
            }
            Tensor loss = torch.zeros(Array.Empty<long>(), dtype: X.dtype, device: X.device);
            var D = new Tensor[L];
            var Shat = new Tensor[L];
            for (int k = 0; k < L; k++)
            {
                D[k] = delta[k] * cc;
                var R = MatMul.AddProduct(W[k], D[k].t(), a[k], beta: 1, alpha: -1);
                loss = loss + R.square().sum();
                Shat[k] = R.mul_(-2 * weight);
            }
            var gC = torch.zeros(m, dtype: X.dtype, device: X.device);
            var gDelta = new Tensor[L];
            for (int k = 0; k < L; k++)
            {
                var gD = MatMul.Product(a[k], Shat[k].t());
                gC.add_((gD * delta[k]).sum(1));
                gDelta[k] = gD.mul_(cc);
            }
            var gH = new Tensor[L - 1];
            for (int k = 0; k < L - 1; k++)
            {
                if (k + 1 < L - 1) MatMul.AddProductInPlace(gDelta[k + 1], gDelta[k] * s[k], W[k + 1].t());
                var ds = s[k] - s[k].square();
                gH[k] = gDelta[k].mul_(u[k]).mul_(ds).mul_(alpha);
            }
            Tensor gA = MatMul.Product(D[L - 1], Shat[L - 1]);
            for (int k = L - 1; k >= 0; k--)
            {
                if (k < L - 1) MatMul.AddProductInPlace(gA, gH[k], W[k]);
                if (k == 0) break;
                gH[k - 1].addcmul_(gA, s[k - 1], value: 1);
                gA = MatMul.Product(D[k - 1], Shat[k - 1]);
            }
            return (loss, gA, gC);
        }
    }
}
