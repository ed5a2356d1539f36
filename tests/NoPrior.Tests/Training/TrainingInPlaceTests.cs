using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class TrainingInPlaceTests
{
    [Fact]
    public void Training_updates_its_own_copy_in_place_and_keeps_checkpoints_and_the_input_network_intact()
    {
        using var net = HomogeneousMlp.Create(new[] { 5, 8, 1 }, seed: 1);
        using var before = net.Flatten();
        using var gen = new Generator(2);
        using var X = torch.randn(12, 5, dtype: ScalarType.Float64, generator: gen);
        using var y = torch.tensor(Enumerable.Range(0, 12).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray());
        using var data = new LabelledSet(X, y);
        using var run = NoPrior.Training.GradientDescent.Train(net, data, new NoPrior.Training.TrainingSettings(20, 0.5, Checkpoints: new[] { 0, 10 }, LogEvery: 5));
        using var after = net.Flatten();
        Assert.Equal(0.0, (after - before).abs().max().ToDouble());
        using var c0 = run.Checkpoints[0].Flatten();
        Assert.Equal(0.0, (c0 - before).abs().max().ToDouble());
        using var c10 = run.Checkpoints[10].Flatten();
        using var final = run.Network.Flatten();
        Assert.True((c10 - before).norm().ToDouble() > 1e-6 && (final - c10).norm().ToDouble() > 1e-6);

        // The same iteration written out: θ ← θ − η (1/n) Σ ℓ'(q_i) y_i ∇Φ(x_i).
        var w = net.Weights.Select(t => t.clone()).ToArray();
        for (int s = 0; s < 20; s++)
        {
            using var scope = torch.NewDisposeScope();
            using var cur = new HomogeneousMlp(w);
            using var g = ParameterGradients.Compute(cur, X);
            var (_, dl) = NoPrior.Training.GradientDescent.LossAndDerivative(y * g.Output, NoPrior.Training.MarginLoss.Logistic);
            var grads = g.WeightedSum(dl * y / 12);
            for (int k = 0; k < w.Length; k++) { var next = (w[k] - 0.5 * grads[k]).DetachFromDisposeScope(); w[k].Dispose(); w[k] = next; }
        }
        using var manual = new HomogeneousMlp(w);
        using var mf = manual.Flatten();
        Assert.True((mf - final).abs().max().ToDouble() <= 1e-13);
    }
}
