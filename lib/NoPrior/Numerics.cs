using static TorchSharp.torch;

namespace NoPrior;

/// <summary>Input checks and small statistics shared by the library and the notebooks.</summary>
public static class Numerics
{
    /// <summary>The median as the element of rank ⌊n/2⌋ of the sorted values (the upper median for even n).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        if (sorted.Length == 0) throw new ArgumentException("The median of no values is undefined.", nameof(values));
        return sorted[sorted.Length / 2];
    }

    /// <summary>
    /// Least-squares slope of log y against log x: the exponent p of a power law y ∝ x^p (e.g. split length against
    /// 1/σ_min in Theorem 5, where p = 1 is the predicted scaling). All values must be positive.
    /// </summary>
    public static double LogLogSlope(IEnumerable<double> x, IEnumerable<double> y)
    {
        var lx = x.ToArray(); var ly = y.ToArray();
        if (lx.Length != ly.Length) throw new ArgumentException($"x and y must have the same length, got {lx.Length} and {ly.Length}.");
        if (lx.Length < 2) throw new ArgumentException("A slope needs at least two points.");
        if (lx.Concat(ly).Any(v => !(v > 0) || double.IsInfinity(v))) throw new ArgumentException("A log-log slope needs positive, finite values.");
        var a = lx.Select(v => Math.Log(v)).ToArray(); var b = ly.Select(v => Math.Log(v)).ToArray();
        double ma = a.Average(), mb = b.Average();
        double sxx = a.Sum(v => (v - ma) * (v - ma));
        if (sxx == 0) throw new ArgumentException("All x values are equal; the slope is undefined.");
        return a.Zip(b, (u, v) => (u - ma) * (v - mb)).Sum() / sxx;
    }

    /// <summary>
    /// max|a − b| / max|b|: the relative deviation of <paramref name="a"/> from the reference <paramref name="b"/>
    /// (e.g. Φ(cθ; x) against c^L Φ(θ; x) for homogeneity). Both must be finite and of the same shape, b not all zero.
    /// </summary>
    public static double RelativeMaxDeviation(Tensor a, Tensor b)
    {
        CheckFinite(a, nameof(a)); CheckFinite(b, nameof(b));
        if (!a.shape.SequenceEqual(b.shape)) throw new ArgumentException($"a and b must have the same shape, got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        using var scale = b.abs().max();
        double s = scale.ToDouble();
        if (s == 0) throw new ArgumentException("b is all zeros; a relative deviation from it is undefined.", nameof(b));
        using var dev = (a - b).abs().max();
        return dev.ToDouble() / s;
    }

    /// <summary>Throws if <paramref name="t"/> contains NaN or ±∞.</summary>
    public static Tensor CheckFinite(Tensor t, string name)
    {
        using var finite = t.isfinite().all();
        if (!finite.ToBoolean()) throw new ArgumentException($"{name} contains NaN or infinite values.", name);
        return t;
    }
}
