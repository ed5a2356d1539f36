using static TorchSharp.torch;

namespace NoPrior;

/// <summary>
/// A labelled, optionally weighted set S = {(x_k, y_k, λ_k)}: the training set, a candidate set of the attack, or a
/// set produced by a lemma transform. X is [m, d], Y is [m] with entries ±1, Lambda (if present) is [m] with the KKT
/// multipliers. In safetensors the tensors are named <c>x</c>, <c>y</c> and <c>lambda</c>.
/// </summary>
public sealed class LabelledSet : IDisposable
{
    public Tensor X { get; }
    public Tensor Y { get; }
    public Tensor? Lambda { get; }

    /// <summary>Checks shapes, labels and finiteness, and keeps float64 copies (on X's device).</summary>
    public LabelledSet(Tensor x, Tensor y, Tensor? lambda = null)
    {
        if (x.dim() != 2) throw new ArgumentException($"x must be a matrix [m, d], got shape [{string.Join(", ", x.shape)}].", nameof(x));
        long m = x.shape[0];
        Labels.Check(y, m, "y");
        Numerics.CheckFinite(x, "x");
        var dtype = x.is_floating_point() ? x.dtype : ScalarType.Float64;
        // The set owns its tensors (see HomogeneousMlp): detached from any enclosing dispose scope, freed by Dispose().
        X = x.detach().to(dtype).clone().DetachFromDisposeScope();
        Y = y.detach().to(dtype, x.device).clone().DetachFromDisposeScope();
        if (lambda is not null)
        {
            if (lambda.dim() != 1 || lambda.shape[0] != m)
                throw new ArgumentException($"lambda must be a vector of {m} multipliers (one per point), got shape [{string.Join(", ", lambda.shape)}].", nameof(lambda));
            Numerics.CheckFinite(lambda, "lambda");
            Lambda = lambda.detach().to(dtype, x.device).clone().DetachFromDisposeScope();
        }
    }

    /// <summary>Number of points m.</summary>
    public long Count => X.shape[0];
    /// <summary>Input dimension d.</summary>
    public long Dim => X.shape[1];

    /// <summary>The same points with new multipliers.</summary>
    public LabelledSet WithLambda(Tensor lambda) => new(X, Y, lambda);

    /// <summary>The points at the given indices (with their multipliers, if any).</summary>
    public LabelledSet Subset(long[] indices)
    {
        using var idx = torch.tensor(indices, device: X.device);
        using var x = X.index_select(0, idx);
        using var y = Y.index_select(0, idx);
        using var l = Lambda?.index_select(0, idx);
        return new LabelledSet(x, y, l);
    }

    /// <summary>Concatenation of two sets (both weighted or both unweighted).</summary>
    public LabelledSet Concat(LabelledSet other)
    {
        if (other.Dim != Dim) throw new ArgumentException($"Cannot concatenate sets of dimension {Dim} and {other.Dim}.");
        if ((Lambda is null) != (other.Lambda is null)) throw new ArgumentException("Cannot concatenate a weighted set with an unweighted one.");
        using var x = torch.cat(new[] { X, other.X });
        using var y = torch.cat(new[] { Y, other.Y });
        using var l = Lambda is null ? null : torch.cat(new[] { Lambda, other.Lambda! });
        return new LabelledSet(x, y, l);
    }

    public void Dispose() { X.Dispose(); Y.Dispose(); Lambda?.Dispose(); }
}
