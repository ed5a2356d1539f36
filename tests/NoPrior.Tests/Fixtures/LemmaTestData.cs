using NoPrior.Kkt;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>Exact KKT instances and random weighted sets for the lemma tests.</summary>
static class LemmaTestData
{
    /// <summary>A random orthogonal d × d matrix (QR of a Gaussian matrix, seeded).</summary>
    public static Tensor RandomRotation(int d, long seed) => ExactInstances.RandomRotation(d, seed);

    /// <summary>The obtuse-simplex exact instance (see <see cref="ExactInstances.ObtuseSimplex"/>).</summary>
    public static (HomogeneousMlp Net, LabelledSet Set) Obtuse(int n, int d, long seed, double tau = 0, bool rotate = true) =>
        ExactInstances.ObtuseSimplex(n, d, seed, tau, rotate);

    /// <summary>The one-neuron-per-point net for pairwise obtuse (or orthogonal) rows (see <see cref="ExactInstances.OneNeuronPerPoint"/>).</summary>
    public static (HomogeneousMlp Net, LabelledSet Set) OneNeuronPerPointNet(Tensor X, double[] labels) => ExactInstances.OneNeuronPerPoint(X, labels);

    /// <summary>
    /// Linear model Φ(w; x) = w·x at exact KKT: points x = y w/‖w‖² + p with p ⊥ w in a k-dimensional subspace, in
    /// pairs (p, −p) of equal label and equal λ, with Σλ = ‖w‖². Then Σ λ y x = w and every margin is 1.
    /// </summary>
    public static (HomogeneousMlp Net, LabelledSet Set) Linear(int d, int k, int pairs, long seed)
    {
        var rng = new Random((int)seed);
        using var Q = RandomRotation(d, seed + 7);
        using var basis = Q.narrow(0, 0, k);                                       // rows span the subspace
        using var c = TestData.Randn(seed + 1, k);
        using var w = c.matmul(basis);                                             // w in the subspace
        double ww = w.dot(w).ToDouble();
        var weights = Enumerable.Range(0, pairs).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        double total = 2 * weights.Sum();
        var xs = new List<Tensor>(); var ys = new List<double>(); var ls = new List<double>();
        for (int q = 0; q < pairs; q++)
        {
            double y = q % 2 == 0 ? 1 : -1;
            using var g = TestData.Randn(seed + 10 + q, k).matmul(basis);
            using var p = g - w * (g.dot(w) / ww);
            foreach (var sgn in new[] { 1.0, -1.0 })
            {
                xs.Add(w * (y / ww) + p * sgn);
                ys.Add(y); ls.Add(weights[q] / total * ww);
            }
        }
        using var X = torch.stack(xs);
        foreach (var x in xs) x.Dispose();
        using var yt = torch.tensor(ys.ToArray(), dtype: ScalarType.Float64);
        using var lt = torch.tensor(ls.ToArray(), dtype: ScalarType.Float64);
        using var W = w.unsqueeze(0);
        return (new HomogeneousMlp(new[] { W }), new LabelledSet(X, yt, lt));
    }

    /// <summary>
    /// A random weighted set for a random network (not a KKT set): clusters of nearby points (so that pairs share a
    /// pattern), labels y = sign Φ(x), each point rescaled along its ray to margin exactly 1 (positive scaling keeps the
    /// pattern of a homogeneous net), multipliers U(0.5, 1.5).
    /// </summary>
    public static LabelledSet RandomWeightedSet(HomogeneousMlp net, int clusters, int perCluster, long seed, double spread = 1e-2)
    {
        using var scope = torch.NewDisposeScope();
        var centres = TestData.Randn(seed, clusters, net.InputDim);
        var X = centres.repeat_interleave(perCluster, 0) + TestData.Randn(seed + 1, clusters * perCluster, net.InputDim) * spread;
        var phi = net.Forward(X);
        var y = phi.sign();
        var Xs = X / phi.abs().unsqueeze(1);
        var lambda = torch.rand(clusters * perCluster, dtype: ScalarType.Float64, generator: new Generator((ulong)seed + 2)) + 0.5;
        return new LabelledSet(Xs, y, lambda);
    }

    /// <summary>Σ_i λ_i y_i ∇_θΦ(x_i), one tensor per layer.</summary>
    public static Tensor[] StationaritySum(HomogeneousMlp net, LabelledSet set)
    {
        using var g = ParameterGradients.Compute(net, set.X);
        using var c = set.Lambda! * set.Y;
        return g.WeightedSum(c);
    }

    /// <summary>max over layers of ‖S_k − S'_k‖ / ‖θ‖.</summary>
    public static double SumChange(HomogeneousMlp net, LabelledSet a, LabelledSet b)
    {
        var sa = StationaritySum(net, a); var sb = StationaritySum(net, b);
        double worst = 0;
        for (int k = 0; k < sa.Length; k++) { using var d = sa[k] - sb[k]; worst = Math.Max(worst, d.norm().ToDouble()); }
        foreach (var t in sa.Concat(sb)) t.Dispose();
        return worst / net.Norm();
    }

    /// <summary>The first pair (i, j), i &lt; j, with the same label and pattern.</summary>
    public static (int I, int J)? SamePatternPair(HomogeneousMlp net, LabelledSet set)
    {
        using var P = net.ActivationPattern(set.X);
        for (int i = 0; i < set.Count; i++)
            for (int j = i + 1; j < set.Count; j++)
                if (set.Y[i].ToDouble() == set.Y[j].ToDouble() && P[i].eq(P[j]).all().ToBoolean()) return (i, j);
        return null;
    }

    /// <summary>The first pair with the same label and different patterns.</summary>
    public static (int I, int J)? DifferentPatternPair(HomogeneousMlp net, LabelledSet set)
    {
        using var P = net.ActivationPattern(set.X);
        for (int i = 0; i < set.Count; i++)
            for (int j = i + 1; j < set.Count; j++)
                if (set.Y[i].ToDouble() == set.Y[j].ToDouble() && !P[i].eq(P[j]).all().ToBoolean()) return (i, j);
        return null;
    }
}
