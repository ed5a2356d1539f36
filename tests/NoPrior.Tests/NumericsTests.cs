using static TorchSharp.torch;

namespace NoPrior.Tests;

public class NumericsTests
{
    [Fact]
    public void Log_log_slope_recovers_power_laws_and_refuses_bad_input()
    {
        var x = new[] { 1.0, 10, 100, 1000 };
        Assert.Equal(1.0, Numerics.LogLogSlope(x, x.Select(v => 3 * v)), 12);
        Assert.Equal(-0.5, Numerics.LogLogSlope(x, x.Select(v => 2 / Math.Sqrt(v))), 12);
        // A flat series has slope 0, so a test of "grows like 1/σ" can fail.
        Assert.Equal(0.0, Numerics.LogLogSlope(x, x.Select(_ => 5.0)), 12);
        Assert.Throws<ArgumentException>(() => Numerics.LogLogSlope(x, new[] { 1.0, 2, 3 }));
        Assert.Throws<ArgumentException>(() => Numerics.LogLogSlope(x, new[] { 1.0, 2, 0, 4 }));
        Assert.Throws<ArgumentException>(() => Numerics.LogLogSlope(new[] { 2.0, 2.0 }, new[] { 1.0, 3.0 }));
    }

    [Fact]
    public void Median_is_the_element_of_rank_half_n()
    {
        Assert.Equal(3.0, Numerics.Median(new[] { 5.0, 1, 3 }));
        Assert.Equal(3.0, Numerics.Median(new[] { 4.0, 1, 3, 2 }));
        Assert.Throws<ArgumentException>(() => Numerics.Median(Array.Empty<double>()));
    }

    [Fact]
    public void Relative_max_deviation_is_max_abs_difference_over_max_abs_reference()
    {
        using var a = torch.tensor(new[] { 1.0, -2.5, 3.0 }); using var b = torch.tensor(new[] { 1.0, -2.0, 4.0 });
        Assert.Equal(1.0 / 4.0, Numerics.RelativeMaxDeviation(a, b), 15);
        using var zero = torch.zeros(3, dtype: ScalarType.Float64);
        Assert.Contains("all zeros", Assert.Throws<ArgumentException>(() => Numerics.RelativeMaxDeviation(a, zero)).Message);
        using var nan = b.clone(); nan[0] = double.NaN;
        Assert.Contains("b contains NaN", Assert.Throws<ArgumentException>(() => Numerics.RelativeMaxDeviation(a, nan)).Message);
        using var shorter = torch.ones(2, dtype: ScalarType.Float64);
        Assert.Contains("same shape", Assert.Throws<ArgumentException>(() => Numerics.RelativeMaxDeviation(a, shorter)).Message);
    }
}
