using NoPrior.Attack;
using NoPrior.Data;
using NoPrior.Metrics;
using NoPrior.Networks;
using NoPrior.Training;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class AttackEvaluationTests
{
    [Fact]
    public void Every_baseline_scores_as_it_must_and_the_json_carries_the_counts()
    {
        using var data = Mnist.OddVsEven(2);
        using var fresh = data.FreshSample(0);
        using var reference = new EvaluationReference(data.X, fresh.X, EvaluationSpace.Images(data.Mean, data.Shape));
        using var noise = torch.randn(20, 784, dtype: ScalarType.Float64, generator: new Generator(1)) * 1e-3;
        var ev = AttackEvaluation.Evaluate(data.X, noise, reference);
        var d = ev.DefaultCounts;
        Assert.Equal(20, ev.Good);
        Assert.Equal(20, ev.GoodOneToOne);
        Assert.Equal((20, 0, 0, 0, 0), (d.Truth, d.Zeros, d.Init, d.OtherTraining, d.FreshSample));
        Assert.Equal(GoodRule.Standard(true).Count, ev.Rules.Count);
        // The reference rule lets all-zero candidates through: the table shows it.
        var refRow = ev.Rules.Single(r => r.Rule == GoodRule.ReferenceSsim3.Name);
        Assert.True(refRow.Zeros > 0);
        var json = System.Text.Json.JsonSerializer.Serialize(ev.ToJson());
        foreach (var key in new[] { "\"good\":20", "\"good_one_to_one\":20", "\"baselines\"", "\"truth\":20", "\"zeros\":0", "\"init\":0", "\"other_training\":0", "\"fresh_sample\":0", "\"best_baseline\":{\"count\":0,\"name\":\"zeros\"}" })
            Assert.Contains(key, json);
        Assert.Equal(ev.Rules.Count, ev.ToDataFrame().Rows.Count);
    }

    [Fact]
    public void Best_baseline_is_the_largest_baseline_count_and_names_it()
    {
        var r = new RuleCounts("rule", Attack: 9, Truth: 20, Zeros: 0, Init: 3, OtherTraining: 5, FreshSample: 4, MeanScore: 0.5);
        Assert.Equal(5, r.BestBaseline);
        Assert.Equal("other training", r.BestBaselineName);
        Assert.Equal(4, r.Excess);
        // The truth is not a baseline (it must pass), an absent init (−1) never wins, ties go to the first in order.
        var absent = new RuleCounts("rule", Attack: 0, Truth: 20, Zeros: 0, Init: -1, OtherTraining: 0, FreshSample: 0, MeanScore: 0);
        Assert.Equal((0, "zeros"), (absent.BestBaseline, absent.BestBaselineName));
        Assert.Equal(0, absent.Excess);
        var tie = r with { Zeros = 7, FreshSample = 7 };
        Assert.Equal((7, "zeros"), (tie.BestBaseline, tie.BestBaselineName));
    }

    [Fact]
    public void Counts_equal_each_rule_applied_on_its_own_and_a_second_evaluation_reuses_the_baselines()
    {
        using var data = Mnist.OddVsEven(3);
        using var fresh = data.FreshSample(2);
        var space = EvaluationSpace.Images(data.Mean, data.Shape);
        using var reference = new EvaluationReference(data.X, fresh.X, space);
        // Candidates that reconstruct some training points and not others, so that the counts are not all 0 or n.
        using var gen = new Generator(4);
        using var noise = torch.randn(new long[] { 30, 784 }, dtype: ScalarType.Float64, generator: gen);
        using var candidates = torch.cat(new[] { data.X[..12] + 0.3 * noise[..12], noise[12..] }, 0);
        using var init = noise * 1e-3;
        var ev = AttackEvaluation.Evaluate(candidates, init, reference);
        Assert.InRange(ev.Good, 1, 29);

        var yard = reference.Yardstick;
        using var zeros = torch.zeros_like(data.X);
        foreach (var (rule, row) in GoodRule.Standard(true).Zip(ev.Rules))
        {
            int Good(Tensor set) => ReconstructionEvaluation.Evaluate(data.X, set, rule, space, yard).Good;
            // Nearest other training point, computed here directly from the distances in centred coordinates.
            using var centred = data.X - space.Centre;
            using var d = Distances.Compute(centred, centred, rule.Distance);
            using var masked = d.masked_fill(torch.eye(30, dtype: ScalarType.Bool), double.PositiveInfinity);
            using var nearest = masked.argmin(1);
            using var other = data.X.index_select(0, nearest);
            var expected = new RuleCounts(rule.Name, Good(candidates), Good(data.X), Good(zeros), Good(init),
                ReconstructionEvaluation.EvaluatePaired(data.X, other, rule, space, yard).Good, Good(fresh.X),
                ReconstructionEvaluation.Evaluate(data.X, candidates, rule, space, yard).MeanScore);
            Assert.Equal(expected, row);
        }
        Assert.Equal(ev.Rules.Single(r => r.Rule == GoodRule.Default.OneToOne().Name).Attack, ev.GoodOneToOne);
        Assert.Equal(ev.CountsOf(GoodRule.ReferenceSsim3), ev.Rules.Single(r => r.Rule == GoodRule.ReferenceSsim3.Name));
        Assert.Throws<ArgumentException>(() => ev.CountsOf(GoodRule.Default with { Name = "not evaluated" }));

        var again = AttackEvaluation.Evaluate(candidates, init, reference);
        Assert.Equal(ev.Rules, again.Rules);
        Assert.Equal(ev.Default.Scores, again.Default.Scores);
    }

    [Fact]
    public void Oracle_selection_ranks_runs_by_the_default_rule_alone()
    {
        using var train = Synthetic.Sphere(6, 10, 1);
        using var fresh = Synthetic.SphereFreshSample(6, 10, 1);
        using var reference = new EvaluationReference(train.X, fresh.X, EvaluationSpace.Vectors(10));
        using var net = HomogeneousMlp.Create(new[] { 10, 8, 1 }, 3);
        var settings = new AttackSettings { Candidates = 6, Steps = 1, Objective = AttackObjective.WithoutPrior, ProgressTitle = null };
        var runs = ReconstructionAttack.RunMany(net, settings, new long[] { 0, 1 });
        // A run whose candidates are the training set itself wins: it reconstructs every point.
        var perfect = ReconstructionAttack.Run(net, settings with { InitialCandidates = train.X, LearningRateX = 1e-12 });
        var all = runs.Append(perfect).ToList();
        var pick = OracleSelection.ByGoodCount(all, reference);
        Assert.Same(perfect, pick);
        Assert.Equal(6, reference.Evaluate(pick.Candidates.X, GoodRule.Default).Good);
    }

    [Fact]
    public void Without_an_attack_the_init_baseline_is_marked_absent()
    {
        using var train = Synthetic.Sphere(6, 10, 1);
        using var fresh = Synthetic.SphereFreshSample(6, 10, 1);
        using var reference = new EvaluationReference(train.X, fresh.X, EvaluationSpace.Vectors(10));
        var ev = AttackEvaluation.Evaluate(train.X, null, reference);
        Assert.Equal(2, ev.Rules.Count);   // no image rules for vectors
        Assert.Equal(-1, ev.DefaultCounts.Init);
        Assert.Null(ev.Reference);
    }

    [Fact]
    public void Stationarity_split_per_layer_sums_to_the_objective_and_plain_relu_is_evaluation_only()
    {
        using var data = Synthetic.Sphere(8, 12, 2);
        using var net0 = HomogeneousMlp.Create(new[] { 12, 16, 16, 1 }, 2, MlpInit.Reference);
        using var net = GradientDescent.Train(net0, data, new TrainingSettings(300, 0.2, LogEvery: 300)).Network;
        var lambda = NoPrior.Kkt.KktConditions.FitMultipliers(net, data);
        using var set = new LabelledSet(data.X, data.Y, lambda * 8);
        var obj = AttackObjective.WithoutPrior with { Alpha = 20 };
        var split = obj.StationarityByLayer(net, set);
        Assert.Equal(3, split.Count);
        Assert.Equal(obj.Evaluate(net, set).Stationary, split.Sum(l => l.Residual), 10);
        for (int k = 0; k < 3; k++) Assert.Equal(net.Weights[k].square().sum().ToDouble(), split[k].WeightNormSquared, 12);
        var plain = obj with { PlainRelu = true };
        Assert.Equal(plain.Evaluate(net, set).Stationary, plain.StationarityByLayer(net, set).Sum(l => l.Residual), 10);
        Assert.NotEqual(obj.Evaluate(net, set).Stationary, plain.Evaluate(net, set).Stationary);
        Assert.Contains("modified ReLU", Assert.Throws<ArgumentException>(() => ReconstructionAttack.Run(net, new AttackSettings { Objective = plain, Steps = 1, ProgressTitle = null })).Message);
    }

    [Fact]
    public void Reference_initialisation_matches_the_reference_network()
    {
        using var net = HomogeneousMlp.Create(new[] { 784, 300, 200, 1 }, 4, MlpInit.Reference);
        Assert.Equal(1e-4, net.Weights[0].std().ToDouble(), 6);
        double bound = 1 / Math.Sqrt(300);
        Assert.True(net.Weights[1].abs().max().ToDouble() <= bound);
        // U(−b, b) has variance b²/3.
        Assert.Equal(bound * bound / 3, net.Weights[1].square().mean().ToDouble(), 4);
        Assert.True(net.Weights[2].abs().max().ToDouble() <= 1 / Math.Sqrt(200));
        // The He-Gaussian default is not bounded by 1/√fan_in: the two initialisations differ.
        using var he = HomogeneousMlp.Create(new[] { 784, 300, 200, 1 }, 4, MlpInit.SmallFirstLayer);
        Assert.True(he.Weights[1].abs().max().ToDouble() > bound);
    }

    [Fact]
    public void Sweep_samples_in_the_reference_ranges_deterministically_and_keeps_diverged_trials()
    {
        var baseSettings = new AttackSettings { Candidates = 4, Steps = 5, Objective = AttackObjective.WithoutPrior, ProgressTitle = null };
        var a = AttackSweep.Sample(baseSettings, 20, 3);
        var b = AttackSweep.Sample(baseSettings, 20, 3);
        Assert.Equal(a.Select(s => s.LearningRateX), b.Select(s => s.LearningRateX));
        Assert.NotEqual(a.Select(s => s.LearningRateX), AttackSweep.Sample(baseSettings, 20, 4).Select(s => s.LearningRateX));
        Assert.All(a, s =>
        {
            Assert.InRange(s.Init.Scale, 1e-6, 0.1); Assert.InRange(s.LearningRateX, 1e-5, 1);
            Assert.InRange(s.Objective.LambdaMin, 0.01, 0.5); Assert.InRange(s.Objective.Alpha, 10, 500);
            Assert.Equal(CandidatePrior.None, s.Objective.Prior);
        });
        using var data = Synthetic.Sphere(4, 12, 5);
        using var net = GradientDescent.Train(HomogeneousMlp.Create(new[] { 12, 8, 1 }, 5), data, new TrainingSettings(100, 0.5, LogEvery: 100)).Network;
        var ranges = new SweepRanges(LearningRateXMin: 1e6, LearningRateXMax: 1e8);
        using var diverging = AttackSweep.Run(net, baseSettings with { Steps = 50 }, 2, 1, ranges);
        Assert.All(diverging.Trials, t => Assert.True(t.Diverged));
        Assert.Throws<InvalidOperationException>(() => diverging.SelectedByLoss);
        using var sweep = AttackSweep.Run(net, baseSettings, 4, 1, new SweepRanges(LearningRateXMax: 1e-2));
        Assert.Equal(sweep.Trials.Min(t => t.SelectionLoss), sweep.SelectedByLoss.SelectionLoss);
        Assert.Equal(4, sweep.ToDataFrame().Rows.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttackSweep.Sample(baseSettings, 1, 0, new SweepRanges(InitScaleMin: 0)));
    }
}
