using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Kkt;

/// <summary>
/// Networks and weighted sets that satisfy the KKT conditions of (P) exactly (PAPER §4), so the exact statements can be
/// checked to rounding error before they are measured on trained — only approximately KKT — networks.
/// </summary>
public static class ExactInstances
{
    /// <summary>
    /// Two-layer, one neuron per point, for rows x_j that are pairwise orthogonal or obtuse (x_i·x_j ≤ 0, i ≠ j):
    /// w_j = x_j ‖x_j‖^{-3/2}, v_j = y_j ‖x_j‖^{-1/2}, λ_j = 1/‖x_j‖. Neuron j is active on x_j only, every margin is 1,
    /// and stationarity holds: w_j = λ_j y_j v_j x_j, v_j = λ_j y_j σ(w_j·x_j). (Derived here; for x_i = e_i this is
    /// PAPER §4's instance w_j = x_j, v_j = y_j, λ_i = 1.)
    /// </summary>
    public static (HomogeneousMlp Net, LabelledSet Set) OneNeuronPerPoint(Tensor X, double[] labels)
    {
        if (X.dim() != 2 || X.shape[0] != labels.Length)
            throw new ArgumentException($"X must be [n, d] with one row per label ({labels.Length}), got [{string.Join(", ", X.shape)}].", nameof(X));
        using var gram = X.matmul(X.t());
        using var off = gram - torch.diag(gram.diag());
        if (off.max().ToDouble() > 1e-12 * gram.diag().max().ToDouble())
            throw new ArgumentException("The rows of X must be pairwise orthogonal or obtuse (x_i·x_j ≤ 0) for the one-neuron-per-point instance.", nameof(X));
        using var y = torch.tensor(labels, dtype: ScalarType.Float64);
        using var norms = X.to(ScalarType.Float64).norm(1, true);
        using var W = X.to(ScalarType.Float64) / norms.pow(1.5);
        using var v = (y / norms.squeeze(1).sqrt()).unsqueeze(0);
        using var lambda = 1 / norms.squeeze(1);
        return (new HomogeneousMlp(new[] { W, v }), new LabelledSet(X, y, lambda));
    }

    /// <summary>PAPER §4 as stated: x_i = e_i in R^d (n ≤ d), w_j = x_j, v_j = y_j, λ_i = 1. Pre-activations are exactly 0 or 1.</summary>
    public static (HomogeneousMlp Net, LabelledSet Set) BasisVectors(int n, int d, double[] labels)
    {
        if (n > d) throw new ArgumentException($"Need n ≤ d basis vectors, got n = {n}, d = {d}.");
        using var X = torch.eye(n, d, dtype: ScalarType.Float64);
        return OneNeuronPerPoint(X, labels);
    }

    /// <summary>
    /// The obtuse instance on the vertices s_i(e_i − 1/n) of a centred simplex in R^n (pairwise inner products
    /// −s_i s_j/n), optionally lifted off the simplex's hyperplane by τ_i/√n·1 with |τ_i| ≤ <paramref name="tau"/>
    /// (then σ_min of the data ~ tau), embedded in R^d (d ≥ n) and rotated by a seeded random orthogonal matrix.
    /// Labels alternate +1, −1. With tau = 0 the data span an (n−1)-dimensional subspace.
    /// </summary>
    public static (HomogeneousMlp Net, LabelledSet Set) ObtuseSimplex(int n, int d, long seed, double tau = 0, bool rotate = true)
    {
        if (n < 2 || d < n) throw new ArgumentException($"Need 2 ≤ n ≤ d, got n = {n}, d = {d}.");
        var rng = new Random((int)seed);
        var X = new double[n, d];
        var taus = Enumerable.Range(0, n).Select(_ => tau * (2 * rng.NextDouble() - 1)).ToArray();
        for (int i = 0; i < n; i++)
        {
            double s = 0.5 + 1.5 * rng.NextDouble();
            for (int k = 0; k < n; k++) X[i, k] = s * ((i == k ? 1 : 0) - 1.0 / n) + taus[i] / Math.Sqrt(n);
        }
        var labels = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
        using var X0 = torch.tensor(X);
        using var Q = rotate ? RandomRotation(d, seed + 1000) : torch.eye(d, dtype: ScalarType.Float64);
        using var Xr = X0.matmul(Q.t());
        return OneNeuronPerPoint(Xr, labels);
    }

    /// <summary>A seeded random orthogonal d × d matrix (QR of a Gaussian matrix).</summary>
    public static Tensor RandomRotation(int d, long seed)
    {
        using var A = torch.randn(new long[] { d, d }, dtype: ScalarType.Float64, generator: new Generator((ulong)seed));
        var (Q, R) = torch.linalg.qr(A);
        R.Dispose();
        return Q;
    }
}
