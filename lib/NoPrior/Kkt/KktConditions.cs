using Microsoft.Data.Analysis;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Kkt;

/// <summary>
/// How well a network θ and a labelled, weighted set {(x_i, y_i, λ_i)} satisfy the KKT conditions of the
/// max-margin problem (P) min ½‖θ‖² s.t. y_i Φ(θ; x_i) ≥ 1 (docs/theory.md §1):
/// 1. stationarity θ = Σ_i λ_i y_i ∇_θΦ(θ; x_i); 2. primal feasibility y_i Φ(θ; x_i) ≥ 1;
/// 3. dual feasibility λ_i ≥ 0; 4. complementary slackness λ_i (y_i Φ(θ; x_i) − 1) = 0.
/// (ε, δ)-KKT (Lyu &amp; Li 2020): feasible, λ ≥ 0, ‖θ − Σ λ_i y_i ∇Φ(x_i)‖ ≤ ε and λ_i (y_i Φ(x_i) − 1) ≤ δ for all i.
/// </summary>
public sealed record KktReport
{
    /// <summary>‖θ‖.</summary>
    public required double ThetaNorm { get; init; }
    /// <summary>Condition 1, absolute: ‖θ − Σ λ_i y_i ∇_θΦ(x_i)‖. This is the ε of (ε, δ)-KKT.</summary>
    public required double Stationarity { get; init; }
    /// <summary>Condition 1 relative to ‖θ‖.</summary>
    public double RelativeStationarity => Stationarity / ThetaNorm;
    /// <summary>Condition 2: max_i max(0, 1 − y_i Φ(x_i)); 0 when every point is on or beyond the margin.</summary>
    public required double PrimalViolation { get; init; }
    /// <summary>Condition 3: max_i max(0, −λ_i).</summary>
    public required double DualViolation { get; init; }
    /// <summary>Condition 4: max_i |λ_i (y_i Φ(x_i) − 1)|.</summary>
    public required double ComplementarySlackness { get; init; }
    /// <summary>ε of (ε, δ)-KKT (absolute stationarity residual).</summary>
    public double Epsilon => Stationarity;
    /// <summary>δ of (ε, δ)-KKT: max(0, max_i λ_i (y_i Φ(x_i) − 1)).</summary>
    public required double Delta { get; init; }
    /// <summary>Minimum margin min_i y_i Φ(x_i).</summary>
    public required double MinMargin { get; init; }
    /// <summary>Margins y_i Φ(θ; x_i).</summary>
    public required double[] Margins { get; init; }
    /// <summary>The multipliers used (fitted or given).</summary>
    public required double[] Lambda { get; init; }
    /// <summary>Indices with λ_i above the support tolerance: the support vectors.</summary>
    public required int[] Support { get; init; }
    /// <summary>True if the multipliers were fitted by NNLS rather than given.</summary>
    public required bool Fitted { get; init; }

    /// <summary>Whether θ is an (ε, δ)-KKT point with these multipliers: primal and dual feasible up to <paramref name="feasibilityTolerance"/>.</summary>
    public bool IsApproximateKkt(double epsilon, double delta, double feasibilityTolerance = 1e-10) =>
        PrimalViolation <= feasibilityTolerance && DualViolation <= feasibilityTolerance && Epsilon <= epsilon && Delta <= delta;

    /// <summary>The four conditions as a one-row-per-condition table.</summary>
    public DataFrame Summary()
    {
        var names = new StringDataFrameColumn("condition", new[] { "1 stationarity ‖θ − Σλy∇Φ‖", "1 stationarity / ‖θ‖", "2 primal max(0, 1 − yΦ)", "3 dual max(0, −λ)", "4 slackness max|λ(yΦ − 1)|", "δ = max λ(yΦ − 1)₊" });
        var values = new DoubleDataFrameColumn("residual", new[] { Stationarity, RelativeStationarity, PrimalViolation, DualViolation, ComplementarySlackness, Delta });
        return new DataFrame(names, values);
    }

    /// <summary>
    /// Several reports side by side (e.g. a set before and after a merge or split): one row per quantity (number of
    /// points, Σλ, relative stationarity, the primal, dual and slackness residuals, δ, min and max margin), one column
    /// per report.
    /// </summary>
    public static DataFrame Compare(params (string Name, KktReport Report)[] reports)
    {
        var rows = new (string Name, Func<KktReport, double> Value)[]
        {
            ("points", r => r.Margins.Length),
            ("Σ λ", r => r.Lambda.Sum()),
            ("1 stationarity ‖θ − Σλy∇Φ‖ / ‖θ‖", r => r.RelativeStationarity),
            ("2 primal max(0, 1 − yΦ)", r => r.PrimalViolation),
            ("3 dual max(0, −λ)", r => r.DualViolation),
            ("4 slackness max|λ(yΦ − 1)|", r => r.ComplementarySlackness),
            ("δ = max λ(yΦ − 1)₊", r => r.Delta),
            ("min margin yΦ", r => r.MinMargin),
            ("max margin yΦ", r => r.Margins.DefaultIfEmpty(double.NaN).Max()),
        };
        var columns = new List<DataFrameColumn> { new StringDataFrameColumn("quantity", rows.Select(r => r.Name)) };
        columns.AddRange(reports.Select(rep => new DoubleDataFrameColumn(rep.Name, rows.Select(r => r.Value(rep.Report)))));
        return new DataFrame(columns);
    }

    /// <summary>One row per point: index, label, margin, multiplier, support flag.</summary>
    public DataFrame Points(double[] labels)
    {
        var idx = new Int32DataFrameColumn("i", Enumerable.Range(0, Margins.Length));
        return new DataFrame(idx, new DoubleDataFrameColumn("y", labels), new DoubleDataFrameColumn("margin", Margins),
            new DoubleDataFrameColumn("lambda", Lambda), new BooleanDataFrameColumn("support", Enumerable.Range(0, Margins.Length).Select(i => Support.Contains(i))));
    }
}

/// <summary>Fitting KKT multipliers and measuring the four KKT conditions (docs/theory.md §1).</summary>
public static class KktConditions
{
    /// <summary>Multipliers are counted as support when λ_i &gt; this fraction of max λ.</summary>
    public const double SupportRelativeTolerance = 1e-8;

    /// <summary>
    /// The best multipliers for θ and fixed points X: λ = argmin_{λ≥0} ‖θ − J(X)ᵀ(λ ⊙ y)‖², solved exactly by
    /// Lawson–Hanson NNLS in Gram form (Q = diag(y) J Jᵀ diag(y), b = diag(y) J θ), never forming J.
    /// This is the "ground-truth KKT diagnostic" the reference attack code does not report.
    /// </summary>
    public static Tensor FitMultipliers(HomogeneousMlp net, LabelledSet set) => FitMultipliers(net, set, nonNegative: true);

    /// <summary>
    /// As <see cref="FitMultipliers(HomogeneousMlp, LabelledSet)"/>; with <paramref name="nonNegative"/> false, the
    /// unconstrained least-squares fit (minimum-norm solution of Qλ = b), which can return negative multipliers —
    /// the contrast that shows dual feasibility (KKT condition 3) is a real constraint.
    /// </summary>
    public static Tensor FitMultipliers(HomogeneousMlp net, LabelledSet set, bool nonNegative)
    {
        CheckDims(net, set);
        using var scope = torch.NewDisposeScope();
        using var g = ParameterGradients.Compute(net, set.X);
        var y = set.Y.to(net.DType, net.Device);
        var Q = g.Gram() * y.unsqueeze(1) * y.unsqueeze(0);
        var b = g.JacobianTimes(net.Weights) * y;
        if (!nonNegative) return torch.linalg.pinv(Q, hermitian: true).matmul(b).MoveToOuterDisposeScope();
        var sol = Nnls.SolveGram(Q, b);
        if (!sol.Converged) throw new InvalidOperationException($"NNLS did not converge in {sol.Iterations} iterations.");
        return HostArrays.ToTensor(sol.Lambda, dtype: net.DType, device: net.Device).MoveToOuterDisposeScope();
    }

    /// <summary>The stationarity residual θ − Σ_i λ_i y_i ∇_θΦ(θ; x_i), one tensor per layer.</summary>
    public static Tensor[] StationarityResidual(HomogeneousMlp net, LabelledSet set, Tensor lambda)
    {
        CheckDims(net, set);
        CheckLambda(set, lambda);
        using var scope = torch.NewDisposeScope();
        using var g = ParameterGradients.Compute(net, set.X);
        var c = lambda.to(net.DType, net.Device) * set.Y.to(net.DType, net.Device);
        var sums = g.WeightedSum(c);
        return net.Weights.Select((w, k) => (w - sums[k]).MoveToOuterDisposeScope()).ToArray();
    }

    /// <summary>
    /// ‖Σ_{k∈A} λ_k y_k ∇_θΦ(θ; x_k) − Σ_{k∈B} λ_k y_k ∇_θΦ(θ; x_k)‖ / ‖θ‖ for two weighted sets A and B (norm over all
    /// layers): how much a transform changed the stationarity sum. Lemmas 2 and 3 (merge, split) keep it at 0 by
    /// linearity of ∇_θΦ on an activation region, whether or not θ is exactly KKT.
    /// </summary>
    public static double StationaritySumChange(HomogeneousMlp net, LabelledSet a, LabelledSet b)
    {
        if (a.Lambda is null || b.Lambda is null) throw new ArgumentException("Both sets need multipliers λ.");
        // θ − Σ_A − (θ − Σ_B) = Σ_B − Σ_A: the difference of the two residuals.
        var ra = StationarityResidual(net, a, a.Lambda);
        var rb = StationarityResidual(net, b, b.Lambda);
        double sq = 0;
        for (int k = 0; k < ra.Length; k++) { using var d = ra[k] - rb[k]; sq += d.square().sum().ToDouble(); }
        foreach (var t in ra.Concat(rb)) t.Dispose();
        return Math.Sqrt(sq) / net.Norm();
    }

    /// <summary>
    /// Measures the four conditions for θ (as given — rescale a trained network first with
    /// <see cref="HomogeneousMlp.RescaledToUnitMargin"/> or use <see cref="DiagnoseTrained"/>) and the set. Uses the
    /// set's own multipliers if it has them and <paramref name="lambda"/> is null; fits them by NNLS if it has none.
    /// </summary>
    public static KktReport Diagnose(HomogeneousMlp net, LabelledSet set, Tensor? lambda = null)
    {
        CheckDims(net, set);
        bool fitted = lambda is null && set.Lambda is null;
        using var lam = lambda?.detach().clone() ?? set.Lambda?.detach().clone() ?? FitMultipliers(net, set);
        CheckLambda(set, lam);
        var residual = StationarityResidual(net, set, lam);
        double stat = Math.Sqrt(residual.Sum(r => r.square().sum().ToDouble()));
        foreach (var r in residual) r.Dispose();
        using var marginsT = net.Margins(set.X, set.Y);
        var margins = ToArray(marginsT);
        var l = ToArray(lam);
        double maxL = l.Length == 0 ? 0 : l.Max();
        return new KktReport
        {
            ThetaNorm = net.Norm(),
            Stationarity = stat,
            PrimalViolation = margins.Select(m => Math.Max(0, 1 - m)).DefaultIfEmpty(0).Max(),
            DualViolation = l.Select(v => Math.Max(0, -v)).DefaultIfEmpty(0).Max(),
            ComplementarySlackness = l.Zip(margins, (v, m) => Math.Abs(v * (m - 1))).DefaultIfEmpty(0).Max(),
            Delta = Math.Max(0, l.Zip(margins, (v, m) => v * (m - 1)).DefaultIfEmpty(0).Max()),
            MinMargin = margins.DefaultIfEmpty(double.NaN).Min(),
            Margins = margins,
            Lambda = l,
            Support = Enumerable.Range(0, l.Length).Where(i => l[i] > SupportRelativeTolerance * maxL && l[i] > 0).ToArray(),
            Fitted = fitted,
        };
    }

    /// <summary>For a trained network: rescale θ to unit minimum margin on the set (θ̃ = θ / q_min^{1/L}), fit λ by NNLS, diagnose.</summary>
    public static KktReport DiagnoseTrained(HomogeneousMlp net, LabelledSet train)
    {
        using var rescaled = net.RescaledToUnitMargin(train.X, train.Y);
        using var unweighted = new LabelledSet(train.X, train.Y);
        return Diagnose(rescaled, unweighted);
    }

    /// <summary>
    /// The KKT diagnostics of the true set along a training run, one row per checkpoint: step, relative stationarity
    /// residual with fitted λ (scale-invariant, so defined before the data are fitted), and — once every point is
    /// classified correctly — δ after rescaling to unit minimum margin (NaN before), and the normalised margin.
    /// </summary>
    public static KktTrajectoryRow[] TrajectoryRows(IEnumerable<KeyValuePair<int, HomogeneousMlp>> checkpoints, LabelledSet train)
    {
        var rows = new List<KktTrajectoryRow>();
        using var unweighted = new LabelledSet(train.X, train.Y);
        foreach (var (step, net) in checkpoints)
        {
            bool fitted = net.MinMargin(train.X, train.Y) > 0;
            var r = fitted ? DiagnoseTrained(net, train) : Diagnose(net, unweighted);
            rows.Add(new KktTrajectoryRow(step, r.RelativeStationarity, fitted ? r.Delta : double.NaN, net.NormalisedMargin(train.X, train.Y)));
        }
        return rows.ToArray();
    }

    /// <summary><see cref="TrajectoryRows"/> as a table (columns step, relative_stationarity, delta, normalized_margin).</summary>
    public static DataFrame Trajectory(IEnumerable<KeyValuePair<int, HomogeneousMlp>> checkpoints, LabelledSet train) =>
        KktTrajectoryRow.ToDataFrame(TrajectoryRows(checkpoints, train));

    static void CheckDims(HomogeneousMlp net, LabelledSet set)
    {
        if (set.Dim != net.InputDim) throw new ArgumentException($"The set has points of dimension {set.Dim} but the network takes inputs of dimension {net.InputDim}.");
        if (set.Count == 0) throw new ArgumentException("The set is empty.");
    }

    static void CheckLambda(LabelledSet set, Tensor lambda)
    {
        if (lambda.dim() != 1 || lambda.shape[0] != set.Count)
            throw new ArgumentException($"lambda must be a vector of {set.Count} multipliers, got shape [{string.Join(", ", lambda.shape)}].", nameof(lambda));
        Numerics.CheckFinite(lambda, nameof(lambda));
    }

    static double[] ToArray(Tensor t) { using var c = t.detach().to(ScalarType.Float64, CPU).contiguous(); return c.data<double>().ToArray(); }
}

/// <summary>One checkpoint of <see cref="KktConditions.TrajectoryRows"/>.</summary>
/// <param name="Step">GD step of the checkpoint.</param>
/// <param name="RelativeStationarity">‖θ − Σ λ_i y_i ∇_θΦ(x_i)‖ / ‖θ‖ with λ fitted by NNLS.</param>
/// <param name="Delta">δ = max_i λ_i (y_i Φ(x_i) − 1) after rescaling to unit minimum margin; NaN before the data are fitted.</param>
/// <param name="NormalizedMargin">min_i y_i Φ(θ; x_i) / ‖θ‖^L.</param>
public sealed record KktTrajectoryRow(int Step, double RelativeStationarity, double Delta, double NormalizedMargin)
{
    /// <summary>The rows as a table, columns step, relative_stationarity, delta, normalized_margin.</summary>
    public static DataFrame ToDataFrame(IEnumerable<KktTrajectoryRow> rows)
    {
        var r = rows.ToList();
        return new DataFrame(new Int32DataFrameColumn("step", r.Select(x => x.Step)), new DoubleDataFrameColumn("relative_stationarity", r.Select(x => x.RelativeStationarity)),
            new DoubleDataFrameColumn("delta", r.Select(x => x.Delta)), new DoubleDataFrameColumn("normalized_margin", r.Select(x => x.NormalizedMargin)));
    }
}
