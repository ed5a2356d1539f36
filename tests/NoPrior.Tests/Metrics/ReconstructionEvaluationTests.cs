using NoPrior.Data;
using NoPrior.Metrics;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ReconstructionEvaluationTests
{
    static Tensor Rand(long seed, params long[] shape) => torch.rand(shape, dtype: ScalarType.Float64, generator: new Generator((ulong)seed));

    [Fact]
    public void Default_rule_passes_the_truth_and_its_rescaling_and_fails_zeros_noise_and_the_fresh_sample()
    {
        using var data = Mnist.OddVsEven(2);
        using var fresh = data.FreshSample(0);
        var space = EvaluationSpace.Images(data.Mean, data.Shape);
        var yard = ReconstructionEvaluation.Yardstick(data.X, fresh.X, space);
        int n = (int)data.Count;
        int Good(Tensor c) => ReconstructionEvaluation.Evaluate(data.X, c, GoodRule.Default, space, yard).Good;
        Assert.Equal(n, Good(data.X));
        using var scaled = data.X * 7.5;   // the objective cannot fix a candidate's scale; neither does the rule
        Assert.Equal(n, Good(scaled));
        using var zeros = torch.zeros_like(data.X);
        Assert.Equal(0, Good(zeros));
        using var noise = Rand(3, n, 784) - 0.5;
        Assert.Equal(0, Good(noise));
        Assert.Equal(0, Good(fresh.X));    // the yardstick itself: 0 by construction
        Assert.All(yard, t => Assert.True(t > 0.2 && t < 1, $"yardstick {t}"));
    }

    [Fact]
    public void The_reference_ssim_rule_is_passed_by_all_zero_candidates_which_is_why_it_is_not_the_default()
    {
        using var data = Mnist.OddVsEven(2);
        var space = EvaluationSpace.Images(data.Mean, data.Shape);
        using var zeros = torch.zeros_like(data.X);
        var reference = ReconstructionEvaluation.Evaluate(data.X, zeros, GoodRule.ReferenceSsim3, space);
        Assert.True(reference.Good >= data.Count / 2, $"zeros pass the 3×3 SSIM rule for {reference.Good} of {data.Count}");
        Assert.Equal((int)data.Count, ReconstructionEvaluation.Evaluate(data.X, data.X, GoodRule.ReferenceSsim3, space).Good);
    }

    [Fact]
    public void A_secret_offset_is_subtracted_once_so_the_truth_still_scores_perfectly()
    {
        using var data = Mnist.OddVsEven(1);
        const double c = 2.0;
        using var shifted = data.X + c;
        var space = EvaluationSpace.Images(data.Mean, data.Shape, c);
        var ssim = ReconstructionEvaluation.Evaluate(shifted, shifted, GoodRule.ReferenceSsim11, space);
        Assert.All(ssim.Scores, s => Assert.True(Math.Abs(s - 1) < 1e-9, $"{s}"));
        // Adding the offset twice (pixels + 2c) is the bug this guards against: the same pairs then score below 1.
        var wrong = ReconstructionEvaluation.Evaluate(shifted, shifted, GoodRule.ReferenceSsim11, EvaluationSpace.Images(data.Mean + c, data.Shape, c));
        Assert.Contains(wrong.Scores, s => s < 0.999);
        using var fresh = data.FreshSample(1);
        using var freshShifted = fresh.X + c;
        var yard = ReconstructionEvaluation.Yardstick(shifted, freshShifted, space);
        Assert.Equal((int)data.Count, ReconstructionEvaluation.Evaluate(shifted, shifted, GoodRule.Default, space, yard).Good);
    }

    [Fact]
    public void One_to_one_matching_cannot_count_one_candidate_twice()
    {
        using var train = torch.eye(4, 6, dtype: ScalarType.Float64);
        using var one = train[0].unsqueeze(0) + 0.0;
        var space = EvaluationSpace.Vectors(6);
        var many = ReconstructionEvaluation.Evaluate(train, one, GoodRule.Default with { BeatYardstick = false, Threshold = -0.5 }, space);
        var single = ReconstructionEvaluation.Evaluate(train, one, GoodRule.Default.OneToOne() with { BeatYardstick = false, Threshold = -0.5 }, space);
        Assert.Equal(4, many.Good);
        Assert.Equal(1, single.Good);
        Assert.Equal(new[] { 0, -1, -1, -1 }, single.Match.Assignment);
    }

    [Fact]
    public void Paired_evaluation_and_nearest_other_point()
    {
        using var train = torch.tensor(new double[,] { { 1, 0, 0 }, { 0.9, 0.1, 0 }, { 0, 0, 1 } });
        var space = EvaluationSpace.Vectors(3);
        Assert.Equal(new[] { 1, 0, 1 }, ReconstructionEvaluation.NearestOther(train, DistanceKind.L2, space));
        using var fresh = torch.tensor(new double[,] { { 0, 1, 0 } });
        var yard = ReconstructionEvaluation.Yardstick(train, fresh, space);
        using var other = train.index_select(0, torch.tensor(new long[] { 1, 0, 1 }));
        Assert.Equal(0, ReconstructionEvaluation.EvaluatePaired(train, other, GoodRule.Default, space, yard).Good);
        Assert.Equal(3, ReconstructionEvaluation.EvaluatePaired(train, train, GoodRule.Default, space, yard).Good);
    }

    [Fact]
    public void Scale_invariant_distance_of_the_best_candidates()
    {
        using var train = torch.eye(4, 6, dtype: ScalarType.Float64);
        using var cand = torch.zeros(4, 6, dtype: ScalarType.Float64);
        cand[0] = train[0] * 1.1; cand[1] = train[1] * 0.8; cand[2] = train[2] * 6; cand[3] = train[3] * 8;
        Assert.Equal(0.15, ReconstructionEvaluation.MeanDistanceOfBest(cand, train, 2), 12);
        Assert.Equal(0.0, ReconstructionEvaluation.MeanDistanceOfBest(cand, train, 4, scaleInvariant: true), 12);
        // A candidate at 45° to every nearby point: min_c ‖c x' − x‖ = sin 45°.
        using var diag = torch.tensor(new double[,] { { 1, 1, 0, 0, 0, 0 } });
        Assert.Equal(Math.Sqrt(0.5), ReconstructionEvaluation.MeanDistanceOfBest(diag, train, 1, scaleInvariant: true), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => ReconstructionEvaluation.MeanDistanceOfBest(cand, train, 5));
    }

    [Fact]
    public void Bad_inputs_give_errors_that_name_the_problem()
    {
        using var train = torch.eye(3, 4, dtype: ScalarType.Float64);
        var vectors = EvaluationSpace.Vectors(4);
        Assert.Contains("needs images", Assert.Throws<ArgumentException>(() => ReconstructionEvaluation.Evaluate(train, train, GoodRule.ReferenceSsim3, vectors)).Message);
        Assert.Contains("yardstick", Assert.Throws<ArgumentException>(() => ReconstructionEvaluation.Evaluate(train, train, GoodRule.Default, vectors)).Message);
        using var nan = train.clone(); nan[0, 0] = double.NaN;
        Assert.Contains("candidates", Assert.Throws<ArgumentException>(() => ReconstructionEvaluation.Evaluate(train, nan, GoodRule.Default, vectors, new double[3])).Message);
        Assert.Contains("4 coordinates", Assert.Throws<ArgumentException>(() => ReconstructionEvaluation.Evaluate(train, torch.eye(3, 5, dtype: ScalarType.Float64), GoodRule.Default, vectors, new double[3])).Message);
    }

    [Fact]
    public void Fresh_samples_are_disjoint_from_the_training_set_and_deterministic()
    {
        using var data = Mnist.OddVsEven(5);
        using var a = data.FreshSample(3);
        using var b = data.FreshSample(3);
        using var c = data.FreshSample(4);
        Assert.Empty(a.SourceRows.Intersect(data.SourceRows));
        Assert.Equal(data.Classes.OrderBy(x => x), a.Classes.OrderBy(x => x));
        Assert.Equal(a.SourceRows, b.SourceRows);
        Assert.NotEqual(a.SourceRows, c.SourceRows);
        Assert.True(a.Mean.equal(data.Mean).all().item<bool>());
        using var big = Mnist.OddVsEven(60);
        Assert.Contains("fresh sample", Assert.Throws<InvalidOperationException>(() => big.FreshSample(0)).Message);
    }
}

public class DefaultRuleFloorTests
{
    [Fact]
    public void On_nearly_orthogonal_data_random_directions_fail_the_default_rule_only_because_of_its_floor()
    {
        using var data = NoPrior.Data.Synthetic.Sphere(20, 784, 0);
        using var fresh = NoPrior.Data.Synthetic.SphereFreshSample(20, 784, 0);
        var space = EvaluationSpace.Vectors(784);
        var yard = ReconstructionEvaluation.Yardstick(data.X, fresh.X, space);
        using var random = NoPrior.Attack.CandidateInit.Sphere(1).Draw(40, 784, RandomStreams.Generator(RandomRole.AttackInit, 0));
        Assert.Equal(0, ReconstructionEvaluation.Evaluate(data.X, random, GoodRule.Default, space, yard).Good);
        // Without the floor (the yardstick alone), random directions beat the nearly orthogonal real points by chance.
        Assert.True(ReconstructionEvaluation.Evaluate(data.X, random, GoodRule.Default with { Threshold = -1 }, space, yard).Good >= 3);
        Assert.Equal(20, ReconstructionEvaluation.Evaluate(data.X, data.X, GoodRule.Default, space, yard).Good);
    }
}

public class DefaultRuleShiftTests
{
    [Fact]
    public void Under_a_secret_offset_a_constant_candidate_is_no_reconstruction_for_ncc_but_is_for_the_cosine()
    {
        using var data = NoPrior.Data.FashionMnist.UpperBodyVsRest(2);
        using var fresh = data.FreshSample(0);
        const double c = 2.0;
        using var shifted = data.X + c;
        using var freshShifted = fresh.X + c;
        var space = EvaluationSpace.Images(data.Mean, data.Shape, c);
        using var zeros = torch.zeros_like(shifted);   // in pixels: the mean image darkened by c, a constant direction once centred
        var ncc = ReconstructionEvaluation.Evaluate(shifted, zeros, GoodRule.Default, space, ReconstructionEvaluation.Yardstick(shifted, freshShifted, space));
        Assert.Equal(0, ncc.Good);
        // Why the default is NCC: with the cosine, "uniformly darker than the mean" passes for the darkest garments.
        var cosineRule = GoodRule.Default with { Distance = DistanceKind.Cosine, Score = ScoreKind.Cosine };
        var cos = ReconstructionEvaluation.Evaluate(shifted, zeros, cosineRule, space, ReconstructionEvaluation.Yardstick(shifted, freshShifted, space, ScoreKind.Cosine));
        Assert.True(cos.Good > 0, $"cosine counted {cos.Good}");
    }
}
