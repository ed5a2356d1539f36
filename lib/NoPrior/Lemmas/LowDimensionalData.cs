using NoPrior.Kkt;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>
/// Split freedom along the smallest singular direction ν of the data matrix (Theorem 5). Per point x_i:
/// <see cref="Measured"/> is the exact pattern-preserving half-length min(α_max, β_max) of x_i ± tν;
/// <see cref="Bound"/> the derived lower bound min_j |w_j·x_i| / (|v_j| ‖λ‖₁ σ_min) (two-layer nets, valid at exact
/// KKT; NaN for other depths); <see cref="BoundWithResidual"/> the same with the stationarity residual r of the first
/// layer added, min_j |w_j·x_i| / (|v_j| ‖λ‖₁ σ_min + ‖r_j‖), valid at any θ (used for trained networks and to
/// absorb rounding). Plot <see cref="MeasuredMin"/> and <see cref="BoundMin"/> against <see cref="InverseSigma"/>.
/// </summary>
public sealed record SplitFreedom(double Sigma, Tensor Direction, double LambdaL1, double[] Measured, double[] Bound, double[] BoundWithResidual) : IDisposable
{
    /// <summary>1/σ_min, the scale Theorem 5 predicts for the split length.</summary>
    public double InverseSigma => 1 / Sigma;
    public double MeasuredMin => Measured.DefaultIfEmpty(double.NaN).Min();
    public double BoundMin => Bound.DefaultIfEmpty(double.NaN).Min();
    public double BoundWithResidualMin => BoundWithResidual.DefaultIfEmpty(double.NaN).Min();
    public void Dispose() => Direction.Dispose();
}

/// <summary>
/// Theorem 5 (approximately low-dimensional data). *(derived bound)* For a two-layer net Φ = Σ_j v_j σ(w_j·x) at exact
/// KKT, w_j = v_j Σ_i λ_i y_i 1[w_j·x_i &gt; 0] x_i, so for a unit ν, |w_j·ν| ≤ |v_j| ‖λ‖₁ max_i |x_i·ν| ≤ |v_j| ‖λ‖₁ ‖Xν‖,
/// which is |v_j| ‖λ‖₁ σ_min for the smallest right singular direction. Hence x_i + tν keeps its pattern while
/// |t| &lt; min_j |w_j·x_i| / (|v_j| ‖λ‖₁ σ_min): the split length grows like 1/σ_min.
/// </summary>
public static class LowDimensionalData
{
    /// <summary>
    /// Measured split lengths and the derived bound along the <paramref name="which"/>-th smallest singular direction
    /// (0 = σ_min) of the set's data matrix. Uses the set's multipliers (fits them by NNLS if it has none).
    /// </summary>
    public static SplitFreedom Measure(HomogeneousMlp net, LabelledSet set, int which = 0)
    {
        LemmaMath.CheckSet(net, set, needLambda: false);
        if (which < 0 || which >= set.Dim) throw new ArgumentOutOfRangeException(nameof(which), $"which must be in 0..{set.Dim - 1}, got {which}.");
        using var scope = torch.NewDisposeScope();
        var X = set.X.to(net.DType, net.Device);
        using var sd = Directions.SmallestSingular(X, which + 1);
        double sigma = sd.Values[which];
        var nu = sd.Directions[which].to(net.DType, net.Device);
        var lambda = set.Lambda?.to(net.DType, net.Device) ?? KktConditions.FitMultipliers(net, set);
        using var weighted = new LabelledSet(set.X, set.Y, lambda);
        double l1 = lambda.abs().sum().ToDouble();
        int n = (int)set.Count;
        var measured = new double[n];
        for (int i = 0; i < n; i++) measured[i] = LinearRegion.PatternPreservingInterval(net, X[i], nu).Symmetric;
        var bound = Enumerable.Repeat(double.NaN, n).ToArray();
        var boundR = Enumerable.Repeat(double.NaN, n).ToArray();
        if (net.Depth == 2)
        {
            var residual = KktConditions.StationarityResidual(net, weighted, lambda);
            var r = LemmaMath.ToArray(residual[0].square().sum(1).sqrt());        // ‖r_j‖ per hidden unit
            var v = LemmaMath.ToArray(net.Weights[1]);                              // v_j
            var H = X.matmul(net.Weights[0].t());                                   // w_j·x_i, [n, h]
            int h = v.Length;
            var hv = LemmaMath.ToArray(H);
            for (int i = 0; i < n; i++)
            {
                double b = double.PositiveInfinity, bR = double.PositiveInfinity;
                for (int j = 0; j < h; j++)
                {
                    double num = Math.Abs(hv[i * h + j]);
                    double den = Math.Abs(v[j]) * l1 * sigma;
                    if (den > 0) b = Math.Min(b, num / den);
                    if (den + r[j] > 0) bR = Math.Min(bR, num / (den + r[j]));
                }
                bound[i] = b; boundR[i] = bR;
            }
        }
        return new SplitFreedom(sigma, nu.clone().DetachFromDisposeScope(), l1, measured, bound, boundR);
    }
}
