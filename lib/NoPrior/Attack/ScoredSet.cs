using Microsoft.Data.Analysis;
using NoPrior.Kkt;
using NoPrior.Metrics;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>
/// One row of the tables that put the attack's output beside the truth: a weighted set (the training set with fitted
/// multipliers, a far-away or merged set, an attack's output), what the attacker's objective says of it, and what the
/// evaluator says of it. The objective columns need only the network; D5 and the counts need the training set.
/// </summary>
/// <param name="Name">What the set is.</param>
/// <param name="Loss">The attack objective L at the set (with the objective's prior, if any).</param>
/// <param name="Stationary">L_stationary with the modified ReLU (α as in the objective).</param>
/// <param name="StationaryPlainRelu">L_stationary with the plain ReLU: the KKT residual without the α-smoothing.</param>
/// <param name="Layers">L_stationary split per weight layer (modified ReLU).</param>
/// <param name="InitialLoss">L at the attack's initialisation (NaN for a set that is not an attack's output).</param>
/// <param name="D5">Mean over the 5 candidates closest to the training set of their L2 distance to it.</param>
/// <param name="D5ScaleInvariant">The same after the best rescaling of each candidate (min_c≥0 ‖c·x' − x‖).</param>
/// <param name="MeanNorm">Mean ‖x'‖ of the set.</param>
/// <param name="Evaluation">Counts under every rule, beside the baselines.</param>
public sealed record ScoredSet(string Name, double Loss, double Stationary, double StationaryPlainRelu, IReadOnlyList<LayerStationarity> Layers,
    double InitialLoss, double D5, double D5ScaleInvariant, double MeanNorm, AttackEvaluation Evaluation)
{
    /// <summary>Scores a weighted set (λ in the attack's scaling, m·λ_KKT; see <see cref="AttackObjective.FitAttackMultipliers"/>).</summary>
    public static ScoredSet Of(string name, HomogeneousMlp net, LabelledSet set, AttackObjective objective, EvaluationReference reference,
        Tensor? initialCandidates = null, double initialLoss = double.NaN)
    {
        ArgumentNullException.ThrowIfNull(net); ArgumentNullException.ThrowIfNull(set); ArgumentNullException.ThrowIfNull(objective); ArgumentNullException.ThrowIfNull(reference);
        var values = objective.Evaluate(net, set);
        var plain = (objective with { PlainRelu = true }).Evaluate(net, set);
        int best = (int)Math.Min(5, set.Count);
        using var norms = set.X.norm(1);
        return new ScoredSet(name, values.Total, values.Stationary, plain.Stationary, objective.StationarityByLayer(net, set), initialLoss,
            ReconstructionEvaluation.MeanDistanceOfBest(set.X, reference.Train, best),
            ReconstructionEvaluation.MeanDistanceOfBest(set.X, reference.Train, best, scaleInvariant: true),
            norms.mean().ToDouble(), AttackEvaluation.Evaluate(set.X, initialCandidates, reference));
    }

    /// <summary>Scores an attack's output with the run's own objective; the init baseline is the run's start.</summary>
    public static ScoredSet Of(string name, HomogeneousMlp net, AttackResult run, EvaluationReference reference)
    {
        ArgumentNullException.ThrowIfNull(run);
        double initial = ((DoubleDataFrameColumn)run.History["total"])[0] ?? double.NaN;
        return Of(name, net, run.Candidates, run.Settings.Objective, reference, run.InitialCandidates.X, initial);
    }

    /// <summary>
    /// The table: one row per set, with L, L_stationary (modified and plain ReLU), per layer k the residual
    /// ‖θ_k − G_k‖² beside ‖θ_k‖² (and ‖θ_k(0)‖² of <paramref name="initialNetwork"/>, if given), D5 (L2 and scale-invariant),
    /// mean ‖x'‖, and the default rule's counts beside the zeros, init and fresh-sample baselines.
    /// </summary>
    public static DataFrame ToDataFrame(IEnumerable<ScoredSet> rows, HomogeneousMlp? initialNetwork = null)
    {
        var list = rows.ToList();
        var df = new DataFrame(
            new StringDataFrameColumn("set", list.Select(r => r.Name)),
            new DoubleDataFrameColumn("L", list.Select(r => r.Loss)),
            new DoubleDataFrameColumn("L_stat", list.Select(r => r.Stationary)),
            new DoubleDataFrameColumn("L_stat plain ReLU", list.Select(r => r.StationaryPlainRelu)));
        int depth = list.Count == 0 ? 0 : list[0].Layers.Count;
        for (int k = 0; k < depth; k++)
        {
            int layer = k;
            df.Columns.Add(new DoubleDataFrameColumn($"‖θ{layer + 1}−G{layer + 1}‖²", list.Select(r => r.Layers[layer].Residual)));
            df.Columns.Add(new DoubleDataFrameColumn($"‖θ{layer + 1}‖²", list.Select(r => r.Layers[layer].WeightNormSquared)));
            if (initialNetwork is not null && layer < initialNetwork.Depth)
            {
                double w0 = initialNetwork.Weights[layer].square().sum().ToDouble();
                df.Columns.Add(new DoubleDataFrameColumn($"‖θ{layer + 1}(0)‖²", list.Select(_ => w0)));
            }
        }
        df.Columns.Add(new DoubleDataFrameColumn("D5", list.Select(r => r.D5)));
        df.Columns.Add(new DoubleDataFrameColumn("D5 scale-inv.", list.Select(r => r.D5ScaleInvariant)));
        df.Columns.Add(new DoubleDataFrameColumn("mean ‖x′‖", list.Select(r => r.MeanNorm)));
        df.Columns.Add(new Int32DataFrameColumn("good", list.Select(r => r.Evaluation.Good)));
        df.Columns.Add(new Int32DataFrameColumn("good 1:1", list.Select(r => r.Evaluation.GoodOneToOne)));
        df.Columns.Add(new Int32DataFrameColumn("zeros", list.Select(r => r.Evaluation.DefaultCounts.Zeros)));
        df.Columns.Add(new Int32DataFrameColumn("init", list.Select(r => r.Evaluation.DefaultCounts.Init)));
        df.Columns.Add(new Int32DataFrameColumn("fresh", list.Select(r => r.Evaluation.DefaultCounts.FreshSample)));
        return df;
    }

    /// <summary>The row for the results JSON (per-layer split as arrays, the evaluation under <c>evaluation</c>).</summary>
    public object ToJson(HomogeneousMlp? initialNetwork = null) => new
    {
        name = Name,
        loss = Loss,
        stationary = Stationary,
        stationary_plain_relu = StationaryPlainRelu,
        initial_loss = InitialLoss,
        layer_residual = Layers.Select(l => l.Residual),
        layer_weight_norm_squared = Layers.Select(l => l.WeightNormSquared),
        layer_sum_norm_squared = Layers.Select(l => l.SumNormSquared),
        layer_initial_weight_norm_squared = initialNetwork?.Weights.Select(w => w.square().sum().ToDouble()),
        d5 = D5,
        d5_scale_invariant = D5ScaleInvariant,
        mean_norm = MeanNorm,
        evaluation = Evaluation.ToJson(),
    };
}
