using static TorchSharp.torch;

namespace NoPrior.Metrics;

/// <summary>How a training image is compared with a candidate.</summary>
public enum DistanceKind
{
    /// <summary>Euclidean distance ‖a − b‖ (the reference's choice for MNIST).</summary>
    L2,
    /// <summary>1 − NCC(a, b), NCC the normalised cross-correlation (the reference's choice for CIFAR). Scale- and shift-invariant.</summary>
    NormalisedCrossCorrelation,
    /// <summary>1 − cos(a, b): invariant to the scale of either row (not to a shift). A zero row has cosine 0 with everything.</summary>
    Cosine,
}

/// <summary>Pairwise distance matrices between two sets of flattened images (rows).</summary>
public static class Distances
{
    /// <summary>D_ij = ‖a_i − b_j‖ for A [n, d] and B [m, d], [n, m] float64. Computed from the differences themselves
    /// (in row blocks), not from ‖a‖² + ‖b‖² − 2a·b, so that near-zero distances keep full relative precision.</summary>
    public static Tensor L2(Tensor A, Tensor B)
    {
        var (a, b) = Check(A, B);
        using var scope = torch.NewDisposeScope();
        long n = a.shape[0], m = b.shape[0], d = a.shape[1];
        long block = Math.Max(1, 20_000_000 / Math.Max(1, m * d));
        var parts = new List<Tensor>();
        for (long s = 0; s < n; s += block)
        {
            var rows = a.narrow(0, s, Math.Min(block, n - s));
            parts.Add((rows.unsqueeze(1) - b.unsqueeze(0)).norm(2));
        }
        return torch.cat(parts, 0).MoveToOuterDisposeScope();
    }

    /// <summary>NCC_ij = ⟨a_i − ā_i, b_j − b̄_j⟩ / (‖a_i − ā_i‖ ‖b_j − b̄_j‖) ∈ [−1, 1], [n, m], means over the coordinates of each row.
    /// A constant row has no direction; its correlation is defined as 0 (not NaN).</summary>
    public static Tensor NormalisedCrossCorrelation(Tensor A, Tensor B)
    {
        var (a, b) = Check(A, B);
        using var scope = torch.NewDisposeScope();
        var an = Standardise(a);
        var bn = Standardise(b);
        return an.matmul(bn.t()).clamp(-1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>cos_ij = ⟨a_i, b_j⟩ / (‖a_i‖ ‖b_j‖) ∈ [−1, 1], [n, m]. A zero row has no direction; its cosine is defined as 0.</summary>
    public static Tensor Cosine(Tensor A, Tensor B)
    {
        var (a, b) = Check(A, B);
        using var scope = torch.NewDisposeScope();
        return Unit(a).matmul(Unit(b).t()).clamp(-1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>D_ij = min_{c ≥ 0} ‖c·a_i − b_j‖ = ‖b_j‖·√(1 − max(cos_ij, 0)²): the distance from b_j to the ray through a_i,
    /// i.e. after the best non-negative rescaling of a_i. [n, m].</summary>
    public static Tensor ScaleInvariant(Tensor A, Tensor B)
    {
        var (a, b) = Check(A, B);
        using var scope = torch.NewDisposeScope();
        var cos = Cosine(a, b).clamp_min(0);
        return (b.norm(1).unsqueeze(0) * (1 - cos.square()).clamp_min(0).sqrt()).MoveToOuterDisposeScope();
    }

    /// <summary>The cost matrix for matching: ‖a_i − b_j‖, 1 − NCC_ij or 1 − cos_ij.</summary>
    public static Tensor Compute(Tensor A, Tensor B, DistanceKind kind)
    {
        if (kind == DistanceKind.L2) return L2(A, B);
        using var sim = kind == DistanceKind.Cosine ? Cosine(A, B) : NormalisedCrossCorrelation(A, B);
        return 1 - sim;
    }

    static Tensor Standardise(Tensor x) => Unit(x - x.mean(new long[] { 1 }, keepdim: true));

    static Tensor Unit(Tensor x)
    {
        var norm = x.norm(1, keepdim: true);
        return x / norm.clamp_min(1e-300) * norm.gt(0).to(x.dtype);
    }

    static (Tensor, Tensor) Check(Tensor A, Tensor B)
    {
        if (A.dim() != 2 || B.dim() != 2) throw new ArgumentException($"Both sets must be matrices of flattened images [n, d], got [{string.Join(", ", A.shape)}] and [{string.Join(", ", B.shape)}].");
        if (A.shape[1] != B.shape[1]) throw new ArgumentException($"Dimension mismatch: {A.shape[1]} vs {B.shape[1]}.");
        if (A.shape[0] == 0 || B.shape[0] == 0) throw new ArgumentException("Both sets must be non-empty.");
        return (A.to(ScalarType.Float64, B.device), B.to(ScalarType.Float64));
    }
}
