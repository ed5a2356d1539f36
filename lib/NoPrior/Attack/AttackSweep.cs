using Microsoft.Data.Analysis;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>
/// The ranges of the reference's random sweep (Haim et al. 2022 chose the attack's settings this way): initial scale s of
/// the candidates log-uniform in [1e-6, 0.1], the candidates' learning rate log-uniform in [1e-5, 1], λ_min uniform in
/// [0.01, 0.5], the modified ReLU's α uniform in [10, 500].
/// </summary>
public sealed record SweepRanges(double InitScaleMin = 1e-6, double InitScaleMax = 0.1, double LearningRateXMin = 1e-5, double LearningRateXMax = 1,
    double LambdaMinMin = 0.01, double LambdaMinMax = 0.5, double AlphaMin = 10, double AlphaMax = 500)
{
    /// <summary>The reference's ranges.</summary>
    public static SweepRanges Reference { get; } = new();

    /// <summary>Throws if a range is empty or not positive where it is sampled on a log scale.</summary>
    public void Validate()
    {
        void Range(string name, double lo, double hi, bool log)
        {
            if (!double.IsFinite(lo) || !double.IsFinite(hi) || lo > hi || (log && lo <= 0))
                throw new ArgumentOutOfRangeException(name, $"The {name} range [{lo}, {hi}] is invalid{(log ? " (log-uniform ranges need 0 < min ≤ max)" : " (need min ≤ max)")}.");
        }
        Range("init scale", InitScaleMin, InitScaleMax, true);
        Range("x learning rate", LearningRateXMin, LearningRateXMax, true);
        Range("λ_min", LambdaMinMin, LambdaMinMax, false);
        Range("α", AlphaMin, AlphaMax, false);
        if (AlphaMin <= 0) throw new ArgumentOutOfRangeException(nameof(AlphaMin), $"α must be positive, got a range from {AlphaMin}.");
    }
}

/// <summary>One trial of a sweep: its settings and what came of them.</summary>
/// <param name="Index">0-based trial number.</param>
/// <param name="Settings">The full attack settings of the trial.</param>
/// <param name="Result">The run, or null if it diverged (loss not finite).</param>
/// <param name="SelectionLoss">The attacker-visible selection criterion: L_stationary of the final candidates under the
/// sweep's common objective (+∞ for a diverged trial).</param>
public sealed record SweepTrial(int Index, AttackSettings Settings, AttackResult? Result, double SelectionLoss)
{
    public double InitScale => Settings.Init.Scale;
    public double LearningRateX => Settings.LearningRateX;
    public double LambdaMin => Settings.Objective.LambdaMin;
    public double Alpha => Settings.Objective.Alpha;
    public bool Diverged => Result is null;
}

/// <summary>The trials of a sweep and the two ways of picking one.</summary>
public sealed class SweepResult : IDisposable
{
    /// <summary>Every trial in the order run.</summary>
    public required IReadOnlyList<SweepTrial> Trials { get; init; }

    /// <summary>The attacker's pick: the lowest <see cref="SweepTrial.SelectionLoss"/>. Uses no knowledge of the training set.</summary>
    public SweepTrial SelectedByLoss => Trials.Where(t => !t.Diverged).MinBy(t => t.SelectionLoss)
        ?? throw new InvalidOperationException("Every trial of the sweep diverged; narrow the learning-rate range.");

    /// <summary>ORACLE: the trial with the highest <paramref name="score"/>, a function that needs the training set (e.g. the
    /// good count). No attacker can make this choice; report it only as an upper bound, labelled as such.</summary>
    public SweepTrial OracleSelect(Func<AttackResult, double> score) => Trials.Where(t => !t.Diverged).MaxBy(t => score(t.Result!))
        ?? throw new InvalidOperationException("Every trial of the sweep diverged.");

    /// <summary>One row per trial: settings, final loss, selection loss, whether it diverged.</summary>
    public DataFrame ToDataFrame() => new(
        new Int32DataFrameColumn("trial", Trials.Select(t => t.Index)),
        new DoubleDataFrameColumn("init scale s", Trials.Select(t => t.InitScale)),
        new DoubleDataFrameColumn("x lr", Trials.Select(t => t.LearningRateX)),
        new DoubleDataFrameColumn("λ_min", Trials.Select(t => t.LambdaMin)),
        new DoubleDataFrameColumn("α", Trials.Select(t => t.Alpha)),
        new DoubleDataFrameColumn("final L (own objective)", Trials.Select(t => t.Result?.FinalLoss.Total ?? double.NaN)),
        new DoubleDataFrameColumn("selection L_stationary", Trials.Select(t => t.SelectionLoss)),
        new BooleanDataFrameColumn("diverged", Trials.Select(t => t.Diverged)));

    public void Dispose() { foreach (var t in Trials) t.Result?.Dispose(); }
}

/// <summary>
/// A small random search over the four settings the reference swept (<see cref="SweepRanges"/>). Trials differ in those four
/// only; the attack seed, step budget, prior and everything else come from the base settings. Since trials optimise
/// different objectives (α, λ_min differ), they are compared by one attacker-visible criterion: L_stationary of each
/// trial's final candidates and multipliers under the base settings' objective.
/// </summary>
public static class AttackSweep
{
    /// <summary>Draws <paramref name="count"/> settings from the <see cref="RandomRole.Sweep"/> stream of <paramref name="seed"/>.</summary>
    public static IReadOnlyList<AttackSettings> Sample(AttackSettings baseSettings, int count, long seed, SweepRanges? ranges = null)
    {
        ArgumentNullException.ThrowIfNull(baseSettings);
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"A sweep needs at least one trial, got {count}.");
        ranges ??= SweepRanges.Reference;
        ranges.Validate();
        using var gen = RandomStreams.Generator(RandomRole.Sweep, seed);
        using var u = torch.rand(count, 4, dtype: ScalarType.Float64, generator: gen);
        var v = u.data<double>().ToArray();
        static double Log(double lo, double hi, double t) => Math.Exp(Math.Log(lo) + t * (Math.Log(hi) - Math.Log(lo)));
        static double Lin(double lo, double hi, double t) => lo + t * (hi - lo);
        return Enumerable.Range(0, count).Select(i => baseSettings with
        {
            Init = baseSettings.Init with { Scale = Log(ranges.InitScaleMin, ranges.InitScaleMax, v[4 * i]) },
            LearningRateX = Log(ranges.LearningRateXMin, ranges.LearningRateXMax, v[4 * i + 1]),
            Objective = baseSettings.Objective with { LambdaMin = Lin(ranges.LambdaMinMin, ranges.LambdaMinMax, v[4 * i + 2]), Alpha = Lin(ranges.AlphaMin, ranges.AlphaMax, v[4 * i + 3]) },
            ProgressTitle = baseSettings.ProgressTitle is null ? null : $"{baseSettings.ProgressTitle} (trial {i + 1}/{count})",
        }).ToList();
    }

    /// <summary>Runs every sampled trial on <paramref name="net"/>. A trial whose loss stops being finite is kept as diverged.</summary>
    public static SweepResult Run(HomogeneousMlp net, AttackSettings baseSettings, int count, long seed, SweepRanges? ranges = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        var trials = new List<SweepTrial>();
        foreach (var (s, i) in Sample(baseSettings, count, seed, ranges).Select((s, i) => (s, i)))
        {
            AttackResult? r;
            try { r = ReconstructionAttack.Run(net, s); }
            catch (AttackDivergedException) { r = null; }
            double sel = r is null ? double.PositiveInfinity : baseSettings.Objective.Evaluate(net, r.Candidates).Stationary;
            trials.Add(new SweepTrial(i, s, r, sel));
        }
        return new SweepResult { Trials = trials };
    }
}

/// <summary>
/// Run selection with knowledge of the true training set — an ORACLE that no real attacker has. The reference used such a
/// selection to report its best runs; use it only to show an upper bound and say so. The attacker's own selection is
/// <see cref="ReconstructionAttack.SelectByLoss"/>.
/// </summary>
public static class OracleSelection
{
    /// <summary>ORACLE: the run with the most training points reconstructed under <see cref="Metrics.GoodRule.Default"/>
    /// (ties: the higher mean score).</summary>
    public static AttackResult ByGoodCount(IEnumerable<AttackResult> runs, EvaluationReference reference)
    {
        var list = runs.ToList();
        if (list.Count == 0) throw new ArgumentException("No runs to select from.", nameof(runs));
        ArgumentNullException.ThrowIfNull(reference);
        return list.Select(r => (Run: r, Default: reference.Evaluate(r.Candidates.X, Metrics.GoodRule.Default)))
            .OrderByDescending(s => s.Default.Good).ThenByDescending(s => s.Default.MeanScore).First().Run;
    }
}
