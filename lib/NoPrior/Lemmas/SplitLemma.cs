using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>Which hypotheses of Lemma 3 a split checks. <see cref="All"/> is the lemma; anything less is for showing what breaks.</summary>
[Flags]
public enum SplitChecks
{
    None = 0,
    /// <summary>x + αν and x − βν stay in R_A (α ≤ α_max, β ≤ β_max, and the recomputed patterns agree).</summary>
    Pattern = 1,
    /// <summary>u_A·ν = 0: both halves keep the margin (checked as max(α, β)|u_A·ν| ≤ the margin tolerance).</summary>
    Margin = 2,
    /// <summary>λ ≥ 0 (dual feasibility of the point being split).</summary>
    NonNegativeMultiplier = 4,
    All = Pattern | Margin | NonNegativeMultiplier,
}

/// <summary>The hypotheses of Lemma 3 for splitting point i along ν with lengths α, β.</summary>
/// <param name="I">Index of the point split.</param>
/// <param name="Alpha">α, the length along +ν.</param>
/// <param name="Beta">β, the length along −ν.</param>
/// <param name="Lambda">λ_i of the point split.</param>
/// <param name="MarginPreserved">max(α, β)|u_A·ν| is within the margin tolerance: both halves keep the margin.</param>
/// <param name="Interval">The exact pattern-preserving interval of x_i along ±ν.</param>
/// <param name="MarginSlope">u_A·ν.</param>
/// <param name="MarginChange">max(α, β)|u_A·ν|: the largest change of a margin among the two halves.</param>
/// <param name="PatternPreserved">Both halves have the pattern of x_i (recomputed, not inferred).</param>
public sealed record SplitHypotheses(int I, double Alpha, double Beta, double Lambda, PatternInterval Interval, double MarginSlope,
    double MarginChange, bool PatternPreserved, bool MarginPreserved)
{
    public bool Hold => PatternPreserved && MarginPreserved && Lambda >= 0;
}

/// <summary>
/// Lemma 3 (splitting). For a point (x, y, λ) of a KKT set with pattern A, a direction ν with u_A·ν = 0 and lengths
/// α, β &gt; 0 keeping x + αν and x − βν inside R_A, replacing x by z_1 = x + αν (multiplier λβ/(α+β)) and
/// z_2 = x − βν (multiplier λα/(α+β)) gives a KKT set: the multipliers sum to λ and their weighted mean of z_1, z_2 is
/// x, so by linearity of ∇_θΦ = G_A x on R_A the stationarity sum is unchanged, and u_A·ν = 0 keeps both margins.
/// Merging z_1 and z_2 (Lemma 2) returns (x, λ): the two lemmas are inverse to each other.
/// </summary>
public static class SplitLemma
{
    const string Statement = "Lemma 3 (split)";
    /// <summary>Default bound on the margin change max(α, β)|u_A·ν| accepted as "margin preserved" (docs/theory.md §9: 1e-10).</summary>
    public const double DefaultMarginTolerance = 1e-10;

    /// <summary>Evaluates the hypotheses of Lemma 3 for splitting point i along ν with lengths α, β.</summary>
    public static SplitHypotheses Check(HomogeneousMlp net, LabelledSet set, int i, Tensor nu, double alpha, double beta, double marginTolerance = DefaultMarginTolerance)
    {
        LemmaMath.CheckSet(net, set, needLambda: true);
        LemmaMath.CheckIndex(set, i, nameof(i));
        LemmaMath.CheckLength(alpha, nameof(alpha));
        LemmaMath.CheckLength(beta, nameof(beta));
        using var scope = torch.NewDisposeScope();
        var x = set.X[i].to(net.DType, net.Device);
        var v = LemmaMath.Direction(net, nu);
        var interval = LinearRegion.PatternPreservingInterval(net, x, v);
        double slope = Directions.MarginSlope(net, x, v);
        double change = Math.Max(alpha, beta) * Math.Abs(slope);
        var a = LinearRegion.Pattern(net, x);
        bool samePattern = alpha <= interval.Forward && beta <= interval.Backward
            && LinearRegion.Pattern(net, x + v * alpha).SequenceEqual(a)
            && LinearRegion.Pattern(net, x - v * beta).SequenceEqual(a);
        return new SplitHypotheses(i, alpha, beta, set.Lambda![i].ToDouble(), interval, slope, change, samePattern, change <= marginTolerance);
    }

    /// <summary>
    /// Lemma 3: splits point i into z_1 = x_i + αν (multiplier λβ/(α+β)) at index i and z_2 = x_i − βν (multiplier
    /// λα/(α+β)) at index i + 1, both with label y_i; later points shift by one. ν is used as given (α, β are in units
    /// of ‖ν‖). Throws <see cref="LemmaHypothesisException"/> for each failing hypothesis in <paramref name="checks"/>:
    /// a half leaves R_A (the message gives α_max or β_max), u_A·ν ≠ 0 (the message gives the margin change), λ &lt; 0.
    /// Use fewer checks or <see cref="SplitUnchecked"/> to show what breaks. Inputs are not modified.
    /// </summary>
    public static LabelledSet Split(HomogeneousMlp net, LabelledSet set, int i, Tensor nu, double alpha, double beta,
        SplitChecks checks = SplitChecks.All, double marginTolerance = DefaultMarginTolerance)
    {
        var h = Check(net, set, i, nu, alpha, beta, marginTolerance);
        if (checks.HasFlag(SplitChecks.NonNegativeMultiplier) && h.Lambda < 0)
            throw new LemmaHypothesisException(Statement, "λ ≥ 0", $"point {i} has multiplier {h.Lambda}.");
        if (checks.HasFlag(SplitChecks.Pattern) && !h.PatternPreserved)
            throw new LemmaHypothesisException(Statement, "x + αν, x − βν ∈ R_A",
                $"the pattern of point {i} is kept only for α ≤ α_max = {h.Interval.Forward:G17} (unit {h.Interval.ForwardUnit}) and β ≤ β_max = {h.Interval.Backward:G17} (unit {h.Interval.BackwardUnit}); got α = {alpha:G17}, β = {beta:G17}.");
        if (checks.HasFlag(SplitChecks.Margin) && !h.MarginPreserved)
            throw new LemmaHypothesisException(Statement, "u_A·ν = 0",
                $"u_A·ν = {h.MarginSlope:G6} at point {i}, so a half's margin changes by up to {h.MarginChange:G6} > {marginTolerance:G3}; project ν with Directions.MarginPreserving, or split with checks = SplitChecks.Pattern to show primal feasibility breaking.");
        return SplitUnchecked(set, i, nu, alpha, beta);
    }

    /// <summary>
    /// The split formula without hypothesis checks: z_1 = x_i + αν with λβ/(α+β), z_2 = x_i − βν with λα/(α+β).
    /// Still refuses bad arguments (index out of range, zero or wrong-sized ν, α or β not positive and finite).
    /// </summary>
    public static LabelledSet SplitUnchecked(LabelledSet set, int i, Tensor nu, double alpha, double beta)
    {
        if (set.Lambda is null) throw new ArgumentException("The set carries no multipliers λ; a split needs them.", nameof(set));
        LemmaMath.CheckIndex(set, i, nameof(i));
        LemmaMath.CheckLength(alpha, nameof(alpha));
        LemmaMath.CheckLength(beta, nameof(beta));
        using var scope = torch.NewDisposeScope();
        var v = nu.dim() == 2 && nu.shape[0] == 1 ? nu.squeeze(0) : nu;
        if (v.dim() != 1 || v.shape[0] != set.Dim)
            throw new ArgumentException($"nu must be a vector of length {set.Dim} (the input dimension), got shape {LemmaMath.Shape(nu)}.", nameof(nu));
        Numerics.CheckFinite(v, "nu");
        v = v.detach().to(set.X.dtype, set.X.device);
        if (v.norm().ToDouble() == 0) throw new ArgumentException("nu is the zero vector; a split needs a nonzero direction.", nameof(nu));
        var x = set.X[i];
        var z = torch.stack(new[] { x + v * alpha, x - v * beta });
        double lam = set.Lambda[i].ToDouble(), y = set.Y[i].ToDouble();
        return LemmaMath.Replace(set, i, z, new[] { y, y }, new[] { lam * beta / (alpha + beta), lam * alpha / (alpha + beta) });
    }
}
