using Microsoft.Data.Analysis;
using NoPrior.Lemmas;
using NoPrior.Metrics;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>One candidate explained as a non-negative blend of its nearest training points, and whether the merge lemma's
/// hypothesis holds for the two that weigh most.</summary>
/// <param name="Candidate">The candidate's index.</param>
/// <param name="Fit">The blend fit (<see cref="BlendFit"/>).</param>
/// <param name="IsBlend">At least two sizeable weights (above a tenth of the largest) and a residual at most 0.9 of the best single-image fit.</param>
/// <param name="First">The training point with the largest weight.</param>
/// <param name="Second">The training point with the second largest weight.</param>
/// <param name="SameLabel">y_First = y_Second.</param>
/// <param name="SamePattern">First and Second have the same activation pattern (Lemma 2 needs both).</param>
public sealed record BlendRow(int Candidate, BlendResult Fit, bool IsBlend, int First, int Second, bool SameLabel, bool SamePattern)
{
    /// <summary>The blend satisfies Lemma 2's hypothesis (same label and same activation pattern), so the merged point is
    /// as stationary as the pair it replaces.</summary>
    public bool MergeHypothesisHolds => IsBlend && SameLabel && SamePattern;
}

/// <summary>
/// The merge lemma in the attack's output (the paper's Experiment B: good-looking reconstructions are often blends of
/// training images). Each candidate is fitted as min_{w ≥ 0} ‖x' − Σ_j w_j x_j‖ over its k nearest training points, in
/// coordinates centred at the evaluation space's centre (so a secret offset does not dominate the fit); a blend's two
/// heaviest training points are then checked against Lemma 2's hypothesis.
/// </summary>
public static class BlendAnalysis
{
    /// <summary>Analyses <paramref name="candidateIndices"/> of <paramref name="candidates"/> against the training set <paramref name="train"/>
    /// of <paramref name="net"/> (both in the network's coordinates).</summary>
    public static IReadOnlyList<BlendRow> Analyse(HomogeneousMlp net, LabelledSet train, Tensor candidates, IEnumerable<int> candidateIndices, EvaluationSpace space, int k = 3)
    {
        ArgumentNullException.ThrowIfNull(net); ArgumentNullException.ThrowIfNull(train); ArgumentNullException.ThrowIfNull(space);
        if (k < 2) throw new ArgumentOutOfRangeException(nameof(k), $"A blend needs k ≥ 2 neighbours, got {k}.");
        using var centre = space.Centre.to(ScalarType.Float64, CPU);
        using var T = train.X.to(ScalarType.Float64, CPU) - centre;
        var rows = new List<BlendRow>();
        foreach (int j in candidateIndices.Distinct())
        {
            if (j < 0 || j >= candidates.shape[0]) throw new ArgumentOutOfRangeException(nameof(candidateIndices), $"Candidate {j} is not in 0..{candidates.shape[0] - 1}.");
            using var x = candidates[j].to(ScalarType.Float64, CPU) - centre;
            var fit = BlendFit.Fit(x, T, k);
            var order = Enumerable.Range(0, fit.Weights.Length).OrderByDescending(i => fit.Weights[i]).ToArray();
            int a = fit.Neighbours[order[0]], b = fit.Neighbours[order[1]];
            bool isBlend = fit.EffectiveCount() >= 2 && fit.Residual <= 0.9 * fit.NearestResidual;
            bool sameLabel = train.Y[a].ToDouble() == train.Y[b].ToDouble();
            using var xa = train.X[a]; using var xb = train.X[b];
            rows.Add(new BlendRow(j, fit, isBlend, a, b, sameLabel, LinearRegion.SamePattern(net, xa, xb)));
        }
        return rows;
    }

    /// <summary>One row per analysed candidate: the neighbours, weights, residuals and the hypothesis checks.</summary>
    public static DataFrame ToDataFrame(IEnumerable<BlendRow> rows)
    {
        var list = rows.ToList();
        return new DataFrame(
            new Int32DataFrameColumn("candidate", list.Select(r => r.Candidate)),
            new StringDataFrameColumn("neighbours (weight)", list.Select(r => string.Join(", ", r.Fit.Neighbours.Zip(r.Fit.Weights).Select(p => $"{p.First} ({p.Second:G3})")))),
            new DoubleDataFrameColumn("relative residual", list.Select(r => r.Fit.RelativeResidual)),
            new DoubleDataFrameColumn("residual / single-image residual", list.Select(r => r.Fit.Residual / r.Fit.NearestResidual)),
            new BooleanDataFrameColumn("blend", list.Select(r => r.IsBlend)),
            new BooleanDataFrameColumn("same label", list.Select(r => r.SameLabel)),
            new BooleanDataFrameColumn("same pattern", list.Select(r => r.SamePattern)));
    }
}
