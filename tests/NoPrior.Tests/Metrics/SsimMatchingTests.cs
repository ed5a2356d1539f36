using NoPrior.Metrics;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class SsimMatchingTests
{
    static Tensor Rand(long[] shape, ulong seed)
    {
        using var gen = new Generator(seed);
        return torch.rand(shape, dtype: ScalarType.Float64, generator: gen);
    }

    static double[,] ToArray(Tensor t)
    {
        var a = new double[t.shape[0], t.shape[1]];
        for (int i = 0; i < t.shape[0]; i++) for (int j = 0; j < t.shape[1]; j++) a[i, j] = t[i, j].ToDouble();
        return a;
    }

    static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1) { yield return items; yield break; }
        for (int i = 0; i < items.Length; i++)
            foreach (var rest in Permutations(items.Where((_, k) => k != i).ToArray()))
                yield return new[] { items[i] }.Concat(rest).ToArray();
    }

    /// <summary>Minimum over injective maps rows → columns (n ≤ m) by enumerating ordered column choices.</summary>
    static double BruteForceMin(double[,] c)
    {
        int n = c.GetLength(0), m = c.GetLength(1);
        double best = double.PositiveInfinity;
        foreach (var perm in Permutations(Enumerable.Range(0, m).ToArray()))
        {
            double s = 0;
            for (int i = 0; i < n; i++) s += c[i, perm[i]];
            best = Math.Min(best, s);
        }
        return best;
    }

    [Theory]
    [InlineData(5, 5)]
    [InlineData(4, 6)]
    [InlineData(6, 4)]
    [InlineData(1, 3)]
    public void Hungarian_equals_brute_force_and_greedy_is_never_better(int n, int m)
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            using var C = Rand(new long[] { n, m }, seed);
            var a = ToArray(C);
            var h = Matching.Hungarian(C);
            // Injective: no column twice; the number of paired rows is min(n, m).
            var used = h.Assignment.Where(j => j >= 0).ToArray();
            Assert.Equal(used.Length, used.Distinct().Count());
            Assert.Equal(Math.Min(n, m), used.Length);
            double brute = n <= m ? BruteForceMin(a) : BruteForceMin(ToArray(C.t()));
            Assert.True(Math.Abs(h.Total - brute) < 1e-12, $"seed {seed}: Hungarian {h.Total} vs brute force {brute}");
            var g = Matching.Greedy(C);
            Assert.True(g.Total >= h.Total - 1e-12);
        }
    }

    [Fact]
    public void Matching_recovers_a_known_permutation()
    {
        // Candidates are the training points permuted and slightly perturbed: every matching must undo the permutation.
        int n = 7;
        using var X = Rand(new long[] { n, 20 }, 1);
        int[] perm = { 3, 0, 6, 1, 5, 2, 4 };
        using var idx = torch.tensor(perm.Select(p => (long)p).ToArray());
        using var noise = Rand(new long[] { n, 20 }, 2) * 1e-3;
        using var cand = X.index_select(0, idx) + noise;
        // Training point perm[k] sits at candidate position k.
        var expected = new int[n];
        for (int k = 0; k < n; k++) expected[perm[k]] = k;
        foreach (var kind in new[] { DistanceKind.L2, DistanceKind.NormalisedCrossCorrelation })
        {
            using var D = Distances.Compute(X, cand, kind);
            Assert.Equal(expected, Matching.Hungarian(D).Assignment);
            Assert.Equal(expected, Matching.Greedy(D).Assignment);
            Assert.Equal(expected, Matching.NearestNeighbour(D).Assignment);
        }
    }

    [Fact]
    public void Many_to_one_reuses_a_candidate_where_one_to_one_cannot()
    {
        // Two training points near the same candidate: many-to-one gives both to candidate 0; Hungarian must split them.
        using var C = torch.tensor(new double[] { 0.1, 0.5, 0.2, 0.9 }).reshape(2, 2);
        Assert.Equal(new[] { 0, 0 }, Matching.NearestNeighbour(C).Assignment);
        Assert.Equal(1, Matching.NearestNeighbour(C).DistinctColumns);
        Assert.Equal(new[] { 1, 0 }, Matching.Hungarian(C).Assignment); // 0.5 + 0.2 = 0.7 < 0.1 + 0.9
        Assert.Equal(new[] { 0, -1 }.Length, Matching.Greedy(C).Assignment.Length);
        Assert.Equal(new[] { 0, 1 }, Matching.Greedy(C).Assignment); // greedy takes 0.1 first, then is stuck with 0.9
    }

    [Fact]
    public void Distances_match_definitions()
    {
        using var A = torch.tensor(new double[] { 1, 2, 3, 0, 0, 1 }).reshape(2, 3);
        using var B = torch.tensor(new double[] { 2, 4, 6, 1, 1, 1, 3, 2, 1 }).reshape(3, 3);
        using var L2 = Distances.L2(A, B);
        Assert.Equal(Math.Sqrt(1 + 4 + 9), L2[0, 0].ToDouble(), 14);
        Assert.Equal(Math.Sqrt(1 + 1 + 0), L2[1, 1].ToDouble(), 14);
        using var ncc = Distances.NormalisedCrossCorrelation(A, B);
        Assert.Equal(1.0, ncc[0, 0].ToDouble(), 14);   // B_0 = 2 A_0
        Assert.Equal(-1.0, ncc[0, 2].ToDouble(), 14);  // (3,2,1) is (1,2,3) reversed: centred vectors opposite
        Assert.Equal(0.0, ncc[0, 1].ToDouble());       // constant row: defined as 0
        // (0,0,1) centred = (−1/3, −1/3, 2/3); (3,2,1) centred = (1, 0, −1): ⟨·,·⟩ = −1, norms √(2/3) and √2.
        Assert.Equal(-1 / (Math.Sqrt(2.0 / 3) * Math.Sqrt(2)), ncc[1, 2].ToDouble(), 14);
        Assert.Contains("Dimension mismatch", Assert.Throws<ArgumentException>(() => Distances.L2(A, torch.zeros(2, 4))).Message);
    }

    [Fact]
    public void Ssim_of_identical_images_is_one_and_dssim_zero()
    {
        using var img = Rand(new long[] { 3, 1, 8, 8 }, 4);
        foreach (var pad in new[] { SsimPadding.Reflect, SsimPadding.Zero, SsimPadding.Valid })
        {
            var opt = new SsimOptions(Padding: pad);
            using var s = Ssim.Compute(img, img, opt);
            Assert.True((s - 1).abs().max().ToDouble() < 1e-12, $"{pad}: {s.str()}");
            using var ds = Ssim.Dssim(img, img, opt);
            Assert.True(ds.abs().max().ToDouble() < 1e-12);
        }
        using var other = Rand(new long[] { 3, 1, 8, 8 }, 5);
        using var s2 = Ssim.Compute(img, other);
        Assert.True(s2.max().ToDouble() < 0.9, "different random images must not score ≈ 1");
    }

    /// <summary>SSIM written out with explicit loops, window and reflect indexing, independent of the conv2d implementation.</summary>
    static double SsimByLoops(double[,] x, double[,] y, int k, double sigma, bool reflect, double L = 1)
    {
        int H = x.GetLength(0), W = x.GetLength(1), p = k / 2;
        var g = new double[k]; double gs = 0;
        for (int a = 0; a < k; a++) { g[a] = Math.Exp(-(a - p) * (a - p) / (2 * sigma * sigma)); gs += g[a]; }
        double c1 = 0.01 * L * 0.01 * L, c2 = 0.03 * L * 0.03 * L;
        int Reflect(int i, int n) => i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
        double total = 0; int count = 0;
        int lo = reflect ? 0 : p, hiH = reflect ? H : H - p, hiW = reflect ? W : W - p;
        for (int r = lo; r < hiH; r++)
            for (int c = lo; c < hiW; c++)
            {
                double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                for (int a = 0; a < k; a++)
                    for (int b = 0; b < k; b++)
                    {
                        double w = g[a] * g[b] / (gs * gs);
                        int rr = Reflect(r + a - p, H), cc = Reflect(c + b - p, W);
                        mx += w * x[rr, cc]; my += w * y[rr, cc];
                        xx += w * x[rr, cc] * x[rr, cc]; yy += w * y[rr, cc] * y[rr, cc]; xy += w * x[rr, cc] * y[rr, cc];
                    }
                double vx = xx - mx * mx, vy = yy - my * my, cxy = xy - mx * my;
                total += (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count++;
            }
        return total / count;
    }

    [Fact]
    public void Ssim_matches_a_hand_computed_value_on_a_single_window()
    {
        // One 3×3 window, σ = 1.5, valid region: a single term of the formula. x is a ramp, y = x with one pixel changed.
        var x = new double[,] { { 0.0, 0.1, 0.2 }, { 0.3, 0.4, 0.5 }, { 0.6, 0.7, 0.8 } };
        var y = new double[,] { { 0.0, 0.1, 0.2 }, { 0.3, 0.9, 0.5 }, { 0.6, 0.7, 0.8 } };
        // By hand: g = (e^{−1/4.5}, 1, e^{−1/4.5}) normalised; w = g gᵀ. μ_x = 0.4 by symmetry of the ramp.
        double e = Math.Exp(-1 / 4.5), s = 1 + 2 * e;
        double wc = 1 / (s * s);                      // centre weight
        double muX = 0.4, muY = 0.4 + wc * 0.5;
        double ex2 = 0;
        for (int a = 0; a < 3; a++) for (int b = 0; b < 3; b++) ex2 += (a == 1 ? 1 : e) * (b == 1 ? 1 : e) / (s * s) * x[a, b] * x[a, b];
        double vx = ex2 - muX * muX;
        double ey2 = ex2 + wc * (0.9 * 0.9 - 0.4 * 0.4);   // only the centre pixel changed, 0.4 → 0.9
        double vy = ey2 - muY * muY;
        double exy = ex2 + wc * (0.4 * 0.9 - 0.4 * 0.4);
        double cxy = exy - muX * muY;
        double c1 = 1e-4, c2 = 9e-4;
        double hand = (2 * muX * muY + c1) * (2 * cxy + c2) / ((muX * muX + muY * muY + c1) * (vx + vy + c2));
        using var tx = torch.tensor(x.Cast<double>().ToArray()).reshape(3, 3);
        using var ty = torch.tensor(y.Cast<double>().ToArray()).reshape(3, 3);
        using var lib = Ssim.Compute(tx, ty, new SsimOptions(Padding: SsimPadding.Valid));
        Assert.Equal(hand, lib.ToDouble(), 13);
        Assert.Equal(hand, SsimByLoops(x, y, 3, 1.5, reflect: false), 13);
        Assert.True(hand < 0.99 && hand > 0, $"a non-trivial value, got {hand}");
        using var ds = Ssim.Dssim(tx, ty, new SsimOptions(Padding: SsimPadding.Valid));
        Assert.Equal((1 - hand) / 2, ds.ToDouble(), 13);
    }

    [Theory]
    [InlineData(3, 1.5, true)]
    [InlineData(5, 1.0, true)]
    [InlineData(5, 1.5, false)]
    public void Ssim_matches_an_independent_loop_implementation(int k, double sigma, bool reflect)
    {
        using var a = Rand(new long[] { 7, 9 }, 11);
        using var noise = Rand(new long[] { 7, 9 }, 12);
        using var b = (a * 0.7 + noise * 0.3);
        var opt = new SsimOptions(WindowSize: k, Sigma: sigma, Padding: reflect ? SsimPadding.Reflect : SsimPadding.Valid);
        using var lib = Ssim.Compute(a, b, opt);
        Assert.Equal(SsimByLoops(ToArray(a), ToArray(b), k, sigma, reflect), lib.ToDouble(), 12);
    }

    [Fact]
    public void Pairwise_ssim_agrees_with_per_pair_ssim()
    {
        using var A = Rand(new long[] { 3, 1, 6, 6 }, 61);
        using var B = Rand(new long[] { 2, 1, 6, 6 }, 62);
        using var P = Ssim.Pairwise(A, B);
        Assert.Equal(new long[] { 3, 2 }, P.shape);
        using var s21 = Ssim.Compute(A[2], B[1]);
        Assert.Equal(s21.ToDouble(), P[2, 1].ToDouble(), 14);
    }

    [Fact]
    public void Ssim_bad_inputs_give_clear_errors()
    {
        using var a = torch.zeros(4, 4, dtype: ScalarType.Float64);
        using var b = torch.zeros(5, 5, dtype: ScalarType.Float64);
        Assert.Contains("same shape", Assert.Throws<ArgumentException>(() => Ssim.Compute(a, b)).Message);
        Assert.Contains("odd", Assert.Throws<ArgumentOutOfRangeException>(() => Ssim.Compute(a, a, new SsimOptions(WindowSize: 4))).Message);
        Assert.Contains("does not fit", Assert.Throws<ArgumentException>(() => Ssim.Compute(a, a, new SsimOptions(WindowSize: 5, Padding: SsimPadding.Valid))).Message);
    }

    [Fact]
    public void Blend_fit_recovers_a_planted_non_negative_combination()
    {
        using var train = Rand(new long[] { 6, 30 }, 51);
        // r = 0.3 t_1 + 0.7 t_4: the merge lemma's x_{1.5} with λ-weights (0.3, 0.7).
        using var r = train[1] * 0.3 + train[4] * 0.7;
        var fit = BlendFit.Fit(r, train, k: 3);
        var w = fit.Neighbours.Zip(fit.Weights).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal(0.3, w[1], 10);
        Assert.Equal(0.7, w[4], 10);
        Assert.True(fit.Residual < 1e-10, $"residual {fit.Residual}");
        Assert.True(fit.NearestResidual > 0.1, "a single image does not explain a blend");
        Assert.Equal(2, fit.EffectiveCount());
        // The non-negativity constraint binds: for r = t_1 − t_4 no blend of the neighbours fits exactly.
        using var r2 = train[1] - train[4] * 0.5;
        var fit2 = BlendFit.Fit(r2, train, k: 3);
        Assert.All(fit2.Weights, x => Assert.True(x >= 0));
        Assert.True(fit2.Residual > 1e-3);
        var df = BlendFit.FitAll(torch.stack(new[] { r, r2 }), train, 3);
        Assert.Equal(2, df.Rows.Count);
    }
}
