using Microsoft.Data.Analysis;
using NoPrior.Metrics;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>
/// What the evaluator knows and the attacker does not: the training points [n, d] as the network saw them, a fresh sample
/// [k, d] from the same distribution that the network never saw, and the coordinates to judge in. The fresh sample
/// sets the yardstick of <see cref="GoodRule.Default"/> (Cohen et al. 2024: a reconstruction says something about the
/// training set only where it is closer to it than a fresh sample is).
/// </summary>
public sealed class EvaluationReference : IDisposable
{
    /// <summary>Builds the reference and its yardstick.</summary>
    public EvaluationReference(Tensor train, Tensor fresh, EvaluationSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        if (train.dim() != 2 || fresh.dim() != 2 || fresh.shape[1] != train.shape[1])
            throw new ArgumentException($"The training points and the fresh sample must be matrices with the same number of columns, got [{string.Join(", ", train.shape)}] and [{string.Join(", ", fresh.shape)}].");
        if (train.shape[0] < 2) throw new ArgumentException("The evaluation needs at least two training points (one baseline is the nearest other one).", nameof(train));
        Numerics.CheckFinite(train, nameof(train));
        Numerics.CheckFinite(fresh, nameof(fresh));
        Train = train.detach().to(ScalarType.Float64, CPU).clone();
        Fresh = fresh.detach().to(ScalarType.Float64, CPU).clone();
        Space = space;
        Yardstick = ReconstructionEvaluation.Yardstick(Train, Fresh, Space);
    }

    /// <summary>Training points [n, d] in the network's coordinates.</summary>
    public Tensor Train { get; }
    /// <summary>A fresh sample [k, d] from the same distribution, never seen by the network.</summary>
    public Tensor Fresh { get; }
    /// <summary>How to centre the rows and view them as pixels.</summary>
    public EvaluationSpace Space { get; }
    /// <summary>Per training point, the best cosine that any other real image reaches (<see cref="ReconstructionEvaluation.Yardstick"/>).</summary>
    public double[] Yardstick { get; }
    /// <summary>Number of training points n.</summary>
    public int Count => (int)Train.shape[0];

    /// <summary>Judges <paramref name="candidates"/> [m, d] under one rule against this reference (the yardstick included), e.g.
    /// the good count an oracle selection ranks runs by.</summary>
    public RuleResult Evaluate(Tensor candidates, GoodRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return ReconstructionEvaluation.Evaluate(Train, candidates, rule, Space, Yardstick);
    }

    readonly Dictionary<DistanceKind, Tensor> _trainingDistances = new();
    readonly Dictionary<DistanceKind, Tensor> _nearestOther = new();
    readonly Dictionary<GoodRule, (int Truth, int Zeros, int OtherTraining, int FreshSample)> _baselines = new();

    /// <summary>The counts of the candidate-free baselines under <paramref name="rule"/>: the truth, all-zero candidates, each
    /// point's nearest other training point, the fresh sample. They depend on the reference only, so they are computed once
    /// per rule, and the training set's own distances (its cost matrix as candidates, and where the nearest other point is
    /// looked up) once per distance kind.</summary>
    internal (int Truth, int Zeros, int OtherTraining, int FreshSample) Baselines(GoodRule rule)
    {
        lock (_baselines)
        {
            if (_baselines.TryGetValue(rule, out var known)) return known;
            if (!_trainingDistances.TryGetValue(rule.Distance, out var distances))
            {
                distances = _trainingDistances[rule.Distance] = ReconstructionEvaluation.TrainingDistances(Train, rule.Distance, Space);
                using var idx = torch.tensor(ReconstructionEvaluation.NearestOther(distances).Select(i => (long)i).ToArray());
                _nearestOther[rule.Distance] = Train.index_select(0, idx);
            }
            using var zeros = torch.zeros_like(Train);
            var counts = (
                ReconstructionEvaluation.Evaluate(Train, Train, rule, Space, Yardstick, distances).Good,
                Evaluate(zeros, rule).Good,
                ReconstructionEvaluation.EvaluatePaired(Train, _nearestOther[rule.Distance], rule, Space, Yardstick).Good,
                Evaluate(Fresh, rule).Good);
            _baselines[rule] = counts;
            return counts;
        }
    }

    public void Dispose()
    {
        Train.Dispose(); Fresh.Dispose();
        foreach (var t in _trainingDistances.Values.Concat(_nearestOther.Values)) t.Dispose();
    }
}

/// <summary>The count of a rule on the attack's output and on the candidate sets that must fail it.</summary>
/// <param name="Rule">The rule's name.</param>
/// <param name="Attack">Training points reconstructed by the evaluated candidates.</param>
/// <param name="Truth">The training set itself as the candidates: a sound rule gives n.</param>
/// <param name="Zeros">All-zero candidates (they display as the mean image): a sound rule gives 0.</param>
/// <param name="Init">The attack's own initial candidates, before any optimisation (−1 when the candidates are not an attack's).</param>
/// <param name="OtherTraining">Each training point paired with its nearest other training point: a reconstruction of x_i must be more than "some other training image".</param>
/// <param name="FreshSample">The fresh sample as the candidates (same distribution, never seen). Under the default rule it is the yardstick itself, so it scores 0 by construction.</param>
/// <param name="MeanScore">Mean score of the evaluated candidates' pairs (SSIM or cosine).</param>
public sealed record RuleCounts(string Rule, int Attack, int Truth, int Zeros, int Init, int OtherTraining, int FreshSample, double MeanScore)
{
    /// <summary>The baselines that must fail the rule, by name (the truth is not one: it must pass it). Init is −1 when absent.</summary>
    public IReadOnlyList<(string Name, int Count)> Baselines => new[] { ("zeros", Zeros), ("init", Init), ("other training", OtherTraining), ("fresh sample", FreshSample) };
    /// <summary>The largest count any baseline reaches under the rule, max(zeros, init, other training, fresh sample): the
    /// attack's count says something only above it.</summary>
    public int BestBaseline => Baselines.Max(b => b.Count);
    /// <summary>Which baseline reaches <see cref="BestBaseline"/> (the first in the order zeros, init, other training, fresh sample).</summary>
    public string BestBaselineName => Baselines.First(b => b.Count == BestBaseline).Name;
    /// <summary>The attack's count minus <see cref="BestBaseline"/>: how many reconstructions exceed what a baseline reaches.</summary>
    public int Excess => Attack - BestBaseline;
}

/// <summary>
/// A candidate set judged under every rule of <see cref="GoodRule.Standard"/>, beside the baselines that must fail each rule.
/// A count means something only where it exceeds every baseline's count under the same rule.
/// </summary>
public sealed class AttackEvaluation
{
    /// <summary>One row per rule.</summary>
    public required IReadOnlyList<RuleCounts> Rules { get; init; }
    /// <summary>The default rule's detailed result on the evaluated candidates (many-to-one).</summary>
    public required RuleResult Default { get; init; }
    /// <summary>The default rule with a one-to-one assignment.</summary>
    public required RuleResult DefaultOneToOne { get; init; }
    /// <summary>The reference rule's (SSIM 3×3 &gt; 0.4, L2-nearest) detailed result, for pictures; null without images.</summary>
    public RuleResult? Reference { get; init; }
    /// <summary>Number of training points n.</summary>
    public required int Count { get; init; }

    /// <summary>Training points reconstructed under <see cref="GoodRule.Default"/>, many-to-one.</summary>
    public int Good => Default.Good;
    /// <summary>The same with a one-to-one assignment.</summary>
    public int GoodOneToOne => DefaultOneToOne.Good;
    /// <summary>The baselines' counts under the default rule.</summary>
    public RuleCounts DefaultCounts => Rules[0];
    /// <summary>The counts under <paramref name="rule"/> (one of <see cref="GoodRule.Standard"/>).</summary>
    public RuleCounts CountsOf(GoodRule rule) => Rules.SingleOrDefault(r => r.Rule == rule.Name)
        ?? throw new ArgumentException($"Rule '{rule.Name}' was not evaluated here; the rules are: {string.Join("; ", Rules.Select(r => r.Rule))}.", nameof(rule));

    /// <summary>
    /// Judges <paramref name="candidates"/> [m, d] (same coordinates as the training points) under every rule of
    /// <see cref="GoodRule.Standard"/>, together with the baselines: the truth, all-zero candidates,
    /// <paramref name="initialCandidates"/> (the attack's start, if any), each point's nearest other training point, and
    /// the fresh sample. The candidate-free baselines come from <paramref name="reference"/>, which computes them once.
    /// </summary>
    public static AttackEvaluation Evaluate(Tensor candidates, Tensor? initialCandidates, EvaluationReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var rules = GoodRule.Standard(reference.Space.Shape is not null);
        var rows = new List<RuleCounts>();
        var results = new Dictionary<GoodRule, RuleResult>();
        foreach (var rule in rules)
        {
            var attack = results[rule] = reference.Evaluate(candidates, rule);
            var (truth, zeros, otherTraining, freshSample) = reference.Baselines(rule);
            int init = initialCandidates is null ? -1 : reference.Evaluate(initialCandidates, rule).Good;
            rows.Add(new RuleCounts(rule.Name, attack.Good, truth, zeros, init, otherTraining, freshSample, attack.MeanScore));
        }
        return new AttackEvaluation
        {
            Rules = rows, Count = reference.Count,
            Default = results[GoodRule.Default],
            DefaultOneToOne = results[GoodRule.Default.OneToOne()],
            Reference = results.GetValueOrDefault(GoodRule.ReferenceSsim3),
        };
    }

    /// <summary>The table: one row per rule, the evaluated count beside each baseline's.</summary>
    public DataFrame ToDataFrame() => new(
        new StringDataFrameColumn("rule", Rules.Select(r => r.Rule)),
        new Int32DataFrameColumn("attack", Rules.Select(r => r.Attack)),
        new Int32DataFrameColumn("truth", Rules.Select(r => r.Truth)),
        new Int32DataFrameColumn("zeros", Rules.Select(r => r.Zeros)),
        new Int32DataFrameColumn("init", Rules.Select(r => r.Init)),
        new Int32DataFrameColumn("other training", Rules.Select(r => r.OtherTraining)),
        new Int32DataFrameColumn("fresh sample", Rules.Select(r => r.FreshSample)),
        new DoubleDataFrameColumn("mean score", Rules.Select(r => r.MeanScore)));

    /// <summary>The object written to a notebook's results JSON under <c>evaluation</c>: the default rule's counts
    /// (<c>good</c>, <c>good_one_to_one</c>, <c>baselines</c>, <c>best_baseline</c>) and every rule's row.</summary>
    public object ToJson()
    {
        var d = DefaultCounts;
        return new
        {
            rule = d.Rule,
            n = Count,
            good = Good,
            good_one_to_one = GoodOneToOne,
            baselines = new { truth = d.Truth, zeros = d.Zeros, init = d.Init, other_training = d.OtherTraining, fresh_sample = d.FreshSample },
            best_baseline = new { count = d.BestBaseline, name = d.BestBaselineName },
            rules = Rules.Select(r => new { rule = r.Rule, attack = r.Attack, truth = r.Truth, zeros = r.Zeros, init = r.Init, other_training = r.OtherTraining, fresh_sample = r.FreshSample, mean_score = r.MeanScore, best_baseline = r.BestBaseline }),
        };
    }
}
