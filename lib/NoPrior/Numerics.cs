using static TorchSharp.torch;

namespace NoPrior;

/// <summary>Input checks shared by the library.</summary>
public static class Numerics
{
    /// <summary>Throws if <paramref name="t"/> contains NaN or ±∞.</summary>
    public static Tensor CheckFinite(Tensor t, string name)
    {
        using var finite = t.isfinite().all();
        if (!finite.ToBoolean()) throw new ArgumentException($"{name} contains NaN or infinite values.", name);
        return t;
    }
}
