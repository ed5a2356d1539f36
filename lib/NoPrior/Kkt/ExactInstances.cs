using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Kkt;

/// <summary>
/// Networks and weighted sets that satisfy the KKT conditions of (P) exactly (PAPER §4), for showing the exact
/// statements of the lemmas; a trained network is only (ε, δ)-KKT.
/// </summary>
public static class ExactInstances
{
    /// <summary>
    /// k unit vectors in R^d that are pairwise obtuse, m_j·m_k = −1/(k−1) for j ≠ k: the vertices of a centred regular
    /// simplex, e_j − 1/k in R^k normalised, embedded in R^d (d ≥ k; for k = d + 1 the simplex is built in R^d directly
    /// — e.g. three directions 120° apart in the plane) and turned by a seeded random rotation. Rows of a [k, d] tensor.
    /// </summary>
    public static Tensor ObtuseDirections(int k, int d, long seed)
    {
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), k, "Need at least two directions.");
        if (k > d + 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"At most d + 1 = {d + 1} unit vectors in R^{d} can be pairwise obtuse with equal angles.");
        using var scope = torch.NewDisposeScope();
        var simplex = torch.eye(k, dtype: ScalarType.Float64) - 1.0 / k;            // rows sum to 0: rank k − 1
        // Coordinates in an orthonormal basis of the simplex's own span (dimension k − 1 ≤ d).
        var (_, _, Vh) = torch.linalg.svd(simplex, fullMatrices: false);
        var coords = simplex.matmul(Vh.narrow(0, 0, k - 1).t());                    // [k, k − 1]
        coords = coords / coords.norm(1, keepdim: true);
        var embedded = torch.zeros(k, d, dtype: ScalarType.Float64);
        embedded.narrow(1, 0, k - 1).copy_(coords);
        using var gen = new Generator((ulong)seed);
        var (Q, _) = torch.linalg.qr(torch.randn(d, d, dtype: ScalarType.Float64, generator: gen));
        return embedded.matmul(Q.t()).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Two-layer, one neuron per cluster *(derived here, generalising PAPER §4's one neuron per point)*. For unit,
    /// pairwise obtuse directions m_j (rows of <paramref name="directions"/>), cluster j has label y_j, multipliers
    /// λ_i ~ U(0.5, 1.5) with sum Λ_j, and points x_i = m_j/Λ_j + p_i with p_i ⊥ m_j and Σ_i λ_i p_i = 0
    /// (‖p_i‖ uniform in [0, <paramref name="spread"/>/Λ_j] before centring, so ‖p_i‖ ≤ 2·spread/Λ_j). The network w_j = √Λ_j m_j, v_j = y_j √Λ_j is then exactly
    /// KKT: neuron j is active on cluster j only, Σ_{i∈C_j} λ_i y_j v_j x_i = √Λ_j Σ λ_i x_i = √Λ_j m_j = w_j,
    /// Σ λ_i y_j σ(w_j·x_i) = y_j √Λ_j = v_j, and every margin is y_j v_j w_j·x_i = Λ_j/Λ_j = 1. All points of a
    /// cluster share one activation pattern, so Lemma 2 applies to every pair within a cluster.
    /// Throws if some point also activates another cluster's neuron (then use a smaller spread).
    /// </summary>
    public static (HomogeneousMlp Net, LabelledSet Set) OneNeuronPerCluster(Tensor directions, double[] labels, int perCluster, double spread, long seed)
    {
        if (directions.dim() != 2) throw new ArgumentException("directions must be [k, d].", nameof(directions));
        int k = (int)directions.shape[0], d = (int)directions.shape[1];
        if (labels.Length != k) throw new ArgumentException($"Need one label per direction ({k}), got {labels.Length}.", nameof(labels));
        if (labels.Any(y => y != 1 && y != -1)) throw new ArgumentException("Labels must be ±1.", nameof(labels));
        if (perCluster < 1) throw new ArgumentOutOfRangeException(nameof(perCluster), perCluster, "Need at least one point per cluster.");
        if (!(spread >= 0) || double.IsInfinity(spread)) throw new ArgumentOutOfRangeException(nameof(spread), spread, "spread must be non-negative and finite.");
        using var scope = torch.NewDisposeScope();
        var M = directions.to(ScalarType.Float64);
        M = M / M.norm(1, keepdim: true);
        using var gen = new Generator((ulong)seed);
        var xs = new List<Tensor>(); var ys = new List<double>(); var ls = new List<Tensor>();
        var W = new List<Tensor>(); var v = new double[k];
        for (int j = 0; j < k; j++)
        {
            var m = M[j];
            var lam = torch.rand(perCluster, dtype: ScalarType.Float64, generator: gen) + 0.5;
            double Lam = lam.sum().ToDouble();
            var p = torch.randn(perCluster, d, dtype: ScalarType.Float64, generator: gen);
            p = p - p.matmul(m).unsqueeze(1) * m.unsqueeze(0);                       // ⊥ m_j
            // Random directions ⊥ m_j with lengths uniform in [0, spread/Λ_j] (a fixed length would put every point of a
            // planar cluster at one of only two places).
            var r = torch.rand(perCluster, 1, dtype: ScalarType.Float64, generator: gen) * (spread / Lam);
            p = p / p.norm(1, keepdim: true).clamp_min(1e-300) * r;
            p = p - (lam.unsqueeze(1) * p).sum(0, keepdim: true) / Lam;               // Σ λ_i p_i = 0
            xs.Add(m.unsqueeze(0) / Lam + p);
            ls.Add(lam);
            ys.AddRange(Enumerable.Repeat(labels[j], perCluster));
            W.Add((m * Math.Sqrt(Lam)).unsqueeze(0));
            v[j] = labels[j] * Math.Sqrt(Lam);
        }
        var X = torch.cat(xs.ToArray());
        var Wt = torch.cat(W.ToArray());
        var pre = X.matmul(Wt.t());                                                   // [n, k]
        var owner = torch.arange(k).repeat_interleave(perCluster);
        var own = torch.nn.functional.one_hot(owner, k).to(ScalarType.Bool);
        double worst = pre.masked_fill(own, double.NegativeInfinity).max().ToDouble();
        if (!(worst < 0))
            throw new ArgumentException($"A point activates another cluster's neuron (largest foreign pre-activation {worst:G6} ≥ 0): the directions are not obtuse enough for spread = {spread}; use a smaller spread.", nameof(spread));
        var net = new HomogeneousMlp(new[] { Wt, torch.tensor(v, new long[] { 1, k }, ScalarType.Float64) });
        var set = new LabelledSet(X, torch.tensor(ys.ToArray(), dtype: ScalarType.Float64), torch.cat(ls.ToArray()));
        return (net, set);
    }
}
