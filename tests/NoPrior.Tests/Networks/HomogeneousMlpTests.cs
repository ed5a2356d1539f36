using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class HomogeneousMlpTests
{
    [Theory]
    [InlineData(new[] { 5, 7, 1 })]
    [InlineData(new[] { 6, 8, 4, 1 })]
    public void Homogeneity_holds_to_1e12(int[] widths)
    {
        using var net = HomogeneousMlp.Create(widths, seed: 1);
        using var X = torch.randn(10, widths[0], dtype: ScalarType.Float64, generator: new Generator(2));
        using var phi = net.Forward(X);
        foreach (var c in new[] { 0.3, 2.5, 17.0 })
        {
            using var scaled = net.Scaled(c);
            using var phiC = scaled.Forward(X);
            using var expected = phi * Math.Pow(c, net.Depth);
            double rel = (phiC - expected).abs().max().ToDouble() / expected.abs().max().ToDouble();
            Assert.True(rel < 1e-12, $"c={c}: relative deviation {rel}");
        }
    }
}
