using NoPrior.Kkt;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>The first layer's component outside span(S): W_1 P_⊥, with P_⊥ the projector onto span{x_i}^⊥.</summary>
/// <param name="Component">W_1 P_⊥, [h_1, d].</param>
/// <param name="Norm">‖W_1 P_⊥‖_F.</param>
/// <param name="RelativeToFirstLayer">‖W_1 P_⊥‖_F / ‖W_1‖_F.</param>
/// <param name="RelativeToTheta">‖W_1 P_⊥‖_F / ‖θ‖.</param>
/// <param name="Rank">Numerical rank r of the data, so span(S)^⊥ has dimension d − r.</param>
public sealed record OutOfSpan(Tensor Component, double Norm, double RelativeToFirstLayer, double RelativeToTheta, int Rank) : IDisposable
{
    public void Dispose() => Component.Dispose();
}

/// <summary>A network whose first layer was projected onto span(S), W_1 ← W_1 P_span, and what that changed.</summary>
/// <param name="Network">The projected network (owned by this record).</param>
/// <param name="Removed">The component removed, measured on the original network.</param>
/// <param name="MaxOutputChangeOnData">max_i |Φ_new(x_i) − Φ_old(x_i)| over the data: 0 up to rounding, since W_1 P_span x = W_1 x on span(S).</param>
/// <param name="RelativeOutputChangeOnData">The same divided by max_i |Φ_old(x_i)|.</param>
public sealed record SpanProjectedNetwork(HomogeneousMlp Network, OutOfSpan Removed, double MaxOutputChangeOnData, double RelativeOutputChangeOnData) : IDisposable
{
    public void Dispose() { Network.Dispose(); Removed.Dispose(); }
}

/// <summary>The far-away KKT set S_r of Theorem 4 and everything needed to check it.</summary>
/// <param name="Set">S_r: every point with λ_i &gt; 0 replaced by x_i ± tν with λ_i/2 each (points with λ_i = 0 contribute nothing and are dropped).</param>
/// <param name="Nu">The unit direction ν used, [d].</param>
/// <param name="T">The split length t.</param>
/// <param name="Radius">The requested r.</param>
/// <param name="MinDistance">min over x ∈ S, x' ∈ S_r of ‖x − x'‖ (S includes the dropped points).</param>
/// <param name="FirstLayerOnNu">‖W_1 ν‖: 0 is the theorem's hypothesis.</param>
/// <param name="RelativeFirstLayerOnNu">‖W_1 ν‖ / ‖W_1‖_F.</param>
/// <param name="DistanceToSpan">‖P_span ν‖: 0 when ν ⊥ span(S).</param>
/// <param name="TrueSet">KKT report of θ on S with its multipliers.</param>
/// <param name="FarSet">KKT report of θ on S_r with its multipliers.</param>
/// <param name="MaxMarginChange">max over split points of |margin(x_i ± tν) − margin(x_i)|.</param>
/// <param name="PatternsPreserved">Every x_i ± tν has the pattern of x_i.</param>
/// <param name="SplitIndices">Indices in S of the points that were split (λ_i &gt; 0), in the order of S_r's pairs.</param>
public sealed record FarAwayResult(LabelledSet Set, Tensor Nu, double T, double Radius, double MinDistance, double FirstLayerOnNu,
    double RelativeFirstLayerOnNu, double DistanceToSpan, KktReport TrueSet, KktReport FarSet, double MaxMarginChange,
    bool PatternsPreserved, int[] SplitIndices) : IDisposable
{
    /// <summary>|ε(S_r) − ε(S)| / ‖θ‖: 0 up to rounding when the theorem applies.</summary>
    public double StationarityChange => Math.Abs(FarSet.Stationarity - TrueSet.Stationarity) / TrueSet.ThetaNorm;
    public void Dispose() { Set.Dispose(); Nu.Dispose(); }
}

/// <summary>
/// Theorem 4 (arbitrarily far KKT sets). If span{x_i} ≠ R^d, then for every r &gt; 0 there is a KKT set S_r at distance
/// &gt; r from S, all of whose points are on the margin. *(derived construction)* At exact KKT, stationarity puts every
/// first-layer weight vector in span(S) (∂Φ/∂W_1 = δ_1 xᵀ), so for a unit ν ⊥ span(S) W_1ν = 0: patterns and outputs
/// do not change along ν, and each support vector can be split (Lemma 3 with α = β = t) into x_i ± tν with λ_i/2 each.
/// Then ‖x_i ± tν − x_j‖² = ‖x_i − x_j‖² + t² ≥ t², so t &gt; r gives distance &gt; r. For a trained network W_1ν equals
/// the initial weights' component outside span(S) (every gradient of W_1 lies in the span): measure it with
/// <see cref="OutOfSpanComponent"/> and remove it with <see cref="RemoveOutOfSpanComponent"/>, or report it.
/// </summary>
public static class FarAwaySet
{
    const string Statement = "Theorem 4 (far-away KKT set)";
    /// <summary>Default bound on ‖W_1ν‖/‖W_1‖ accepted as W_1ν = 0.</summary>
    public const double DefaultHypothesisTolerance = 1e-12;
    /// <summary>Default t/r: t = 1.01 r, so that the distance bound t &gt; r holds with room for rounding.</summary>
    public const double DefaultStretch = 1.01;

    /// <summary>
    /// W_1 P_⊥ (P_⊥ the projector onto span{x_i}^⊥, rows of X) with its norm absolute, relative to ‖W_1‖ and relative
    /// to ‖θ‖. Zero for a network at exact KKT on X; for a trained network it is the initial first layer's
    /// out-of-span part, which gradient descent never changes.
    /// </summary>
    public static OutOfSpan OutOfSpanComponent(HomogeneousMlp net, Tensor X, double? rankTolerance = null)
    {
        using var scope = torch.NewDisposeScope();
        var Xd = net.PrepareInputs(X);
        var P = Directions.SpanProjector(Xd, rankTolerance);
        int rank = Directions.Rank(Xd, rankTolerance);
        var W = net.Weights[0];
        var C = W - W.matmul(P);
        double norm = C.norm().ToDouble(), wNorm = W.norm().ToDouble();
        return new OutOfSpan(C.MoveToOuterDisposeScope(), norm, wNorm == 0 ? 0 : norm / wNorm, norm / net.Norm(), rank);
    }

    /// <summary>
    /// The exact-KKT-compatible network W_1 ← W_1 P_span (other layers unchanged). Outputs on span(S), in particular on
    /// the data, are unchanged (W_1 P_span x = W_1 x); the maximum change on the data is measured and reported.
    /// Off the span the outputs do change whenever the removed component is nonzero.
    /// </summary>
    public static SpanProjectedNetwork RemoveOutOfSpanComponent(HomogeneousMlp net, Tensor X, double? rankTolerance = null)
    {
        var removed = OutOfSpanComponent(net, X, rankTolerance);
        using var scope = torch.NewDisposeScope();
        var projected = net.WithLayer(0, net.Weights[0] - removed.Component);
        var before = net.Forward(X);
        var after = projected.Forward(X);
        double change = (after - before).abs().max().ToDouble();
        double scale = before.abs().max().ToDouble();
        return new SpanProjectedNetwork(projected, removed, change, scale == 0 ? change : change / scale);
    }

    /// <summary>
    /// Theorem 4: builds S_r from θ and the weighted true set S (multipliers attached; fitted ones are fine) with
    /// t = <paramref name="t"/> or <see cref="DefaultStretch"/>·r. ν is <paramref name="nu"/> (normalised; e.g. the
    /// always-zero border pixels of MNIST) or else the unit vector of span(S)^⊥ with the smallest ‖W_1ν‖.
    /// Refuses (<see cref="LemmaHypothesisException"/>) when span(S) = R^d, when a given ν is not ⊥ span(S)
    /// (‖P_span ν‖ &gt; tolerance), when ‖W_1ν‖ &gt; tolerance·‖W_1‖ (the first layer has a component outside span(S):
    /// remove it first), when t ≤ r, or when a split fails Lemma 3's checks (pattern or margin).
    /// <see cref="BuildUnchecked"/> builds the set anyway. Inputs are not modified.
    /// </summary>
    public static FarAwayResult Build(HomogeneousMlp net, LabelledSet set, double radius, double? t = null,
        double hypothesisTolerance = DefaultHypothesisTolerance, double? rankTolerance = null, Tensor? nu = null)
    {
        LemmaMath.CheckSet(net, set, needLambda: true);
        LemmaMath.CheckLength(radius, nameof(radius));
        double tt = t ?? DefaultStretch * radius;
        LemmaMath.CheckLength(tt, nameof(t));
        if (!(tt > radius)) throw new ArgumentOutOfRangeException(nameof(t), $"t = {tt} must exceed r = {radius}: the construction guarantees distance ≥ t.");
        using var lambdaCheck = set.Lambda!.lt(0);
        if (lambdaCheck.any().ToBoolean()) throw new LemmaHypothesisException(Statement, "λ ≥ 0", "the set has negative multipliers; it is not a KKT set.");
        using var complement = Directions.OrthogonalComplement(set.X, rankTolerance);
        if (complement.shape[0] == 0)
            throw new LemmaHypothesisException(Statement, "span{x_i} ≠ R^d",
                $"the {set.Count} points span all of R^{set.Dim} (numerical rank {set.Dim}), so there is no direction ν ⊥ span(S) to move along.");
        using var direction = nu is null ? BestDirection(net, complement) : GivenDirection(net, set, nu, hypothesisTolerance, rankTolerance);
        using var wnu = net.Weights[0].matmul(direction);
        double wn = wnu.norm().ToDouble(), rel = wn / net.Weights[0].norm().ToDouble();
        if (!(rel <= hypothesisTolerance))
            throw new LemmaHypothesisException(Statement, "W_1ν = 0 for ν ⊥ span(S)",
                $"the first layer has a component outside span(S): min over unit ν ⊥ span(S) of ‖W_1ν‖ = {wn:G6} ({rel:G3} of ‖W_1‖ > {hypothesisTolerance:G3}). " +
                "At exact KKT this is 0; for a trained network it is the initial weights' out-of-span part. Use RemoveOutOfSpanComponent, or BuildUnchecked to show the construction breaking.");
        return Construct(net, set, direction, tt, radius, checkedSplits: true);
    }

    /// <summary>A caller's ν, normalised, after checking ν ⊥ span(S): ‖P_span ν‖ ≤ tolerance (ν unit).</summary>
    static Tensor GivenDirection(HomogeneousMlp net, LabelledSet set, Tensor nu, double tolerance, double? rankTolerance)
    {
        using var scope = torch.NewDisposeScope();
        var v = LemmaMath.Direction(net, nu);
        v = v / v.norm();
        var P = Directions.SpanProjector(set.X.to(net.DType, net.Device), rankTolerance);
        double inSpan = P.matmul(v).norm().ToDouble();
        if (!(inSpan <= tolerance))
            throw new LemmaHypothesisException(Statement, "ν ⊥ span(S)",
                $"the given direction has a component {inSpan:G6} (> {tolerance:G3}) inside span(S); moving along it changes the data's own coordinates. Pass a direction orthogonal to every x_i, or none to let Build choose one.");
        return v.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The construction of Theorem 4 without hypothesis checks, for showing it break: ν is the given direction
    /// (normalised) or else the unit vector of span(S)^⊥ with the smallest ‖W_1ν‖, or — when the data span R^d — the
    /// smallest singular direction of X. Patterns, margins, distances and both KKT reports are measured, not assumed.
    /// </summary>
    public static FarAwayResult BuildUnchecked(HomogeneousMlp net, LabelledSet set, double radius, double? t = null, Tensor? nu = null, double? rankTolerance = null)
    {
        LemmaMath.CheckSet(net, set, needLambda: true);
        LemmaMath.CheckLength(radius, nameof(radius));
        double tt = t ?? DefaultStretch * radius;
        LemmaMath.CheckLength(tt, nameof(t));
        Tensor direction;
        if (nu is not null)
        {
            using var v = LemmaMath.Direction(net, nu);
            direction = v / v.norm();
        }
        else
        {
            using var complement = Directions.OrthogonalComplement(set.X, rankTolerance);
            if (complement.shape[0] > 0) direction = BestDirection(net, complement);
            else { using var sd = Directions.SmallestSingular(set.X); direction = sd.Directions[0].to(net.DType, net.Device); }
        }
        using (direction) return Construct(net, set, direction, tt, radius, checkedSplits: false);
    }

    /// <summary>The unit ν in the row space of <paramref name="basis"/> with the smallest ‖W_1ν‖.</summary>
    static Tensor BestDirection(HomogeneousMlp net, Tensor basis)
    {
        using var scope = torch.NewDisposeScope();
        var B = basis.to(net.DType, net.Device);
        var M = net.Weights[0].matmul(B.t()); // [h, k]
        var (U, S, Vh) = torch.linalg.svd(M, fullMatrices: true);
        var c = Vh[Vh.shape[0] - 1]; // smallest right singular vector (null vector if k > h)
        var nu = B.t().matmul(c);
        return (nu / nu.norm()).MoveToOuterDisposeScope();
    }

    static FarAwayResult Construct(HomogeneousMlp net, LabelledSet set, Tensor nu, double t, double radius, bool checkedSplits)
    {
        var lambda = LemmaMath.ToArray(set.Lambda!);
        var split = Enumerable.Range(0, lambda.Length).Where(i => lambda[i] > 0).ToArray();
        if (split.Length == 0) throw new ArgumentException("Every multiplier is 0: there is no support vector to split.", nameof(set));
        var checks = checkedSplits ? SplitChecks.All : SplitChecks.None;
        // Each support vector is split with Lemma 3 (α = β = t, so λ_i/2 each); non-support points are dropped.
        using var support = set.Subset(split.Select(i => (long)i).ToArray());
        LabelledSet current = support.Subset(Enumerable.Range(0, split.Length).Select(i => (long)i).ToArray());
        for (int k = 0; k < split.Length; k++)
        {
            LabelledSet next;
            try
            {
                next = checkedSplits
                    ? SplitLemma.Split(net, current, 2 * k, nu, t, t, checks)
                    : SplitLemma.SplitUnchecked(current, 2 * k, nu, t, t);
            }
            catch (LemmaHypothesisException e)
            {
                current.Dispose();
                // W_1ν passed the hypothesis check, so what is left is rounding: t·|u_A·ν| grows with t.
                throw new LemmaHypothesisException(Statement, e.Hypothesis,
                    $"splitting support vector {split[k]} at t = {t:G6} fails Lemma 3 ({e.Message}). The residual ‖W_1ν‖ = {net.Weights[0].matmul(nu).norm().ToDouble():G3} " +
                    "was accepted as 0 by the hypothesis tolerance (e.g. float64 rounding) but is amplified by t: this t is too large to keep margins within the tolerance (use a smaller r, or BuildUnchecked and report the drift).");
            }
            current.Dispose();
            current = next;
        }

        using var scope = torch.NewDisposeScope();
        var trueReport = KktConditions.Diagnose(net, set);
        var farReport = KktConditions.Diagnose(net, current);
        var X = set.X.to(net.DType, net.Device);
        var Xr = current.X.to(net.DType, net.Device);
        double minDistance = torch.cdist(Xr, X).min().ToDouble();
        var oldMargins = trueReport.Margins;
        double maxChange = 0;
        for (int k = 0; k < split.Length; k++)
            for (int s = 0; s < 2; s++)
                maxChange = Math.Max(maxChange, Math.Abs(farReport.Margins[2 * k + s] - oldMargins[split[k]]));
        var patternsOld = net.ActivationPattern(X).index_select(0, torch.tensor(split.Select(i => (long)i).ToArray(), device: X.device));
        var patternsNew = net.ActivationPattern(Xr);
        bool samePatterns = patternsNew.eq(patternsOld.repeat_interleave(2, 0)).all().ToBoolean();
        var W = net.Weights[0];
        double wnu = W.matmul(nu).norm().ToDouble();
        var P = Directions.SpanProjector(X);
        double toSpan = P.matmul(nu).norm().ToDouble();
        return new FarAwayResult(current, nu.clone().DetachFromDisposeScope(), t, radius, minDistance, wnu, wnu / W.norm().ToDouble(), toSpan,
            trueReport, farReport, maxChange, samePatterns, split);
    }
}
