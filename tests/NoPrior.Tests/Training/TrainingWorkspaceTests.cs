using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using NoPrior.Training;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>
/// <see cref="ParameterGradients.Compute"/> and <see cref="ParameterGradients.WeightedSum"/> with a reused
/// <see cref="TensorWorkspace"/>, and <see cref="GradientDescent.Train"/> (which keeps one), against the same sweeps
/// without a workspace: the same bits (<see cref="TestData.Identical"/>). In the "MatMul settings" collection because the
/// tests switch <see cref="MatMul.Enabled"/>.
/// </summary>
[Collection("MatMul settings")]
public class TrainingWorkspaceTests
{
    public static IEnumerable<object[]> Cases()
    {
        foreach (var widths in new[] { new[] { 5, 8, 1 }, new[] { 6, 7, 5, 1 }, new[] { 4, 1 }, new[] { 40, 48, 32, 1 } })
            foreach (var act in new[] { "relu", "modified" })
                foreach (bool kernel in new[] { true, false })
                    yield return new object[] { widths, act, kernel };
    }

    static List<string> Differences(ParameterGradients a, ParameterGradients b, Tensor[] sa, Tensor[] sb)
    {
        var problems = new List<string>();
        for (int k = 0; k < a.Inputs.Length; k++)
        {
            if (!TestData.Identical(a.Inputs[k], b.Inputs[k])) problems.Add($"a_{k}");
            if (!TestData.Identical(a.Signals[k], b.Signals[k])) problems.Add($"δ_{k}");
            if (!TestData.Identical(a.PreActivations[k], b.PreActivations[k])) problems.Add($"h_{k}");
            if (!TestData.Identical(sa[k], sb[k])) problems.Add($"sum_{k}");
        }
        return problems;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sweeps_into_a_reused_workspace_are_bitwise_equal_to_sweeps_without_one(int[] widths, string act, bool kernel)
    {
        MatMul.Enabled = kernel;
        try
        {
            using var net = HomogeneousMlp.Create(widths, seed: 3);
            var activation = act == "relu" ? Activation.Relu : Activation.Modified(7);
            using var ws = new TensorWorkspace();
            int allocated = 0;
            // n = 30 twice (the second call reuses every tensor), then 11 (replaced), then a perturbed input must differ.
            foreach (var (n, seed) in new[] { (30, 4), (30, 5), (11, 6) })
            {
                using var X = TestData.Randn(seed, n, widths[0]);
                using var c = TestData.Randn(seed + 10, n);
                using var fresh = ParameterGradients.Compute(net, X, activation: activation);
                var freshSums = fresh.WeightedSum(c);
                using var reused = ParameterGradients.Compute(net, X, activation: activation, workspace: ws);
                var reusedSums = reused.WeightedSum(c, ws);
                Assert.Empty(Differences(fresh, reused, freshSums, reusedSums));
                foreach (var t in freshSums) t.Dispose();
                if (seed == 4) allocated = ws.Allocations;
                if (seed == 5) Assert.Equal(allocated, ws.Allocations);
                if (seed == 6) Assert.True(ws.Allocations > allocated);
            }

            using var X0 = TestData.Randn(4, 30, widths[0]);
            using var c0 = TestData.Randn(14, 30);
            using var bumped = X0.clone();
            bumped[1, 0] = bumped[1, 0] * (1 + 1e-13);
            using var a = ParameterGradients.Compute(net, X0, activation: activation);
            var sa = a.WeightedSum(c0);
            using var b = ParameterGradients.Compute(net, bumped, activation: activation, workspace: ws);
            var sb = b.WeightedSum(c0, ws);
            Assert.Contains("sum_0", Differences(a, b, sa, sb));
            foreach (var t in sa) t.Dispose();
        }
        finally { MatMul.Enabled = true; }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Training_with_its_workspace_is_bitwise_equal_to_the_same_steps_without_one(bool kernel)
    {
        MatMul.Enabled = kernel;
        try
        {
            using var net = HomogeneousMlp.Create(new[] { 50, 64, 64, 1 }, seed: 34);
            using var X = TestData.Randn(35, 60, 50) * 0.3;
            using var y = torch.tensor(Enumerable.Range(0, 60).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray());
            using var data = new LabelledSet(X, y);
            const int steps = 25;
            const double eta = 0.05;
            using var run = GradientDescent.Train(net, data, new TrainingSettings(steps, eta, LogEvery: 5));

            // Train's iteration without a workspace: new tensors every step, the same in-place update, and Train's thread
            // scope. (MatMul's backend is chosen per thread count; a fresh calibration on a loaded machine once chose the
            // AVX2 kernel for 2 threads and libtorch for 1, so this loop at 2 threads multiplied in another backend than
            // Train's 1-thread steps and the comparison failed for that reason alone.)
            var w = net.Weights.Select(t => t.clone()).ToArray();
            using var threads = Parallelism.ForStep(6.0 * 60 * net.ParameterCount, kernelProducts: MatMul.RunsInKernel(net.Device, net.DType, ProductCalibration.SizeOfLayers(net.Widths, 60)));
            for (int s = 0; s < steps; s++)
            {
                using var scope = torch.NewDisposeScope();
                using var g = ParameterGradients.Compute(net, X, w);
                var (_, dLoss) = GradientDescent.LossAndDerivative(y * g.Output, MarginLoss.Logistic);
                var grads = g.WeightedSum(dLoss * y / 60);
                for (int k = 0; k < w.Length; k++) w[k].add_(grads[k], alpha: -eta);
            }
            var moved = net.Weights.Zip(w).Any(p => !TestData.Identical(p.First, p.Second));
            Assert.True(moved, "training must move θ for the comparison to mean anything");
            for (int k = 0; k < w.Length; k++)
                Assert.True(TestData.Identical(run.Network.Weights[k], w[k]), $"layer {k} differs from the steps without a workspace");
            // And the comparison notices one step of a different size.
            w[0].add_(w[0], alpha: 1e-13);
            Assert.False(TestData.Identical(run.Network.Weights[0], w[0]));
            foreach (var t in w) t.Dispose();
        }
        finally { MatMul.Enabled = true; }
    }

    [Fact]
    public void A_workspace_is_refused_for_sweeps_that_autograd_must_record()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 8, 1 }, seed: 3);
        using var X = TestData.Randn(4, 6, 5).requires_grad_(true);
        using var ws = new TensorWorkspace();
        Assert.Throws<ArgumentException>(() => ParameterGradients.Compute(net, X, workspace: ws));
        using (torch.no_grad())
        {
            using var g = ParameterGradients.Compute(net, X, workspace: ws);
            Assert.Equal(new long[] { 6, 1 }, g.PreActivations[^1].shape);
        }
    }
}
