using NoPrior.Kkt;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>(ε, δ) of (ε, δ)-KKT (Lyu &amp; Li 2020) for one weighted set, read off a <see cref="KktReport"/>.</summary>
/// <param name="Epsilon">‖θ − Σ λ_i y_i ∇_θΦ(x_i)‖.</param>
/// <param name="RelativeEpsilon">ε / ‖θ‖.</param>
/// <param name="Delta">max(0, max_i λ_i (y_i Φ(x_i) − 1)).</param>
/// <param name="PrimalViolation">max_i max(0, 1 − y_i Φ(x_i)); (ε, δ)-KKT also needs this to be 0.</param>
/// <param name="MinMargin">min_i y_i Φ(x_i).</param>
public sealed record EpsilonDelta(double Epsilon, double RelativeEpsilon, double Delta, double PrimalViolation, double MinMargin)
{
    public static EpsilonDelta From(KktReport r) => new(r.Epsilon, r.RelativeStationarity, r.Delta, r.PrimalViolation, r.MinMargin);
}

/// <summary>
/// Predicted against measured (ε, δ) for one transform. <see cref="PredictedDeltaBound"/> is the bound of the lemma;
/// <see cref="PredictedDelta"/> and <see cref="PredictedPrimalViolation"/> are the exact values predicted by
/// linearity on R_A from the old margins and u_A·ν alone, without evaluating the network at the new points.
/// </summary>
public sealed record KktBookkeeping(string Transform, EpsilonDelta Before, EpsilonDelta After, double PredictedEpsilon,
    double PredictedDeltaBound, double PredictedDelta, double PredictedPrimalViolation, LabelledSet Result) : IDisposable
{
    /// <summary>|ε_after − ε_before|: 0 up to rounding, since both transforms keep the stationarity sum.</summary>
    public double EpsilonChange => Math.Abs(After.Epsilon - Before.Epsilon);
    /// <summary>Measured δ minus the lemma's bound (≤ 0 when the bound holds).</summary>
    public double DeltaExcess => After.Delta - PredictedDeltaBound;
    public void Dispose() => Result.Dispose();
}

/// <summary>
/// Lemmas 6 and 7 *(derived)*: merging and splitting on an (ε, δ)-KKT set. Both keep the stationarity sum exactly
/// (linearity on R_A), so ε is unchanged. Merge: the merged term (λ_1+λ_2)(y Φ(x_{1.5}) − 1) = λ_1(m_1 − 1) + λ_2(m_2 − 1)
/// ≤ 2δ, and the merged margin is a convex combination of margins ≥ 1, so δ' ≤ 2δ and feasibility is kept. Split:
/// the halves have margins m + α y u_A·ν and m − β y u_A·ν, so δ' ≤ δ + λ αβ/(α+β) |y u_A·ν|, with equality when the
/// point is on the margin and δ = 0; one half loses margin α or β times |u_A·ν| (primal feasibility breaks unless the
/// point had that much slack) — reported as <see cref="KktBookkeeping.PredictedPrimalViolation"/>.
/// </summary>
public static class ApproximateKkt
{
    /// <summary>(ε, δ) before and after <see cref="MergeLemma.Merge"/> (with the given checks), measured with
    /// <see cref="KktConditions.Diagnose"/> on the sets' own multipliers, against the prediction ε' = ε, δ' ≤ 2δ.</summary>
    public static KktBookkeeping Merge(HomogeneousMlp net, LabelledSet set, int i, int j, MergeChecks checks = MergeChecks.All)
    {
        var result = MergeLemma.Merge(net, set, i, j, checks);
        var before = KktConditions.Diagnose(net, set);
        var after = KktConditions.Diagnose(net, result);
        var m = before.Margins; var l = before.Lambda;
        double merged = l[i] * (m[i] - 1) + l[j] * (m[j] - 1);
        double rest = Others(before, i, j).Select(k => l[k] * (m[k] - 1)).DefaultIfEmpty(0).Max();
        double mergedMargin = (l[i] * m[i] + l[j] * m[j]) / (l[i] + l[j]);
        double minMargin = Math.Min(mergedMargin, Others(before, i, j).Select(k => m[k]).DefaultIfEmpty(double.PositiveInfinity).Min());
        return new KktBookkeeping($"merge({i}, {j})", EpsilonDelta.From(before), EpsilonDelta.From(after), before.Epsilon,
            2 * before.Delta, Math.Max(0, Math.Max(rest, merged)), Math.Max(0, 1 - minMargin), result);
    }

    /// <summary>(ε, δ) before and after <see cref="SplitLemma.Split"/>. By default only the pattern is checked (Lemma 7
    /// allows u_A·ν ≠ 0); prediction ε' = ε, δ' ≤ δ + λ αβ/(α+β)|y u_A·ν|.</summary>
    public static KktBookkeeping Split(HomogeneousMlp net, LabelledSet set, int i, Tensor nu, double alpha, double beta,
        SplitChecks checks = SplitChecks.Pattern | SplitChecks.NonNegativeMultiplier)
    {
        var result = SplitLemma.Split(net, set, i, nu, alpha, beta, checks);
        var before = KktConditions.Diagnose(net, set);
        var after = KktConditions.Diagnose(net, result);
        using var x = set.X[i];
        double slope = Directions.MarginSlope(net, x, nu);
        var m = before.Margins; var l = before.Lambda;
        double y = set.Y[i].ToDouble();
        double m1 = m[i] + alpha * y * slope, m2 = m[i] - beta * y * slope;
        double l1 = l[i] * beta / (alpha + beta), l2 = l[i] * alpha / (alpha + beta);
        double rest = Others(before, i).Select(k => l[k] * (m[k] - 1)).DefaultIfEmpty(0).Max();
        double bound = before.Delta + l[i] * alpha * beta / (alpha + beta) * Math.Abs(y * slope);
        double minMargin = Math.Min(Math.Min(m1, m2), Others(before, i).Select(k => m[k]).DefaultIfEmpty(double.PositiveInfinity).Min());
        return new KktBookkeeping($"split({i}, α={alpha:G6}, β={beta:G6})", EpsilonDelta.From(before), EpsilonDelta.From(after), before.Epsilon,
            bound, Math.Max(0, Math.Max(rest, Math.Max(l1 * (m1 - 1), l2 * (m2 - 1)))), Math.Max(0, 1 - minMargin), result);
    }

    /// <summary>
    /// <see cref="Split"/> with lengths chosen from point i's exact pattern-preserving interval along ν
    /// (<see cref="LinearRegion.PatternPreservingInterval"/>, forward length F and backward length B, each capped at
    /// <paramref name="maxLength"/>): α = <paramref name="alphaFraction"/>·min(F, cap), β = <paramref name="betaFraction"/>·min(B, cap).
    /// Fractions below 1 keep both halves inside R_A and the pattern is checked; a fraction ≥ 1 is a split meant to
    /// leave the region, done without checks (to show Lemma 7's linear prediction failing).
    /// </summary>
    public static KktBookkeeping SplitInRegion(HomogeneousMlp net, LabelledSet set, int i, Tensor nu,
        double alphaFraction = 0.5, double betaFraction = 0.25, double maxLength = 10)
    {
        if (!(alphaFraction > 0) || !(betaFraction > 0) || !(maxLength > 0) || double.IsInfinity(alphaFraction + betaFraction))
            throw new ArgumentException($"fractions and maxLength must be positive and finite (alphaFraction = {alphaFraction}, betaFraction = {betaFraction}, maxLength = {maxLength}).");
        using var x = set.X[i];
        var interval = LinearRegion.PatternPreservingInterval(net, x, nu);
        double alpha = alphaFraction * Math.Min(interval.Forward, maxLength), beta = betaFraction * Math.Min(interval.Backward, maxLength);
        bool inside = alphaFraction < 1 && betaFraction < 1;
        return Split(net, set, i, nu, alpha, beta, inside ? SplitChecks.Pattern | SplitChecks.NonNegativeMultiplier : SplitChecks.None);
    }

    static IEnumerable<int> Others(KktReport r, params int[] skip) => Enumerable.Range(0, r.Margins.Length).Where(k => !skip.Contains(k));
}
