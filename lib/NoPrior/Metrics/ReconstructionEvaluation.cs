using Microsoft.Data.Analysis;
using NoPrior.Attack;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Metrics;

/// <summary>Shape of one image, so flattened rows [d] can be viewed as [C, H, W] with d = C·H·W.</summary>
public sealed record ImageShape(int Channels, int Height, int Width)
{
    public int Size => Channels * Height * Width;
    /// <summary>One-channel 28×28 (MNIST, Fashion-MNIST).</summary>
    public static ImageShape Mnist { get; } = new(1, 28, 28);
    /// <summary>Three-channel 32×32 (CIFAR-10).</summary>
    public static ImageShape Cifar { get; } = new(3, 32, 32);
}

/// <summary>Options of the reference evaluation.</summary>
/// <param name="Distance">How nearest candidates are found (reference: NCC; L2 for MNIST).</param>
/// <param name="Matching">Many-to-one (reference) or one-to-one.</param>
/// <param name="Ssim">SSIM parameters (reference: 3×3 Gaussian window, σ 1.5, L = 1).</param>
/// <param name="Threshold">A reconstruction counts as good at SSIM above this (reference 0.4).</param>
public sealed record EvaluationOptions(DistanceKind Distance = DistanceKind.NormalisedCrossCorrelation,
    MatchingKind Matching = MatchingKind.ManyToOne, SsimOptions? Ssim = null, double Threshold = 0.4)
{
    public static EvaluationOptions Reference { get; } = new();
    public static EvaluationOptions ReferenceMnist { get; } = new(Distance: DistanceKind.L2);
    public SsimOptions SsimOrDefault => Ssim ?? SsimOptions.Reference;
}

/// <summary>Per training image: its matched candidate, the distance and SSIM, plus the summary counts.</summary>
public sealed class EvaluationResult
{
    /// <summary>Columns: train_index, candidate_index (−1 if unpaired), distance, ssim, dssim.</summary>
    public required DataFrame PerTrainingPoint { get; init; }
    /// <summary>The matching used.</summary>
    public required MatchResult Match { get; init; }
    /// <summary>SSIM per training image (NaN if unpaired).</summary>
    public required double[] SsimValues { get; init; }
    /// <summary>The threshold of <see cref="GoodCount"/>.</summary>
    public required double Threshold { get; init; }
    /// <summary>Number of training images whose matched candidate has SSIM &gt; threshold.</summary>
    public int GoodCount => SsimValues.Count(s => s > Threshold);
    /// <summary>Mean SSIM over paired training images.</summary>
    public double MeanSsim => SsimValues.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}

/// <summary>
/// The reference evaluation of reconstructions (Haim et al. 2022, PAPER §2) and the fixes PAPER lists: one-to-one
/// matching, per-point margins, the first-layer-rows baseline, distances of the best candidates, blend fitting.
/// Training images and candidates are flattened rows in the attack's (mean-subtracted) coordinates.
/// </summary>
public static class ReconstructionEvaluation
{
    /// <summary>
    /// For each training image x_i (mean-subtracted, [n, d]) its candidate under <see cref="EvaluationOptions.Matching"/> on
    /// the distance <see cref="EvaluationOptions.Distance"/> computed in the given (mean-subtracted) coordinates; then, as the
    /// reference does, add the mean μ back to both, min-max scale the candidate x'_j + μ to [0, 1] (its scale is not
    /// determined by the attack), leave the training image x_i + μ as it is, and take SSIM of the two.
    /// (The CIFAR reference also downsamples by 2 before NCC; that is not done here.)
    /// </summary>
    public static EvaluationResult Evaluate(Tensor train, Tensor candidates, Tensor? mean, ImageShape shape, EvaluationOptions? options = null)
    {
        options ??= EvaluationOptions.Reference;
        var (tr, ca) = CheckPair(train, candidates, shape);
        using var scope = torch.NewDisposeScope();
        var cost = Distances.Compute(tr, ca, options.Distance);
        var match = Matching.Match(cost, options.Matching);
        var mu = mean is null ? torch.zeros(shape.Size, dtype: ScalarType.Float64) : CheckMean(mean, shape);
        int n = (int)tr.shape[0];
        var ssim = Enumerable.Repeat(double.NaN, n).ToArray();
        var paired = Enumerable.Range(0, n).Where(i => match.Assignment[i] >= 0).ToArray();
        if (paired.Length > 0)
        {
            var rows = torch.tensor(paired.Select(i => (long)i).ToArray());
            var cols = torch.tensor(paired.Select(i => (long)match.Assignment[i]).ToArray());
            var imgs = (tr.index_select(0, rows) + mu).reshape(-1, shape.Channels, shape.Height, shape.Width);
            var recs = Ssim.MinMaxScale(ca.index_select(0, cols) + mu).reshape(-1, shape.Channels, shape.Height, shape.Width);
            var s = Ssim.Compute(recs, imgs, options.SsimOrDefault).data<double>().ToArray();
            for (int k = 0; k < paired.Length; k++) ssim[paired[k]] = s[k];
        }
        var df = new DataFrame(
            new PrimitiveDataFrameColumn<int>("train_index", Enumerable.Range(0, n)),
            new PrimitiveDataFrameColumn<int>("candidate_index", match.Assignment),
            new DoubleDataFrameColumn("distance", match.Costs),
            new DoubleDataFrameColumn("ssim", ssim),
            new DoubleDataFrameColumn("dssim", ssim.Select(v => (1 - v) / 2)));
        return new EvaluationResult { PerTrainingPoint = df, Match = match, SsimValues = ssim, Threshold = options.Threshold };
    }

    /// <summary>
    /// One row per attack run: setting, seed, final attack loss L and its terms, the normalised residual
    /// √L_stationary/‖θ‖, the good count (SSIM &gt; threshold), mean SSIM, how many distinct candidates the matching used,
    /// steps and milliseconds per step. The loss columns are the attacker's; the SSIM columns need the training set.
    /// </summary>
    public static DataFrame RunTable(IEnumerable<(string Setting, AttackResult Run, EvaluationResult Evaluation)> rows)
    {
        var list = rows.ToList();
        return new DataFrame(
            new StringDataFrameColumn("setting", list.Select(r => r.Setting)),
            new PrimitiveDataFrameColumn<long>("seed", list.Select(r => r.Run.Settings.Seed)),
            new DoubleDataFrameColumn("final_loss", list.Select(r => r.Run.FinalLoss.Total)),
            new DoubleDataFrameColumn("stationary", list.Select(r => r.Run.FinalLoss.Stationary)),
            new DoubleDataFrameColumn("lambda_penalty", list.Select(r => r.Run.FinalLoss.Lambda)),
            new DoubleDataFrameColumn("prior", list.Select(r => r.Run.FinalLoss.Prior)),
            new DoubleDataFrameColumn("relative_stationary", list.Select(r => r.Run.FinalLoss.RelativeStationary)),
            new PrimitiveDataFrameColumn<int>("good", list.Select(r => r.Evaluation.GoodCount)),
            new DoubleDataFrameColumn("mean_ssim", list.Select(r => r.Evaluation.MeanSsim)),
            new PrimitiveDataFrameColumn<int>("distinct_candidates", list.Select(r => r.Evaluation.Match.DistinctColumns)),
            new PrimitiveDataFrameColumn<int>("steps", list.Select(r => r.Run.StepsDone)),
            new DoubleDataFrameColumn("ms_per_step", list.Select(r => r.Run.TimePerStep.TotalMilliseconds)));
    }

    /// <summary>Number of training images reconstructed with SSIM &gt; <paramref name="threshold"/> (reference 0.4).</summary>
    public static int CountAboveThreshold(EvaluationResult result, double threshold = 0.4) => result.SsimValues.Count(s => s > threshold);

    /// <summary>
    /// The per-training-point table of the reference's "SSIM against margin" plot: train_index, label, margin y_iΦ(x_i),
    /// candidate_index, distance, ssim, and, if given, the multiplier λ_i (e.g. fitted by NNLS; on the margin λ_i may be &gt; 0).
    /// </summary>
    public static DataFrame WithMargins(EvaluationResult result, HomogeneousMlp net, Tensor train, Tensor labels, Tensor? multipliers = null)
    {
        using var margins = net.Margins(train, labels);
        var mg = margins.to(ScalarType.Float64, CPU).data<double>().ToArray();
        if (mg.Length != result.SsimValues.Length) throw new ArgumentException($"The evaluation has {result.SsimValues.Length} training points but {mg.Length} were given.");
        var y = labels.to(ScalarType.Float64, CPU).data<double>().ToArray();
        var df = new DataFrame(
            new PrimitiveDataFrameColumn<int>("train_index", Enumerable.Range(0, mg.Length)),
            new DoubleDataFrameColumn("label", y),
            new DoubleDataFrameColumn("margin", mg),
            new PrimitiveDataFrameColumn<int>("candidate_index", result.Match.Assignment),
            new DoubleDataFrameColumn("distance", result.Match.Costs),
            new DoubleDataFrameColumn("ssim", result.SsimValues));
        if (multipliers is not null)
        {
            if (multipliers.dim() != 1 || multipliers.shape[0] != mg.Length) throw new ArgumentException($"multipliers must be a vector of {mg.Length} values.", nameof(multipliers));
            df.Columns.Add(new DoubleDataFrameColumn("lambda", multipliers.to(ScalarType.Float64, CPU).data<double>().ToArray()));
        }
        return df;
    }

    /// <summary>For each candidate x'_k its distance to the nearest training point, min_i ‖x'_k − x_i‖; then the mean of the
    /// k smallest (PAPER §3, Experiment A: "mean distance of the 5 best candidates to the training set").</summary>
    public static double MeanDistanceOfBest(Tensor candidates, Tensor train, int k = 5)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"k must be ≥ 1, got {k}.");
        using var D = Distances.L2(candidates, train);
        using var nearest = D.min(1).values;
        if (k > nearest.shape[0]) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} exceeds the number of candidates {nearest.shape[0]}.");
        using var sorted = nearest.sort().Values;
        using var best = sorted.narrow(0, 0, k);
        return best.mean().ToDouble();
    }

    /// <summary>
    /// The trivial baseline of the reference: the rows of the first layer W_1 [h, d] as candidates, each with both signs
    /// (2h candidates; a row's sign is not identifiable). If <paramref name="rescaleToNorm"/> is given, every row is rescaled to
    /// that norm (e.g. the mean training-image norm) so that L2 matching is meaningful; NCC and the min-max scaled SSIM
    /// ignore the scale anyway.
    /// </summary>
    public static Tensor FirstLayerRows(HomogeneousMlp net, double? rescaleToNorm = null)
    {
        using var scope = torch.NewDisposeScope();
        var w = net.Weights[0].detach().to(ScalarType.Float64, CPU);
        if (rescaleToNorm is { } r)
        {
            if (!(r > 0)) throw new ArgumentOutOfRangeException(nameof(rescaleToNorm));
            w = w / w.norm(1, keepdim: true).clamp_min(1e-300) * r;
        }
        return torch.cat(new[] { w, -w }, 0).MoveToOuterDisposeScope();
    }

    /// <summary>Evaluates the first-layer-rows baseline exactly like a set of reconstructions (see <see cref="Evaluate"/>).
    /// For L2 matching the rows are rescaled to the mean norm of the training images.</summary>
    public static EvaluationResult EvaluateFirstLayerBaseline(HomogeneousMlp net, Tensor train, Tensor? mean, ImageShape shape, EvaluationOptions? options = null)
    {
        options ??= EvaluationOptions.Reference;
        double? norm = null;
        if (options.Distance == DistanceKind.L2) { using var nrm = train.to(ScalarType.Float64).norm(1); norm = nrm.mean().ToDouble(); }
        using var rows = FirstLayerRows(net, norm);
        return Evaluate(train, rows, mean, shape, options);
    }

    static (Tensor, Tensor) CheckPair(Tensor train, Tensor candidates, ImageShape shape)
    {
        if (train.dim() != 2 || candidates.dim() != 2) throw new ArgumentException("Training images and candidates must be matrices of flattened images [n, d] and [m, d].");
        if (train.shape[1] != shape.Size || candidates.shape[1] != shape.Size)
            throw new ArgumentException($"The image shape {shape.Channels}×{shape.Height}×{shape.Width} has {shape.Size} values but the rows have {train.shape[1]} (training) and {candidates.shape[1]} (candidates).");
        return (train.to(ScalarType.Float64, CPU), candidates.to(ScalarType.Float64, CPU));
    }

    static Tensor CheckMean(Tensor mean, ImageShape shape)
    {
        var m = mean.to(ScalarType.Float64, CPU).reshape(-1);
        if (m.shape[0] != shape.Size) throw new ArgumentException($"The mean has {m.shape[0]} values, the images {shape.Size}.", nameof(mean));
        return m;
    }
}

/// <summary>
/// Run selection with knowledge of the true training set — an ORACLE that no real attacker has. The reference used such a
/// selection (and early stopping) to report its best runs; use it only to show an upper bound and say so. The attacker's
/// own selection is <see cref="ReconstructionAttack.SelectByLoss"/>.
/// </summary>
public static class OracleSelection
{
    /// <summary>ORACLE: the run whose k best candidates are closest to the true training set (<see cref="ReconstructionEvaluation.MeanDistanceOfBest"/>).</summary>
    public static AttackResult OracleSelectByTrainingDistance(IEnumerable<AttackResult> runs, Tensor train, int k = 5)
    {
        var list = runs.ToList();
        if (list.Count == 0) throw new ArgumentException("No runs to select from.", nameof(runs));
        return list.MinBy(r => ReconstructionEvaluation.MeanDistanceOfBest(r.Candidates.X, train, k))!;
    }

    /// <summary>ORACLE: the run with the most training images reconstructed above the SSIM threshold (ties: higher mean SSIM).</summary>
    public static AttackResult OracleSelectBySsim(IEnumerable<AttackResult> runs, Tensor train, Tensor? mean, ImageShape shape, EvaluationOptions? options = null)
    {
        var list = runs.ToList();
        if (list.Count == 0) throw new ArgumentException("No runs to select from.", nameof(runs));
        var scored = list.Select(r => (Run: r, Eval: ReconstructionEvaluation.Evaluate(train, r.Candidates.X, mean, shape, options))).ToList();
        return scored.OrderByDescending(s => s.Eval.GoodCount).ThenByDescending(s => s.Eval.MeanSsim).First().Run;
    }
}
