using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>Singular values and right singular directions of a data matrix, smallest first.</summary>
/// <param name="Values">σ ascending; when n &lt; d the d − n directions of the null space come first with σ = 0.</param>
/// <param name="Directions">Unit right singular vectors as rows, [count, d], in the order of <see cref="Values"/>.</param>
public sealed record SingularDirections(double[] Values, Tensor Directions) : IDisposable
{
    public void Dispose() => Directions.Dispose();
}

/// <summary>
/// Directions in input space that the lemmas move along: the orthogonal complement of span{x_i} (Theorem 4), the
/// smallest singular directions of the data matrix (Theorem 5), and margin-preserving directions u_A·ν = 0 (Lemma 3).
/// Everything is computed by an SVD in the dtype and on the device of the input.
/// </summary>
public static class Directions
{
    /// <summary>The default rank tolerance of an SVD, as in NumPy's matrix_rank: σ &gt; max(n, d)·ε_mach·σ_max counts.</summary>
    public static double DefaultRankTolerance(Tensor X, double sigmaMax) => Math.Max(X.shape[0], X.shape[1]) * 2.220446049250313e-16 * sigmaMax;

    static (Tensor S, Tensor Vh, int Rank) Svd(Tensor X, double? rankTolerance)
    {
        if (X.dim() != 2) throw new ArgumentException($"X must be a data matrix [n, d], got shape {LemmaMath.Shape(X)}.", nameof(X));
        if (!X.is_floating_point()) X = X.to(ScalarType.Float64);
        Numerics.CheckFinite(X, "X");
        var (U, S, Vh) = torch.linalg.svd(X, fullMatrices: true);
        U.Dispose();
        double sMax = S.numel() == 0 ? 0 : S.max().ToDouble();
        double tol = rankTolerance ?? DefaultRankTolerance(X, sMax);
        if (tol < 0) throw new ArgumentOutOfRangeException(nameof(rankTolerance), $"The rank tolerance must be non-negative, got {tol}.");
        int rank = LemmaMath.ToArray(S).Count(s => s > tol);
        return (S, Vh, rank);
    }

    /// <summary>Numerical rank of X [n, d]: the number of singular values above the rank tolerance.</summary>
    public static int Rank(Tensor X, double? rankTolerance = null)
    {
        using var scope = torch.NewDisposeScope();
        return Svd(X, rankTolerance).Rank;
    }

    /// <summary>An orthonormal basis of span{x_i} (rows of X), as rows [r, d].</summary>
    public static Tensor SpanBasis(Tensor X, double? rankTolerance = null)
    {
        using var scope = torch.NewDisposeScope();
        var (_, Vh, r) = Svd(X, rankTolerance);
        return Vh.narrow(0, 0, r).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// An orthonormal basis of the orthogonal complement of span{x_i}, as rows [d − r, d] (r the numerical rank).
    /// Empty ([0, d]) when the data span R^d — then Theorem 4's hypothesis span{x_i} ≠ R^d fails.
    /// </summary>
    public static Tensor OrthogonalComplement(Tensor X, double? rankTolerance = null)
    {
        using var scope = torch.NewDisposeScope();
        var (_, Vh, r) = Svd(X, rankTolerance);
        return Vh.narrow(0, r, Vh.shape[0] - r).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The orthogonal projector onto span{x_i}, [d, d] (P = V_rᵀ V_r).</summary>
    public static Tensor SpanProjector(Tensor X, double? rankTolerance = null)
    {
        using var scope = torch.NewDisposeScope();
        var B = SpanBasis(X, rankTolerance);
        return B.t().matmul(B).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The <paramref name="count"/> smallest singular values σ of X [n, d] with their unit right singular directions ν
    /// (‖Xν‖ = σ), ascending. For n &lt; d the null space of X contributes σ = 0. Theorem 5 uses the first one:
    /// max_i |x_i·ν| ≤ ‖Xν‖ = σ_min.
    /// </summary>
    public static SingularDirections SmallestSingular(Tensor X, int count = 1)
    {
        using var scope = torch.NewDisposeScope();
        var (S, Vh, _) = Svd(X, 0);
        int d = (int)Vh.shape[0];
        if (count < 1 || count > d) throw new ArgumentOutOfRangeException(nameof(count), $"count must be in 1..{d} (the input dimension), got {count}.");
        var s = LemmaMath.ToArray(S);
        var all = Enumerable.Range(0, d).Select(k => k < s.Length ? s[k] : 0.0).ToArray(); // σ for row k of Vh
        var order = Enumerable.Range(0, d).Reverse().Take(count).ToArray();
        var idx = torch.tensor(order.Select(k => (long)k).ToArray(), device: Vh.device);
        var dirs = Vh.index_select(0, idx).contiguous().MoveToOuterDisposeScope();
        return new SingularDirections(order.Select(k => all[k]).ToArray(), dirs);
    }

    /// <summary>
    /// The projection of ν onto the margin-preserving directions of the region of x, {ν: u_A·ν = 0}:
    /// ν − (u_A·ν / ‖u_A‖²) u_A (Lemma 3 needs u_A·ν = 0 to keep both halves on the margin). Returns ν unchanged when
    /// u_A = 0. The result may be zero (ν parallel to u_A).
    /// </summary>
    public static Tensor MarginPreserving(HomogeneousMlp net, Tensor x, Tensor nu)
    {
        using var scope = torch.NewDisposeScope();
        var v = LemmaMath.Direction(net, nu);
        var u = LinearRegion.EffectiveMap(net, LemmaMath.Point(net, x));
        var uu = u.dot(u);
        if (uu.ToDouble() == 0) return v.clone().MoveToOuterDisposeScope();
        return (v - u * (u.dot(v) / uu)).MoveToOuterDisposeScope();
    }

    /// <summary>A float64 direction with N(0, 1) entries in R^d from a seeded generator (a random ν for a split).</summary>
    public static Tensor Gaussian(long d, long seed)
    {
        if (d <= 0) throw new ArgumentOutOfRangeException(nameof(d), $"The dimension must be positive, got {d}.");
        return torch.randn(d, dtype: ScalarType.Float64, generator: new torch.Generator((ulong)seed));
    }

    /// <summary><see cref="MarginPreserving"/> scaled to unit length; throws when the projection is zero (ν parallel to u_A).</summary>
    public static Tensor UnitMarginPreserving(HomogeneousMlp net, Tensor x, Tensor nu)
    {
        var v = MarginPreserving(net, x, nu);
        using var norm = v.norm();
        if (norm.ToDouble() == 0) { v.Dispose(); throw new ArgumentException("nu is parallel to u_A: it has no margin-preserving component to normalise.", nameof(nu)); }
        using (v) return v / norm;
    }

    /// <summary>u_A·ν, the rate at which Φ changes along ν inside the region of x (0 for a margin-preserving ν).</summary>
    public static double MarginSlope(HomogeneousMlp net, Tensor x, Tensor nu)
    {
        using var scope = torch.NewDisposeScope();
        var v = LemmaMath.Direction(net, nu);
        var u = LinearRegion.EffectiveMap(net, LemmaMath.Point(net, x));
        return u.dot(v).ToDouble();
    }
}
