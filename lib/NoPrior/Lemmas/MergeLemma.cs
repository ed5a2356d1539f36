using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>Which hypotheses of Lemma 2 a merge checks. <see cref="All"/> is the lemma; anything less is for showing what breaks.</summary>
[Flags]
public enum MergeChecks
{
    None = 0,
    /// <summary>y_1 = y_2.</summary>
    SameLabel = 1,
    /// <summary>A(x_1) = A(x_2).</summary>
    SamePattern = 2,
    /// <summary>λ_1, λ_2 &gt; 0.</summary>
    PositiveMultipliers = 4,
    All = SameLabel | SamePattern | PositiveMultipliers,
}

/// <summary>The hypotheses of Lemma 2 for a pair (i, j) of a weighted set.</summary>
/// <param name="I">Index of the first point.</param>
/// <param name="J">Index of the second point.</param>
/// <param name="SameLabel">y_i = y_j.</param>
/// <param name="SamePattern">A(x_i) = A(x_j).</param>
/// <param name="PositiveMultipliers">λ_i, λ_j &gt; 0.</param>
/// <param name="LambdaI">λ_i.</param>
/// <param name="LambdaJ">λ_j.</param>
/// <param name="DifferingUnits">Hidden units on at one point and off at the other (empty when the patterns agree).</param>
public sealed record MergeHypotheses(int I, int J, bool SameLabel, bool SamePattern, bool PositiveMultipliers, int[] DifferingUnits, double LambdaI, double LambdaJ)
{
    /// <summary>All three hypotheses hold.</summary>
    public bool Hold => SameLabel && SamePattern && PositiveMultipliers;
}

/// <summary>
/// Lemma 2 (merging). Let (x_1, y), (x_2, y) be points of a KKT set with the same label, the same activation pattern
/// A and λ_1, λ_2 &gt; 0. Replacing them by the single point x_{1.5} = (λ_1 x_1 + λ_2 x_2)/(λ_1 + λ_2) with multiplier
/// λ_1 + λ_2 gives a KKT set: R_A is convex so A(x_{1.5}) = A, and by linearity of ∇_θΦ on R_A the stationarity sum
/// Σ λ_i y_i ∇_θΦ(x_i) is unchanged; the margin of x_{1.5} is the λ-weighted mean of the two margins (1 if both are 1).
/// </summary>
public static class MergeLemma
{
    const string Statement = "Lemma 2 (merge)";

    /// <summary>Evaluates the three hypotheses of Lemma 2 for points i and j of a weighted set.</summary>
    public static MergeHypotheses Check(HomogeneousMlp net, LabelledSet set, int i, int j)
    {
        CheckArguments(net, set, i, j);
        using var scope = torch.NewDisposeScope();
        var xi = set.X[i]; var xj = set.X[j];
        var diff = LinearRegion.PatternDifference(net, xi, xj);
        double yi = set.Y[i].ToDouble(), yj = set.Y[j].ToDouble();
        double li = set.Lambda![i].ToDouble(), lj = set.Lambda[j].ToDouble();
        return new MergeHypotheses(i, j, yi == yj, diff.Length == 0, li > 0 && lj > 0, diff, li, lj);
    }

    /// <summary>
    /// The hypotheses of Lemma 2 for every pair i &lt; j of a weighted set (patterns computed once for all points), in
    /// order of i then j. Filter with <see cref="MergeHypotheses.Hold"/> for the pairs Lemma 2 may merge, or by
    /// SameLabel and !SamePattern for pairs that show it failing.
    /// </summary>
    public static MergeHypotheses[] Pairs(HomogeneousMlp net, LabelledSet set)
    {
        LemmaMath.CheckSet(net, set, needLambda: true);
        using var scope = torch.NewDisposeScope();
        var X = set.X.to(net.DType, net.Device);
        var P = net.ActivationPattern(X).reshape(set.Count, -1).to(ScalarType.Int32, CPU).contiguous();
        int n = (int)set.Count, units = (int)P.shape[1];
        var bits = P.data<int>().ToArray();
        var y = LemmaMath.ToArray(set.Y); var l = LemmaMath.ToArray(set.Lambda!);
        var result = new List<MergeHypotheses>();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                var diff = Enumerable.Range(0, units).Where(u => (bits[i * units + u] != 0) != (bits[j * units + u] != 0)).ToArray();
                result.Add(new MergeHypotheses(i, j, y[i] == y[j], diff.Length == 0, l[i] > 0 && l[j] > 0, diff, l[i], l[j]));
            }
        return result.ToArray();
    }

    /// <summary>
    /// The pairs i &lt; j of <paramref name="among"/> (e.g. a <see cref="Kkt.KktReport.Support"/>) that Lemma 2 may
    /// merge: same label, same activation pattern, positive multipliers (<see cref="MergeHypotheses.Hold"/>), in order
    /// of i then j.
    /// </summary>
    public static MergeHypotheses[] MergeablePairs(HomogeneousMlp net, LabelledSet set, IEnumerable<int> among)
    {
        var keep = among.ToHashSet();
        return Pairs(net, set).Where(p => p.Hold && keep.Contains(p.I) && keep.Contains(p.J)).ToArray();
    }

    /// <summary>
    /// Lemma 2: merges points i and j of a weighted set into x_{1.5} = (λ_i x_i + λ_j x_j)/(λ_i + λ_j) with multiplier
    /// λ_i + λ_j and their common label. The merged point takes index min(i, j); the other index is removed, the
    /// remaining points keep their order. Throws <see cref="LemmaHypothesisException"/> naming the failing hypothesis
    /// (labels differ, patterns differ, a multiplier is not positive) for every check in <paramref name="checks"/>;
    /// pass fewer checks (or use <see cref="MergeUnchecked"/>) to show what breaks. Inputs are not modified.
    /// </summary>
    public static LabelledSet Merge(HomogeneousMlp net, LabelledSet set, int i, int j, MergeChecks checks = MergeChecks.All)
    {
        var h = Check(net, set, i, j);
        if (checks.HasFlag(MergeChecks.SameLabel) && !h.SameLabel)
            throw new LemmaHypothesisException(Statement, "same label", $"points {i} and {j} have labels {set.Y[i].ToDouble()} and {set.Y[j].ToDouble()}.");
        if (checks.HasFlag(MergeChecks.SamePattern) && !h.SamePattern)
            throw new LemmaHypothesisException(Statement, "same activation pattern",
                $"points {i} and {j} lie in different linear regions: {h.DifferingUnits.Length} hidden unit(s) differ (first: unit {h.DifferingUnits[0]}), so the stationarity sum is not preserved.");
        if (checks.HasFlag(MergeChecks.PositiveMultipliers) && !h.PositiveMultipliers)
            throw new LemmaHypothesisException(Statement, "λ₁, λ₂ > 0", $"multipliers are λ_{i} = {h.LambdaI} and λ_{j} = {h.LambdaJ}.");
        return MergeUnchecked(set, i, j);
    }

    /// <summary>
    /// The merge formula without any hypothesis check (the forced merge a notebook uses to show Lemma 2 failing):
    /// x_{1.5} = (λ_i x_i + λ_j x_j)/(λ_i + λ_j), multiplier λ_i + λ_j, label y_i. Refuses only λ_i + λ_j = 0, where
    /// the formula is undefined.
    /// </summary>
    public static LabelledSet MergeUnchecked(LabelledSet set, int i, int j)
    {
        if (set.Lambda is null) throw new ArgumentException("The set carries no multipliers λ; a merge needs them.", nameof(set));
        LemmaMath.CheckIndex(set, i, nameof(i));
        LemmaMath.CheckIndex(set, j, nameof(j));
        if (i == j) throw new ArgumentException($"Cannot merge point {i} with itself; give two different indices.");
        using var scope = torch.NewDisposeScope();
        double li = set.Lambda[i].ToDouble(), lj = set.Lambda[j].ToDouble();
        double sum = li + lj;
        if (sum == 0) throw new ArgumentException($"λ_{i} + λ_{j} = 0: the merged point (λ_i x_i + λ_j x_j)/(λ_i + λ_j) is undefined.");
        var merged = ((set.X[i] * li + set.X[j] * lj) / sum).unsqueeze(0);
        int at = Math.Min(i, j), remove = Math.Max(i, j);
        return LemmaMath.Replace(set, at, merged, new[] { set.Y[i].ToDouble() }, new[] { sum }, remove);
    }

    static void CheckArguments(HomogeneousMlp net, LabelledSet set, int i, int j)
    {
        LemmaMath.CheckSet(net, set, needLambda: true);
        LemmaMath.CheckIndex(set, i, nameof(i));
        LemmaMath.CheckIndex(set, j, nameof(j));
        if (i == j) throw new ArgumentException($"Cannot merge point {i} with itself; give two different indices.");
    }
}
