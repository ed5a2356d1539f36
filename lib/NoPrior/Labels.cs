using static TorchSharp.torch;

namespace NoPrior;

/// <summary>Checks on binary labels y ∈ {−1, +1}.</summary>
public static class Labels
{
    /// <summary>Returns <paramref name="y"/> if it is a vector of n labels in {−1, +1}; otherwise throws naming the problem.</summary>
    public static Tensor Check(Tensor y, long n, string name = "y")
    {
        if (y.dim() != 1 || y.shape[0] != n)
            throw new ArgumentException($"{name} must be a vector of {n} labels (one per example), got shape [{string.Join(", ", y.shape)}].", name);
        using var yd = y.to(ScalarType.Float64);
        using var ok = yd.eq(1).logical_or(yd.eq(-1));
        if (!ok.all().ToBoolean())
        {
            using var bad = yd.masked_select(ok.logical_not());
            throw new ArgumentException($"{name} must contain only −1 and +1; found {bad[0].ToDouble()} (mismatched or 0/1 labels?).", name);
        }
        return y;
    }
}
