using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class NetworkInputTests
{
    [Fact]
    public void Homogeneity_fails_for_a_network_with_biases()
    {
        // The same check as above, on Φ(x) = v·σ(Wx + b) + b₀: scaling every parameter by c gives c²(v·σ(Wx + b)) + c b₀,
        // not c²Φ. (A hidden bias alone would keep a two-layer net 2-homogeneous in (W, b, v); the output bias does not.)
        using var W = TestData.Randn(1, 6, 4); using var b = TestData.Randn(2, 6);
        using var v = TestData.Randn(3, 6); using var X = TestData.Randn(4, 5, 4);
        double b0 = 0.7;
        Func<double, Tensor> phi = c => (nn.functional.relu(X.matmul((c * W).t()) + c * b)).matmul(c * v) + c * b0;
        using var p1 = phi(1); using var p3 = phi(3);
        double rel = TestData.MaxAbs(p3 - 9 * p1) / TestData.MaxAbs(9 * p1);
        Assert.True(rel > 1e-3, $"a biased network looked homogeneous (rel {rel})");
        var ex = Assert.Throws<ArgumentException>(() => HomogeneousMlp.FromLayers(new (Tensor, Tensor?)[] { (W, b), (v.unsqueeze(0), null) }));
        Assert.Contains("Non-homogeneous network: layer 0 has a bias", ex.Message);
    }

    [Fact]
    public void Bad_inputs_get_clear_errors()
    {
        using var net = HomogeneousMlp.Create(new[] { 4, 3, 1 }, seed: 1);
        using var wrong = TestData.Randn(1, 5, 3);
        Assert.Contains("shape [n, 4]", Assert.Throws<ArgumentException>(() => net.Forward(wrong)).Message);
        using var X = TestData.Randn(1, 5, 4);
        using var y01 = torch.tensor(new double[] { 0, 1, 1, 0, 1 });
        Assert.Contains("only −1 and +1", Assert.Throws<ArgumentException>(() => net.Margins(X, y01)).Message);
        using var yShort = torch.tensor(new double[] { 1, -1 });
        Assert.Contains("vector of 5 labels", Assert.Throws<ArgumentException>(() => new LabelledSet(X, yShort)).Message);
        using var nan = X.clone(); nan[0, 0] = double.NaN;
        using var y = torch.tensor(new double[] { 1, -1, 1, -1, 1 });
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => new LabelledSet(nan, y)).Message);
        Assert.Contains("last width must be 1", Assert.Throws<ArgumentException>(() => HomogeneousMlp.Create(new[] { 4, 3, 2 }, 1)).Message);
        using var w0 = TestData.Randn(1, 3, 4); using var w1 = TestData.Randn(1, 1, 5);
        Assert.Contains("has 5 inputs", Assert.Throws<ArgumentException>(() => new HomogeneousMlp(new[] { w0, w1 })).Message);
    }

    [Fact]
    public void Same_seed_same_network_and_rescaling_gives_unit_margin()
    {
        using var a = HomogeneousMlp.Create(new[] { 6, 5, 1 }, seed: 42, MlpInit.SmallFirstLayer);
        using var b = HomogeneousMlp.Create(new[] { 6, 5, 1 }, seed: 42, MlpInit.SmallFirstLayer);
        using var c = HomogeneousMlp.Create(new[] { 6, 5, 1 }, seed: 43, MlpInit.SmallFirstLayer);
        Assert.True(a.Weights[0].eq(b.Weights[0]).all().ToBoolean() && a.Weights[1].eq(b.Weights[1]).all().ToBoolean());
        Assert.False(a.Weights[0].eq(c.Weights[0]).all().ToBoolean());
        Assert.True(a.Weights[0].std().ToDouble() < 3e-4);
        var (net, set) = TestData.OneNeuronPerPoint(3, 5, new double[] { 1, -1, 1 });
        using (net) using (set)
        {
            using var big = net.Scaled(2.0);
            Assert.Equal(4.0, big.MinMargin(set.X, set.Y), 12);
            using var back = big.RescaledToUnitMargin(set.X, set.Y);
            Assert.Equal(1.0, back.MinMargin(set.X, set.Y), 12);
            using var flipped = new LabelledSet(set.X, -set.Y);
            Assert.Contains("misclassified", Assert.Throws<InvalidOperationException>(() => net.RescaledToUnitMargin(flipped.X, flipped.Y)).Message);
        }
    }

    [Fact]
    public void Non_finite_weights_and_inputs_are_refused_naming_the_argument()
    {
        using var w0 = TestData.Randn(1, 3, 4); using var w1 = TestData.Randn(2, 1, 3);
        using var bad = w1.clone(); bad[0, 2] = double.NaN;
        Assert.Contains("layers.1.weight contains NaN", Assert.Throws<ArgumentException>(() => new HomogeneousMlp(new[] { w0, bad })).Message);
        using var inf = w0.clone(); inf[1, 1] = double.PositiveInfinity;
        Assert.Contains("layers.0.weight", Assert.Throws<ArgumentException>(() => new HomogeneousMlp(new[] { inf, w1 })).Message);
        using var net = new HomogeneousMlp(new[] { w0, w1 });
        using var X = TestData.Randn(3, 5, 4); X[2, 3] = double.NaN;
        using var y = torch.tensor(new double[] { 1, -1, 1, -1, 1 });
        Assert.Contains("X contains NaN", Assert.Throws<ArgumentException>(() => net.Forward(X)).Message);
        Assert.Contains("X contains NaN", Assert.Throws<ArgumentException>(() => net.Margins(X, y)).Message);
    }
}
