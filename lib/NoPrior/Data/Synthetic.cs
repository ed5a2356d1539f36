using static TorchSharp.torch;

namespace NoPrior.Data;

/// <summary>Data confined to a k-dimensional subspace of R^d, with the orthonormal basis that spans it.</summary>
/// <param name="Set">The labelled points, X [n, d] float64.</param>
/// <param name="Basis">U [d, k] with orthonormal columns; every row of X lies in span(U).</param>
public sealed record SubspaceData(LabelledSet Set, Tensor Basis) : IDisposable
{
    public void Dispose() { Set.Dispose(); Basis.Dispose(); }
}

/// <summary>Data near a k-dimensional subspace: X = C Uᵀ + σ_min Z Vᵀ with CᵀZ = 0, so the singular values of X are
/// those of C together with σ_min repeated r − k times (r = min(n, d)).</summary>
/// <param name="Set">The labelled points, X [n, d] float64.</param>
/// <param name="Basis">U [d, k], orthonormal columns: the subspace the data lie near.</param>
/// <param name="Complement">V [d, r − k], orthonormal columns orthogonal to U: the directions of the small singular
/// values; each column ν is a right singular vector of X with singular value σ_min (the split direction of Theorem 5).</param>
/// <param name="SingularValues">The singular values of X actually achieved, [r] descending (computed by SVD of X).</param>
/// <param name="SigmaMin">The requested smallest singular value σ_min.</param>
public sealed record NearSubspaceData(LabelledSet Set, Tensor Basis, Tensor Complement, Tensor SingularValues, double SigmaMin) : IDisposable
{
    /// <summary>The achieved smallest singular value of X (last entry of <see cref="SingularValues"/>).</summary>
    public double AchievedSigmaMin => SingularValues[^1].ToDouble();
    public void Dispose() { Set.Dispose(); Basis.Dispose(); Complement.Dispose(); SingularValues.Dispose(); }
}

/// <summary>
/// Seeded float64 synthetic data sets. Every generator draws from the <see cref="RandomRole.Data"/> stream of
/// <c>seed</c> (<see cref="RandomStreams"/>), so the same arguments give the same numbers and the same seed given to a
/// network or an attack draws something unrelated.
/// </summary>
public static class Synthetic
{
    /// <summary>
    /// Experiment A's data: n points uniform on the unit sphere S^{d−1} ⊂ R^d (x = g/‖g‖, g ~ N(0, I_d)), labelled by
    /// the sign of the first coordinate, y_i = sign(x_i1) (+1 in the probability-zero case x_i1 = 0).
    /// The paper uses n = 500, d = 784.
    /// </summary>
    public static LabelledSet Sphere(int n, int d, long seed) => Sphere(n, d, seed, RandomRole.Data);

    /// <summary>A fresh sample of <see cref="Sphere(int, int, long)"/>'s distribution: n more points from the
    /// <see cref="RandomRole.FreshSample"/> stream of <paramref name="seed"/>, unrelated to the training points drawn with it.</summary>
    public static LabelledSet SphereFreshSample(int n, int d, long seed) => Sphere(n, d, seed, RandomRole.FreshSample);

    static LabelledSet Sphere(int n, int d, long seed, RandomRole role)
    {
        Positive(n, nameof(n)); Positive(d, nameof(d));
        Tensor x, y;
        using (var scope = torch.NewDisposeScope())
        {
            using var gen = RandomStreams.Generator(role, seed);
            var g = torch.randn(n, d, dtype: ScalarType.Float64, generator: gen);
            x = (g / g.norm(1, keepdim: true)).MoveToOuterDisposeScope();
            y = SignLabels(x[.., 0]).MoveToOuterDisposeScope();
        }
        return Owned(x, y);
    }

    /// <summary>
    /// n unit vectors in a random k-dimensional subspace of R^d: U [d, k] orthonormal (QR of a Gaussian matrix),
    /// x_i = U c_i with c_i uniform on S^{k−1}, labelled y_i = sign(c_i1) = sign(u_1·x_i). X has rank k (almost surely,
    /// needs n ≥ k) and span{x_i} ≠ R^d when k &lt; d, the hypothesis of Theorem 4.
    /// </summary>
    public static SubspaceData Subspace(int n, int d, int k, long seed)
    {
        Positive(n, nameof(n)); Positive(d, nameof(d)); Positive(k, nameof(k));
        if (k > d) throw new ArgumentOutOfRangeException(nameof(k), k, $"The subspace dimension k = {k} cannot exceed the ambient dimension d = {d}.");
        if (n < k) throw new ArgumentOutOfRangeException(nameof(n), n, $"n = {n} points cannot span a k = {k}-dimensional subspace; need n ≥ k.");
        Tensor x, y, basis;
        using (var scope = torch.NewDisposeScope())
        {
            using var gen = RandomStreams.Generator(RandomRole.Data, seed);
            basis = OrthonormalColumns(d, k, gen).MoveToOuterDisposeScope();
            var c = torch.randn(n, k, dtype: ScalarType.Float64, generator: gen);
            c = c / c.norm(1, keepdim: true);
            x = c.matmul(basis.t()).MoveToOuterDisposeScope();
            y = SignLabels(c[.., 0]).MoveToOuterDisposeScope();
        }
        return new SubspaceData(Owned(x, y), basis);
    }

    /// <summary>
    /// Data near a k-dimensional subspace with a controlled smallest singular value (Theorem 5's setting).
    /// With r = min(n, d): U [d, k] and V [d, r − k] are orthonormal and mutually orthogonal; C [n, k] has rows uniform
    /// on S^{k−1} (the in-subspace part, labels y_i = sign(c_i1)); Z [n, r − k] has orthonormal columns with CᵀZ = 0.
    /// Then X = C Uᵀ + σ_min Z Vᵀ has XᵀX = U CᵀC Uᵀ + σ_min² V Vᵀ, so its singular values are those of C and σ_min
    /// (r − k times), the right singular vectors of σ_min being the columns of V. Each point moves off the subspace by
    /// at most σ_min. If n &lt; d, X also misses d − n directions entirely (Theorem 4's case), which are not counted here.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Unless 1 ≤ k &lt; min(n, d), 0 &lt; σ_min finite, and σ_min below the
    /// smallest singular value of C (otherwise σ_min would not be the smallest).</exception>
    public static NearSubspaceData NearSubspace(int n, int d, int k, double sigmaMin, long seed)
    {
        Positive(n, nameof(n)); Positive(d, nameof(d)); Positive(k, nameof(k));
        int r = Math.Min(n, d);
        if (k >= r) throw new ArgumentOutOfRangeException(nameof(k), k, $"Need k < min(n, d) = {r} so that some singular value is small; got k = {k} (n = {n}, d = {d}).");
        if (!(sigmaMin > 0) || double.IsInfinity(sigmaMin)) throw new ArgumentOutOfRangeException(nameof(sigmaMin), sigmaMin, "sigmaMin must be positive and finite.");
        Tensor x, y, basis, complement, sv;
        using (var scope = torch.NewDisposeScope())
        {
            using var gen = RandomStreams.Generator(RandomRole.Data, seed);
            var q = OrthonormalColumns(d, r, gen);
            var c = torch.randn(n, k, dtype: ScalarType.Float64, generator: gen);
            c = c / c.norm(1, keepdim: true);
            double sk = torch.linalg.svdvals(c)[^1].ToDouble();
            if (!(sigmaMin < sk))
                throw new ArgumentOutOfRangeException(nameof(sigmaMin), sigmaMin, $"sigmaMin = {sigmaMin:G6} is not below the smallest in-subspace singular value {sk:G6}; it would not be the smallest singular value. Use a smaller sigmaMin or more points.");
            basis = q[.., ..k].contiguous().MoveToOuterDisposeScope();
            complement = q[.., k..].contiguous().MoveToOuterDisposeScope();
            // Z orthogonal to the columns of C: project a Gaussian matrix off span(C) twice (one pass loses orthogonality to
            // rounding when C is ill-conditioned), then orthonormalise.
            var (qc, _) = torch.linalg.qr(c);
            var z = torch.randn(n, r - k, dtype: ScalarType.Float64, generator: gen);
            for (int pass = 0; pass < 2; pass++) z = z - qc.matmul(qc.t().matmul(z));
            var (qz, _) = torch.linalg.qr(z);
            x = (c.matmul(basis.t()) + sigmaMin * qz.matmul(complement.t())).MoveToOuterDisposeScope();
            y = SignLabels(c[.., 0]).MoveToOuterDisposeScope();
            sv = torch.linalg.svdvals(x).MoveToOuterDisposeScope();
        }
        return new NearSubspaceData(Owned(x, y), basis, complement, sv, sigmaMin);
    }

    /// <summary>
    /// A 2-D toy set for pictures: <paramref name="nPerClass"/> points of each label in two Gaussian clouds (standard
    /// deviation <paramref name="spread"/>) centred at radius 2 in the directions 20° (y = +1) and 110° (y = −1).
    /// A bias-free ReLU network is positively homogeneous, so its decision regions are cones with apex at the origin;
    /// the clouds are therefore separated in angle (centres 90° apart; at three standard deviations a cloud spans about
    /// ±1.5·spread rad around its centre direction), not by an offset line.
    /// Rows: the +1 points first, then the −1 points.
    /// </summary>
    public static LabelledSet Toy2D(int nPerClass, long seed, double spread = 0.25)
    {
        Positive(nPerClass, nameof(nPerClass));
        if (!(spread >= 0) || spread > 0.5) throw new ArgumentOutOfRangeException(nameof(spread), spread, "spread must be in [0, 0.5] so that the clouds stay angularly separated and away from the origin.");
        Tensor x, y;
        using (var scope = torch.NewDisposeScope())
        {
            using var gen = RandomStreams.Generator(RandomRole.Data, seed);
            double a = 20 * Math.PI / 180, b = 110 * Math.PI / 180;
            var centres = HostArrays.ToTensor(new[] { 2 * Math.Cos(a), 2 * Math.Sin(a), 2 * Math.Cos(b), 2 * Math.Sin(b) }, new long[] { 2, 2 });
            var noise = torch.randn(2 * nPerClass, 2, dtype: ScalarType.Float64, generator: gen) * spread;
            x = (centres.repeat_interleave(nPerClass, 0) + noise).MoveToOuterDisposeScope();
            y = torch.cat(new[] { torch.ones(nPerClass, dtype: ScalarType.Float64), -torch.ones(nPerClass, dtype: ScalarType.Float64) }).MoveToOuterDisposeScope();
        }
        return Owned(x, y);
    }

    /// <summary>Q [d, k] with orthonormal columns: the Q factor of a d×k standard Gaussian matrix (Haar-distributed up to signs).</summary>
    static Tensor OrthonormalColumns(int d, int k, Generator gen)
    {
        var g = torch.randn(d, k, dtype: ScalarType.Float64, generator: gen);
        var (q, _) = torch.linalg.qr(g);
        return q;
    }

    /// <summary>y = sign(v) with sign(0) = +1 (a probability-zero event for continuous data).</summary>
    static Tensor SignLabels(Tensor v) => torch.where(v >= 0, 1.0, -1.0).to(ScalarType.Float64);

    /// <summary>A LabelledSet built outside any dispose scope (it keeps its own copies), disposing the inputs.</summary>
    static LabelledSet Owned(Tensor x, Tensor y)
    {
        using (x) using (y) return new LabelledSet(x, y);
    }

    static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, got {value}.");
    }
}
