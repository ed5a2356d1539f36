using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>Small shared helpers of the lemma transforms: argument checks, copying to double[], rebuilding a set.</summary>
static class LemmaMath
{
    public static double[] ToArray(Tensor t)
    {
        using var c = t.detach().to(ScalarType.Float64, CPU).contiguous().reshape(-1);
        return c.data<double>().ToArray();
    }

    public static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    public static void CheckIndex(LabelledSet set, int i, string name)
    {
        if (i < 0 || i >= set.Count)
            throw new ArgumentOutOfRangeException(name, $"{name} = {i} is out of range: the set has {set.Count} points (indices 0..{set.Count - 1}).");
    }

    public static void CheckSet(HomogeneousMlp net, LabelledSet set, bool needLambda)
    {
        if (set.Dim != net.InputDim)
            throw new ArgumentException($"The set has points of dimension {set.Dim} but the network takes inputs of dimension {net.InputDim}.", nameof(set));
        if (needLambda && set.Lambda is null)
            throw new ArgumentException("The set carries no multipliers λ; fit them first (KktConditions.FitMultipliers) and attach them with WithLambda.", nameof(set));
    }

    /// <summary>A direction ν as a [d] vector on the network's device and dtype; refuses wrong shapes, non-finite and zero vectors.</summary>
    public static Tensor Direction(HomogeneousMlp net, Tensor nu, string name = "nu")
    {
        if (nu.dim() == 2 && nu.shape[0] == 1) nu = nu.squeeze(0);
        if (nu.dim() != 1 || nu.shape[0] != net.InputDim)
            throw new ArgumentException($"{name} must be a vector of length {net.InputDim} (the input dimension), got shape {Shape(nu)}.", name);
        Numerics.CheckFinite(nu, name);
        var v = nu.detach().to(net.DType, net.Device);
        if (v.norm().ToDouble() == 0) throw new ArgumentException($"{name} is the zero vector; a split or ray needs a nonzero direction.", name);
        return v;
    }

    /// <summary>A point x as a [d] vector on the network's device and dtype.</summary>
    public static Tensor Point(HomogeneousMlp net, Tensor x, string name = "x")
    {
        if (x.dim() == 2 && x.shape[0] == 1) x = x.squeeze(0);
        if (x.dim() != 1 || x.shape[0] != net.InputDim)
            throw new ArgumentException($"{name} must be a vector of length {net.InputDim} (the input dimension), got shape {Shape(x)}.", name);
        Numerics.CheckFinite(x, name);
        return x.detach().to(net.DType, net.Device);
    }

    public static void CheckLength(double value, string name)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, $"{name} must be a positive finite length, got {value}.");
    }

    /// <summary>
    /// The set with point <paramref name="at"/> replaced by the rows of <paramref name="newX"/> (labels, multipliers
    /// given), inserted in place, and point <paramref name="remove"/> (if any) dropped. The input is not modified.
    /// </summary>
    public static LabelledSet Replace(LabelledSet set, int at, Tensor newX, double[] newY, double[] newLambda, int? remove = null)
    {
        using var scope = torch.NewDisposeScope();
        long m = set.Count;
        int k = (int)newX.shape[0];
        var x = torch.cat(new[] { set.X, newX.to(set.X.dtype, set.X.device) });
        var y = torch.cat(new[] { set.Y, HostArrays.ToTensor(newY, dtype: set.Y.dtype, device: set.Y.device) });
        var lam = torch.cat(new[] { set.Lambda!, HostArrays.ToTensor(newLambda, dtype: set.Lambda!.dtype, device: set.Lambda.device) });
        var order = new List<long>();
        for (long r = 0; r < m; r++)
        {
            if (r == at) { for (int q = 0; q < k; q++) order.Add(m + q); }
            else if (remove is { } rm && r == rm) continue;
            else order.Add(r);
        }
        var idx = torch.tensor(order.ToArray(), device: set.X.device);
        return new LabelledSet(x.index_select(0, idx), y.index_select(0, idx), lam.index_select(0, idx));
    }
}
