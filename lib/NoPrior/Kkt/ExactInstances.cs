using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Kkt;

/// <summary>A network θ with a weighted set on which θ satisfies the KKT conditions of (P) exactly (workbook-derived; docs/theory.md §3).</summary>
public sealed record ExactInstance(HomogeneousMlp Network, LabelledSet Set) : IDisposable
{
    public void Dispose() { Network.Dispose(); Set.Dispose(); }
}

/// <summary>
/// Networks and weighted sets that satisfy the KKT conditions of (P) exactly (workbook-derived; docs/theory.md §3), so the exact statements can be
/// checked to rounding error before they are measured on trained — only approximately KKT — networks.
/// </summary>
public static class ExactInstances
{
    /// <summary>
    /// Two-layer, one neuron per point, for rows x_j that are pairwise orthogonal or obtuse (x_i·x_j ≤ 0, i ≠ j):
    /// w_j = x_j ‖x_j‖^{-3/2}, v_j = y_j ‖x_j‖^{-1/2}, λ_j = 1/‖x_j‖. Neuron j is active on x_j only, every margin is 1,
    /// and stationarity holds: w_j = λ_j y_j v_j x_j, v_j = λ_j y_j σ(w_j·x_j). (Derived here; for x_i = e_i this is
    /// the basis-vector instance of docs/theory.md §3, w_j = x_j, v_j = y_j, λ_i = 1.)
    /// </summary>
    public static (HomogeneousMlp Net, LabelledSet Set) OneNeuronPerPoint(Tensor X, double[] labels)
    {
        if (X.dim() != 2 || X.shape[0] != labels.Length)
            throw new ArgumentException($"X must be [n, d] with one row per label ({labels.Length}), got [{string.Join(", ", X.shape)}].", nameof(X));
        using var gram = X.matmul(X.t());
        using var off = gram - torch.diag(gram.diag());
        if (off.max().ToDouble() > 1e-12 * gram.diag().max().ToDouble())
            throw new ArgumentException("The rows of X must be pairwise orthogonal or obtuse (x_i·x_j ≤ 0) for the one-neuron-per-point instance.", nameof(X));
        using var y = HostArrays.ToTensor(labels);
        using var norms = X.to(ScalarType.Float64).norm(1, true);
        using var W = X.to(ScalarType.Float64) / norms.pow(1.5);
        using var v = (y / norms.squeeze(1).sqrt()).unsqueeze(0);
        using var lambda = 1 / norms.squeeze(1);
        return (new HomogeneousMlp(new[] { W, v }), new LabelledSet(X, y, lambda));
    }

    /// <summary>The basis-vector instance of docs/theory.md §3: x_i = e_i in R^d (n ≤ d), w_j = x_j, v_j = y_j, λ_i = 1. Pre-activations are exactly 0 or 1.</summary>
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
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "Need at least two points.");
        if (d < n) throw new ArgumentOutOfRangeException(nameof(d), d, $"Need d ≥ n = {n}.");
        // The offset adds τ_iτ_j/n to x_i·x_j = −s_i s_j/n (s_i ≥ 0.5), so tau < 0.5 keeps the points pairwise obtuse.
        if (!(tau >= 0) || tau >= 0.5) throw new ArgumentOutOfRangeException(nameof(tau), tau, "tau must be in [0, 0.5) so the points stay pairwise obtuse.");
        var rng = new Random((int)seed);
        var X = new double[n, d];
        var taus = Enumerable.Range(0, n).Select(_ => tau * (2 * rng.NextDouble() - 1)).ToArray();
        for (int i = 0; i < n; i++)
        {
            double s = 0.5 + 1.5 * rng.NextDouble();
            for (int k = 0; k < n; k++) X[i, k] = s * ((i == k ? 1 : 0) - 1.0 / n) + taus[i] / Math.Sqrt(n);
        }
        var labels = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
        using var X0 = HostArrays.ToTensor(X);
        using var Q = rotate ? RandomRotation(d, seed + 1000) : torch.eye(d, dtype: ScalarType.Float64);
        using var Xr = X0.matmul(Q.t());
        return OneNeuronPerPoint(Xr, labels);
    }

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
        using var gen = RandomStreams.Generator(RandomRole.Data, seed);
        var (Q, _) = torch.linalg.qr(torch.randn(d, d, dtype: ScalarType.Float64, generator: gen));
        return embedded.matmul(Q.t()).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Two-layer, one neuron per cluster *(derived here, generalising the one-neuron-per-point instances of docs/theory.md §3)*. For unit,
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
        using var gen = RandomStreams.Generator(RandomRole.Data, seed);
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
        var net = new HomogeneousMlp(new[] { Wt, HostArrays.ToTensor(v, new long[] { 1, k }) });
        var set = new LabelledSet(X, HostArrays.ToTensor(ys.ToArray()), torch.cat(ls.ToArray()));
        return (net, set);
    }

    /// <summary>
    /// <see cref="ObtuseSimplex"/> as an <see cref="ExactInstance"/>: tau = 0 gives data spanning an (n−1)-dimensional
    /// subspace (Theorem 4's case); small tau &gt; 0 data that span R^n but lie close to that subspace, σ_min ~ tau
    /// (Theorem 5's case).
    /// </summary>
    public static ExactInstance ObtuseOneNeuronPerPoint(int n, int d, long seed, double tau = 0, bool rotate = true)
    {
        var (net, set) = ObtuseSimplex(n, d, seed, tau, rotate);
        return new ExactInstance(net, set);
    }

    /// <summary>A seeded random orthogonal d × d matrix (QR of a Gaussian matrix).</summary>
    public static Tensor RandomRotation(int d, long seed)
    {
        using var A = torch.randn(new long[] { d, d }, dtype: ScalarType.Float64, generator: RandomStreams.Generator(RandomRole.Data, seed));
        var (Q, R) = torch.linalg.qr(A);
        R.Dispose();
        return Q;
    }
}
