using Microsoft.Data.Analysis;
using static TorchSharp.torch;

namespace NoPrior.Metrics;

/// <summary>A reconstruction r written as a non-negative blend of its k nearest training images.</summary>
/// <param name="Neighbours">Indices of the k nearest training images (by L2), nearest first.</param>
/// <param name="Weights">w ≥ 0 minimising ‖r − Σ_j w_j t_j‖ (same order as <paramref name="Neighbours"/>).</param>
/// <param name="Residual">‖r − Σ_j w_j t_j‖.</param>
/// <param name="RelativeResidual">Residual / ‖r‖.</param>
/// <param name="NearestResidual">min_{c ≥ 0} ‖r − c t_1‖ with t_1 the nearest image alone, for comparison.</param>
public sealed record BlendResult(int[] Neighbours, double[] Weights, double Residual, double RelativeResidual, double NearestResidual)
{
    /// <summary>Number of training images with weight above <paramref name="fraction"/> of the largest weight.</summary>
    public int EffectiveCount(double fraction = 0.1) => Weights.Count(w => w > fraction * Weights.Max());
}

/// <summary>
/// "The merge lemma in the wild" (the paper's Lemma 2 and Experiment B): merging same-pattern points of a KKT set gives
/// x_{1.5} = (λ_1 x_1 + λ_2 x_2)/(λ_1 + λ_2), so a reconstruction may be a non-negative blend of training images. This fits
/// min_{w ≥ 0} ‖r − Tᵀw‖² over the k nearest training images T [k, d] (non-negative least squares).
/// </summary>
public static class BlendFit
{
    /// <summary>Fits reconstruction r [d] against training images [n, d] (use the same coordinates for both, e.g. mean-subtracted).</summary>
    public static BlendResult Fit(Tensor reconstruction, Tensor train, int k = 3)
    {
        if (reconstruction.dim() != 1) throw new ArgumentException($"The reconstruction must be a vector [d], got [{string.Join(", ", reconstruction.shape)}].");
        if (train.dim() != 2 || train.shape[1] != reconstruction.shape[0]) throw new ArgumentException($"Training images must be [n, {reconstruction.shape[0]}], got [{string.Join(", ", train.shape)}].");
        if (k < 1 || k > train.shape[0]) throw new ArgumentOutOfRangeException(nameof(k), $"k must be in [1, {train.shape[0]}], got {k}.");
        using var scope = torch.NewDisposeScope();
        var r = reconstruction.to(ScalarType.Float64, CPU);
        var T = train.to(ScalarType.Float64, CPU);
        var dist = (T - r.unsqueeze(0)).norm(1);
        var idx = dist.argsort().narrow(0, 0, k);
        var Tk = T.index_select(0, idx);
        var Gt = Tk.matmul(Tk.t());
        var bt = Tk.matmul(r);
        var solution = Kkt.Nnls.SolveGram(Gt, bt);
        if (!solution.Converged) throw new InvalidOperationException("The non-negative least-squares blend fit did not converge.");
        var w = solution.Lambda;
        var G = new[,] { { Gt[0, 0].ToDouble() } };
        var b = new[] { bt[0].ToDouble() };
        double rr = r.dot(r).ToDouble();
        // The residual is recomputed from the fitted image rather than from ‖r‖² − 2wᵀb + wᵀGw, which cancels badly
        // when the fit is nearly exact.
        using var wt = HostArrays.ToTensor(w);
        var fitted = wt.matmul(Tk);
        double residual = (r - fitted).norm().ToDouble();
        double c1 = Math.Max(0, b[0] / G[0, 0]);
        double nearest = (r - Tk[0] * c1).norm().ToDouble();
        return new BlendResult(idx.data<long>().Select(i => (int)i).ToArray(), w, residual, residual / Math.Max(Math.Sqrt(rr), 1e-300), nearest);
    }

    /// <summary>Fits every row of <paramref name="reconstructions"/> [m, d]; one row per reconstruction with the neighbours,
    /// weights (as text), residual, relative residual, nearest-only residual and effective blend size.</summary>
    public static DataFrame FitAll(Tensor reconstructions, Tensor train, int k = 3)
    {
        if (reconstructions.dim() != 2) throw new ArgumentException("Reconstructions must be a matrix [m, d].");
        var fits = Enumerable.Range(0, (int)reconstructions.shape[0]).Select(i => { using var r = reconstructions[i]; return Fit(r, train, k); }).ToList();
        return new DataFrame(
            new PrimitiveDataFrameColumn<int>("candidate_index", Enumerable.Range(0, fits.Count)),
            new StringDataFrameColumn("neighbours", fits.Select(f => string.Join(" ", f.Neighbours))),
            new StringDataFrameColumn("weights", fits.Select(f => string.Join(" ", f.Weights.Select(w => w.ToString("G4"))))),
            new DoubleDataFrameColumn("residual", fits.Select(f => f.Residual)),
            new DoubleDataFrameColumn("relative_residual", fits.Select(f => f.RelativeResidual)),
            new DoubleDataFrameColumn("nearest_only_residual", fits.Select(f => f.NearestResidual)),
            new PrimitiveDataFrameColumn<int>("effective_count", fits.Select(f => f.EffectiveCount())));
    }

}
