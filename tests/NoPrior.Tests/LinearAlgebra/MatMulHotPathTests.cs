using System.Runtime.Intrinsics.X86;
using NoPrior.Attack;
using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>The library's hot paths with the kernel against the same paths in libtorch.</summary>
[Collection("MatMul settings")]
public class MatMulHotPathTests
{
    [Fact]
    public void Hand_derived_attack_gradient_through_the_kernel_equals_autograd() => MatMulTests.ForEachKernel(kernel =>
    {
        // Sizes above MatMul's thresholds, so every large product of ValueAndGradient runs in the kernel, while the
        // autograd path (products recorded by autograd) runs in libtorch.
        using var net = Networks.HomogeneousMlp.Create(new[] { 40, 48, 32, 1 }, seed: 31);
        int m = 40;
        var obj = Attack.AttackObjective.Reference with { Path = Attack.StationarityPath.Autograd };
        using var y = torch.tensor(Enumerable.Range(0, m).Select(k => k % 3 == 0 ? -1.0 : 1.0).ToArray());
        using var X0 = TestData.Randn(32, m, 40) * 0.3;
        using var lam0 = torch.rand(m, dtype: ScalarType.Float64, generator: new Generator(33));
        using var fused = obj.ValueAndGradient(net, X0, y, lam0);
        using var X = X0.detach().clone().requires_grad_(true);
        using var lam = lam0.detach().clone().requires_grad_(true);
        using var terms = obj.Terms(net, X, y, lam);
        var grads = torch.autograd.grad(new[] { terms.Total }, new[] { X, lam });
        double rel(Tensor p, Tensor q) { using var d = (p - q).norm(); using var s = q.norm(); return d.ToDouble() / s.ToDouble(); }
        Assert.True(Math.Abs(fused.Terms.Total.ToDouble() - terms.Total.ToDouble()) <= 1e-12 * terms.Total.ToDouble());
        Assert.True(rel(fused.GradX, grads[0]) <= 1e-10, $"∂L/∂X relative difference {rel(fused.GradX, grads[0]):E2}");
        Assert.True(rel(fused.GradLambda, grads[1]) <= 1e-10, $"∂L/∂λ relative difference {rel(fused.GradLambda, grads[1]):E2}");
    });

    [Fact]
    public void Training_with_the_kernel_follows_libtorch_to_rounding() => MatMulTests.ForEachKernel(backend =>
    {
        using var net = Networks.HomogeneousMlp.Create(new[] { 50, 64, 64, 1 }, seed: 34);
        using var X = TestData.Randn(35, 60, 50) * 0.3;
        using var y = torch.tensor(Enumerable.Range(0, 60).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray());
        using var data = new LabelledSet(X, y);
        var settings = new Training.TrainingSettings(50, 0.05, LogEvery: 10);
        using var kernel = Training.GradientDescent.Train(net, data, settings);
        MatMul.Enabled = false;
        Training.TrainingRun reference;
        try { reference = Training.GradientDescent.Train(net, data, settings); } finally { MatMul.Enabled = true; }
        using (reference)
        {
            using var a = kernel.Network.Flatten();
            using var b = reference.Network.Flatten();
            using var d = (a - b).norm();
            using var s = b.norm();
            using var start = net.Flatten();
            using var moved = (b - start).norm();
            Assert.True(moved.ToDouble() > 1e-2 * s.ToDouble(), "training must move θ for the comparison to mean anything");
            Assert.True(d.ToDouble() <= 1e-12 * s.ToDouble(), $"{backend}: θ differs by {d.ToDouble() / s.ToDouble():E2} relative");
        }
    });
}
