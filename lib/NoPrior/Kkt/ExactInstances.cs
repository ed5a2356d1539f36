using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Kkt;

/// <summary>A network θ with a weighted set on which θ satisfies the KKT conditions of (P) exactly (PAPER §4).</summary>
public sealed record ExactInstance(HomogeneousMlp Network, LabelledSet Set) : IDisposable
{
    public void Dispose() { Network.Dispose(); Set.Dispose(); }
}

/// <summary>
/// Exact KKT instances (PAPER §4), for showing the exact statements before trained networks' (ε, δ) versions.
/// </summary>
public static class ExactInstances
{
    /// <summary>
    /// Two-layer, one neuron per point, on pairwise obtuse data *(derived here, generalising PAPER §4)*: if
    /// x_i·x_j &lt; 0 for i ≠ j, the net w_j = x_j ‖x_j‖^{-3/2}, v_j = y_j ‖x_j‖^{-1/2} is exactly KKT with λ_j = 1/‖x_j‖
    /// and every margin 1 (neuron j is active on x_j only; w_j = λ_j y_j v_j x_j, v_j = λ_j y_j w_j·x_j,
    /// y_j v_j w_j·x_j = 1). Data: vertices s_i(e_i − 1/n) of a centred simplex in R^n (s_i ~ U[0.5, 2]) plus
    /// τ_i/√n·1 with τ_i ~ U[−tau, tau], which leaves the simplex's hyperplane so that the smallest singular value of X
    /// is of order tau; embedded in R^d (d ≥ n) and rotated by a random orthogonal Q (seeded). Labels alternate +1, −1.
    /// tau = 0 gives data spanning an (n−1)-dimensional subspace (Theorem 4's case); small tau &gt; 0 gives data that span
    /// R^n but lie close to that subspace (Theorem 5's case).
    /// </summary>
    public static ExactInstance ObtuseOneNeuronPerPoint(int n, int d, long seed, double tau = 0, bool rotate = true)
    {
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "Need at least two points.");
        if (d < n) throw new ArgumentOutOfRangeException(nameof(d), d, $"Need d ≥ n = {n}.");
        if (!(tau >= 0) || double.IsInfinity(tau)) throw new ArgumentOutOfRangeException(nameof(tau), tau, "tau must be finite and ≥ 0.");
        // Keep the obtuse angles: the offset adds τ_iτ_j/n to x_i·x_j = −s_i s_j/n, so tau < 0.5 suffices.
        if (tau >= 0.5) throw new ArgumentOutOfRangeException(nameof(tau), tau, "tau must be below 0.5 so the points stay pairwise obtuse.");
        var rng = new Random((int)seed);
        var X = new double[n, d];
        var taus = Enumerable.Range(0, n).Select(_ => tau * (2 * rng.NextDouble() - 1)).ToArray();
        for (int i = 0; i < n; i++)
        {
            double s = 0.5 + 1.5 * rng.NextDouble();
            for (int k = 0; k < n; k++) X[i, k] = s * ((i == k ? 1 : 0) - 1.0 / n) + taus[i] / Math.Sqrt(n);
        }
        var labels = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
        using var scope = torch.NewDisposeScope();
        var X0 = torch.tensor(X);
        Tensor Q;
        if (rotate)
        {
            using var gen = new Generator((ulong)(seed + 1000));
            var (q, _) = torch.linalg.qr(torch.randn(d, d, dtype: ScalarType.Float64, generator: gen));
            Q = q;
        }
        else Q = torch.eye(d, dtype: ScalarType.Float64);
        var Xr = X0.matmul(Q.t());
        var y = torch.tensor(labels, dtype: ScalarType.Float64);
        var norms = Xr.norm(1, true);
        var W = Xr / norms.pow(1.5);
        var v = (y / norms.squeeze(1).sqrt()).unsqueeze(0);
        var lambda = 1 / norms.squeeze(1);
        return new ExactInstance(new HomogeneousMlp(new[] { W, v }), new LabelledSet(Xr, y, lambda));
    }
}
