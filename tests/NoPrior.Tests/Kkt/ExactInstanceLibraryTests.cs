using NoPrior.Kkt;

namespace NoPrior.Tests;

public class ExactInstanceLibraryTests
{
    [Theory]
    [InlineData(6, 9, 2, 0.05)]
    [InlineData(20, 20, 0, 1e-3)]
    [InlineData(5, 8, 7, 0.0)]
    public void Obtuse_instance_is_exactly_kkt_with_unit_margins(int n, int d, int seed, double tau)
    {
        using var inst = ExactInstances.ObtuseOneNeuronPerPoint(n, d, seed, tau);
        var r = KktConditions.Diagnose(inst.Network, inst.Set);
        Assert.True(r.RelativeStationarity < 1e-14, $"relative stationarity {r.RelativeStationarity}");
        Assert.All(r.Margins, m => Assert.Equal(1.0, m, 12));
        Assert.True(r.DualViolation == 0 && r.Support.Length == n);
    }

    [Fact]
    public void Smallest_singular_value_scales_with_tau_and_bad_arguments_are_refused()
    {
        double S(double tau) { using var i = ExactInstances.ObtuseOneNeuronPerPoint(10, 10, 3, tau); return Lemmas.Directions.SmallestSingular(i.Set.X).Values[0]; }
        double a = S(1e-2), b = S(1e-4);
        Assert.InRange(a / b, 50, 200);
        Assert.True(S(0) < 1e-12);
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactInstances.ObtuseOneNeuronPerPoint(5, 4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExactInstances.ObtuseOneNeuronPerPoint(5, 5, 0, tau: 0.6));
    }
}
