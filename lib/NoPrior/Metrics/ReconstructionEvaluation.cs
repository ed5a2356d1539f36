using static TorchSharp.torch;

namespace NoPrior.Metrics;

/// <summary>
/// The coordinates in which reconstructions are judged. Training points and candidates are given as the network saw them;
/// <see cref="Centre"/> [d] is subtracted before cosines and matching (for images: the training set's mean in those
/// coordinates, i.e. the secret offset c·1 of Experiment B, 0 without one), and <see cref="PixelOffset"/> [d] is added to
/// get pixel values for SSIM (for images: μ − c, the per-pixel mean minus the offset). Vectors without an image shape
/// (sphere data) have no pixel view; only cosine and L2 rules apply to them.
/// </summary>
public sealed record EvaluationSpace(Tensor Centre, Tensor? PixelOffset, ImageShape? Shape)
{
    /// <summary>Images of <paramref name="shape"/> (the data set's, e.g. <c>ImageDataset.Shape</c>) whose per-pixel mean
    /// <paramref name="mean"/> [d] was subtracted and which were then shifted by a secret offset <paramref name="offset"/>
    /// (Experiment B; 0 = none): centre c·1, pixels = x + μ − c.</summary>
    public static EvaluationSpace Images(Tensor mean, ImageShape shape, double offset = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        using var m = mean.detach().to(ScalarType.Float64, CPU).reshape(-1);
        if (m.shape[0] != shape.Size) throw new ArgumentException($"The mean has {m.shape[0]} values, the images {shape.Size}.", nameof(mean));
        Numerics.CheckFinite(m, nameof(mean));
        if (!double.IsFinite(offset)) throw new ArgumentOutOfRangeException(nameof(offset), $"The offset must be finite, got {offset}.");
        return new EvaluationSpace(torch.full(shape.Size, offset, dtype: ScalarType.Float64), (m - offset).clone(), shape);
    }

    /// <summary>Plain vectors in R^d (no image view), centred at the origin.</summary>
    public static EvaluationSpace Vectors(int d) => new(torch.zeros(d, dtype: ScalarType.Float64), null, null);
}

/// <summary>How a matched pair is scored.</summary>
public enum ScoreKind
{
    /// <summary>SSIM of the training image and the min-max scaled candidate in pixel space (Haim et al. 2022).</summary>
    Ssim,
    /// <summary>Cosine of the two in centred coordinates: invariant to the scale of the candidate (x' → c·x', c &gt; 0), which
    /// the prior-free objective cannot fix (bias-free ReLU networks are 1-homogeneous in x). A zero candidate scores 0.</summary>
    Cosine,
    /// <summary>Normalised cross-correlation (each row's own mean removed, then the cosine): invariant to the candidate's
    /// scale and to adding a constant to all its coordinates, so neither a secret offset nor a uniformly brighter or darker
    /// candidate counts as structure. A constant candidate (e.g. all zeros) scores 0.</summary>
    Ncc,
}

/// <summary>
/// A rule that decides which training points count as reconstructed by a candidate set: match each training point to a
/// candidate (nearest by <see cref="Distance"/>, many-to-one, or a one-to-one assignment), score the pair, and call it good
/// when the score exceeds <see cref="Threshold"/> — and, with <see cref="BeatYardstick"/>, also the best score that
/// any other real image reaches for that training point (every other training image and every image of a fresh sample
/// the network never saw; Cohen et al. 2024's fresh-sample baseline).
/// </summary>
public sealed record GoodRule(string Name, DistanceKind Distance, MatchingKind Matching, ScoreKind Score, double Threshold = 0.4,
    SsimOptions? Ssim = null, bool BeatYardstick = false)
{
    /// <summary>The workbook's default: NCC matching and NCC score (scale- and shift-invariant), good when the candidate
    /// correlates with x_i better than every other training image and every fresh-sample image does, and above 0.5. The
    /// floor matters in high dimension, where real points can be nearly uncorrelated with each other (784-dimensional
    /// sphere data: every correlation between them is below ~0.15) and random directions would beat them by chance.
    /// All-zero, constant and random candidates fail the rule, the training set passes it (unless two training points
    /// coincide); the fresh sample, being part of the yardstick, scores 0 by construction.</summary>
    public static GoodRule Default { get; } = new("NCC > 0.5 and beats every other real image", DistanceKind.NormalisedCrossCorrelation, MatchingKind.ManyToOne, ScoreKind.Ncc, 0.5, BeatYardstick: true);
    /// <summary>The reference rule for MNIST (Haim et al. 2022): L2-nearest candidate, SSIM with a 3×3 window &gt; 0.4.</summary>
    public static GoodRule ReferenceSsim3 { get; } = new("SSIM 3×3 > 0.4, L2-nearest (reference)", DistanceKind.L2, MatchingKind.ManyToOne, ScoreKind.Ssim, 0.4, SsimOptions.Reference);
    /// <summary>As <see cref="ReferenceSsim3"/> with Wang et al.'s 11×11 window.</summary>
    public static GoodRule ReferenceSsim11 { get; } = new("SSIM 11×11 > 0.4, L2-nearest", DistanceKind.L2, MatchingKind.ManyToOne, ScoreKind.Ssim, 0.4, SsimOptions.Wang2004);
    /// <summary>The reference rule for CIFAR: NCC-nearest candidate, SSIM 3×3 &gt; 0.4.</summary>
    public static GoodRule NccSsim3 { get; } = new("SSIM 3×3 > 0.4, NCC-nearest", DistanceKind.NormalisedCrossCorrelation, MatchingKind.ManyToOne, ScoreKind.Ssim, 0.4, SsimOptions.Reference);

    /// <summary>The same rule with a one-to-one (Hungarian) assignment, so one candidate cannot count for several images.</summary>
    public GoodRule OneToOne() => this with { Name = Name + ", one-to-one", Matching = MatchingKind.Hungarian };

    /// <summary>The rules every evaluation reports: the default and the reference rules, many-to-one and one-to-one. Rules
    /// that need pixels are left out for data without an image shape.</summary>
    public static IReadOnlyList<GoodRule> Standard(bool images)
    {
        var many = images ? new[] { Default, ReferenceSsim3, ReferenceSsim11, NccSsim3 } : new[] { Default };
        return many.Concat(many.Select(r => r.OneToOne())).ToArray();
    }

    /// <summary>Throws on an inconsistent rule, naming the problem.</summary>
    public void Validate(EvaluationSpace space)
    {
        if (Score == ScoreKind.Ssim && (space.Shape is null || space.PixelOffset is null))
            throw new ArgumentException($"Rule '{Name}' scores by SSIM, which needs images; the evaluation space has no image shape.");
        if (BeatYardstick && Score == ScoreKind.Ssim)
            throw new ArgumentException($"Rule '{Name}': the yardstick is defined for the cosine and NCC scores only.");
        if (!double.IsFinite(Threshold)) throw new ArgumentException($"Rule '{Name}' needs a finite threshold, got {Threshold}.");
        if (Matching == MatchingKind.Greedy) throw new ArgumentException($"Rule '{Name}': use ManyToOne or Hungarian matching.");
    }
}

/// <summary>The outcome of one rule on one candidate set: per training point its candidate, score and threshold.</summary>
public sealed class RuleResult
{
    /// <summary>The rule applied.</summary>
    public required GoodRule Rule { get; init; }
    /// <summary>The pairing (candidate of each training point, −1 if unpaired) and the matching cost of each pair.</summary>
    public required MatchResult Match { get; init; }
    /// <summary>The score of each training point's pair (NaN if unpaired).</summary>
    public required double[] Scores { get; init; }
    /// <summary>The threshold each score must exceed (the fixed threshold, or the yardstick's per-point value).</summary>
    public required double[] Thresholds { get; init; }
    /// <summary>Whether each training point counts as reconstructed.</summary>
    public bool[] IsGood => Scores.Select((s, i) => s > Thresholds[i]).ToArray();
    /// <summary>Number of training points reconstructed under the rule.</summary>
    public int Good => Scores.Where((s, i) => s > Thresholds[i]).Count();
    /// <summary>Mean score over paired training points.</summary>
    public double MeanScore => Scores.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
}

/// <summary>
/// Judging reconstructions (Haim et al. 2022's evaluation and the checks that keep it honest). Training points and
/// candidates are rows [n, d] and [m, d] in the coordinates the network saw; <see cref="EvaluationSpace"/> says how to centre
/// them and how to view them as pixels. Works on tensors only; the attack's baselines are assembled in
/// <c>NoPrior.Attack.AttackEvaluation</c>.
/// </summary>
public static class ReconstructionEvaluation
{
    /// <summary>Matches every training point to a candidate under <paramref name="rule"/> and scores the pairs.
    /// <paramref name="yardstick"/> (per-point thresholds from <see cref="Yardstick"/>) is required by rules that beat it.</summary>
    public static RuleResult Evaluate(Tensor train, Tensor candidates, GoodRule rule, EvaluationSpace space, double[]? yardstick = null)
        => Evaluate(train, candidates, rule, space, yardstick, cost: null);

    /// <summary>As <see cref="Evaluate(Tensor, Tensor, GoodRule, EvaluationSpace, double[])"/> with the cost matrix [n, m] under
    /// the rule's distance given when already at hand (e.g. <see cref="TrainingDistances"/> when the training set is judged
    /// as its own candidates).</summary>
    internal static RuleResult Evaluate(Tensor train, Tensor candidates, GoodRule rule, EvaluationSpace space, double[]? yardstick, Tensor? cost)
    {
        var (tr, ca) = Centred(train, candidates, space);
        rule.Validate(space);
        if (cost is not null && (cost.shape[0] != tr.shape[0] || cost.shape[1] != ca.shape[0]))
            throw new ArgumentException($"The cost matrix [{string.Join(", ", cost.shape)}] does not pair {tr.shape[0]} training points with {ca.shape[0]} candidates.", nameof(cost));
        using var own = cost is null ? Distances.Compute(tr, ca, rule.Distance) : null;
        var match = Matching.Match(own ?? cost!, rule.Matching);
        var result = Score(tr, ca, match, rule, space, yardstick);
        tr.Dispose(); ca.Dispose();
        return result;
    }

    /// <summary>Scores fixed pairs: training point i against <paramref name="paired"/> row i (e.g. its nearest other training
    /// image), with no matching.</summary>
    public static RuleResult EvaluatePaired(Tensor train, Tensor paired, GoodRule rule, EvaluationSpace space, double[]? yardstick = null)
    {
        if (train.dim() != 2 || paired.dim() != 2 || paired.shape[0] != train.shape[0])
            throw new ArgumentException($"Paired evaluation needs one candidate per training point, got [{string.Join(", ", train.shape)}] and [{string.Join(", ", paired.shape)}].");
        var (tr, ca) = Centred(train, paired, space);
        rule.Validate(space);
        int n = (int)tr.shape[0];
        using var cost = Distances.Compute(tr, ca, rule.Distance);
        var costs = cost.diagonal().data<double>().ToArray();
        var result = Score(tr, ca, new MatchResult(Enumerable.Range(0, n).ToArray(), costs), rule, space, yardstick);
        tr.Dispose(); ca.Dispose();
        return result;
    }

    /// <summary>
    /// The yardstick of <see cref="GoodRule.BeatYardstick"/>: for each training point x_i the largest similarity (NCC, or cosine in centred
    /// coordinates) that any other real image reaches, τ_i = max(max_{j≠i} s(x_j, x_i), max_f s(f, x_i)) over the other
    /// training points and the fresh sample <paramref name="fresh"/> [k, d] (same distribution, never seen by the network).
    /// </summary>
    public static double[] Yardstick(Tensor train, Tensor fresh, EvaluationSpace space, ScoreKind score = ScoreKind.Ncc)
    {
        if (score == ScoreKind.Ssim) throw new ArgumentException("The yardstick is defined for the cosine and NCC scores only.", nameof(score));
        var (tr, fr) = Centred(train, fresh, space);
        using var scope = torch.NewDisposeScope();
        int n = (int)tr.shape[0];
        Tensor Sim(Tensor a, Tensor b) => score == ScoreKind.Cosine ? Distances.Cosine(a, b) : Distances.NormalisedCrossCorrelation(a, b);
        var self = Sim(tr, tr).masked_fill(torch.eye(n, dtype: ScalarType.Bool), double.NegativeInfinity);
        var others = Sim(fr, tr).max(0).values;
        return torch.maximum(self.max(0).values, others).data<double>().ToArray();
    }

    /// <summary>D [n, n] between the training points under <paramref name="distance"/> in centred coordinates: the cost matrix
    /// of the training set judged as its own candidates, and where <see cref="NearestOther(Tensor)"/> looks.</summary>
    public static Tensor TrainingDistances(Tensor train, DistanceKind distance, EvaluationSpace space)
    {
        var (tr, copy) = Centred(train, train, space);
        using (tr) using (copy) return Distances.Compute(tr, copy, distance);
    }

    /// <summary>For each training point the index of its nearest other training point (j ≠ i) under <paramref name="distance"/>.</summary>
    public static int[] NearestOther(Tensor train, DistanceKind distance, EvaluationSpace space)
    {
        if (train.dim() == 2 && train.shape[0] < 2) throw new ArgumentException("The nearest other training point needs at least two training points.", nameof(train));
        using var cost = TrainingDistances(train, distance, space);
        return NearestOther(cost);
    }

    /// <summary>For each row i of the training distances <paramref name="trainingDistances"/> [n, n] (<see cref="TrainingDistances"/>)
    /// the column j ≠ i of the smallest distance.</summary>
    public static int[] NearestOther(Tensor trainingDistances)
    {
        long n = trainingDistances.shape[0];
        if (trainingDistances.dim() != 2 || trainingDistances.shape[1] != n)
            throw new ArgumentException($"Training distances must be a square matrix [n, n], got [{string.Join(", ", trainingDistances.shape)}].", nameof(trainingDistances));
        if (n < 2) throw new ArgumentException("The nearest other training point needs at least two training points.", nameof(trainingDistances));
        using var scope = torch.NewDisposeScope();
        var cost = trainingDistances.masked_fill(torch.eye(n, dtype: ScalarType.Bool), double.PositiveInfinity);
        return cost.argmin(1).data<long>().Select(i => (int)i).ToArray();
    }

    /// <summary>For each candidate x'_k its distance to the nearest training point, min_i ‖x'_k − x_i‖; then the mean of the
    /// k smallest (the paper's Experiment A: "mean distance of the 5 best candidates to the training set"). With
    /// <paramref name="scaleInvariant"/> the distance is taken after the best rescaling of the candidate,
    /// min_{c ≥ 0} ‖c·x'_k − x_i‖ = ‖x_i‖·√(1 − cos⁺²), since the prior-free objective does not fix a candidate's scale.</summary>
    public static double MeanDistanceOfBest(Tensor candidates, Tensor train, int k = 5, bool scaleInvariant = false)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"k must be ≥ 1, got {k}.");
        using var D = scaleInvariant ? Distances.ScaleInvariant(candidates, train) : Distances.L2(candidates, train);
        using var nearest = D.min(1).values;
        if (k > nearest.shape[0]) throw new ArgumentOutOfRangeException(nameof(k), $"k = {k} exceeds the number of candidates {nearest.shape[0]}.");
        using var sorted = nearest.sort().Values;
        using var best = sorted.narrow(0, 0, k);
        return best.mean().ToDouble();
    }

    /// <summary>The rows of the first layer W_1 [h, d] as candidates, each with both signs (2h candidates; a row's sign is not
    /// identifiable), rescaled to <paramref name="rescaleToNorm"/> if given: the reference's trivial baseline.</summary>
    public static Tensor FirstLayerRows(Tensor firstLayer, double? rescaleToNorm = null)
    {
        if (firstLayer.dim() != 2) throw new ArgumentException($"The first layer must be a matrix [h, d], got [{string.Join(", ", firstLayer.shape)}].", nameof(firstLayer));
        Numerics.CheckFinite(firstLayer, nameof(firstLayer));
        using var scope = torch.NewDisposeScope();
        var w = firstLayer.detach().to(ScalarType.Float64, CPU);
        if (rescaleToNorm is { } r)
        {
            if (!(r > 0) || double.IsInfinity(r)) throw new ArgumentOutOfRangeException(nameof(rescaleToNorm), $"The norm must be positive and finite, got {r}.");
            w = w / w.norm(1, keepdim: true).clamp_min(1e-300) * r;
        }
        return torch.cat(new[] { w, -w }, 0).MoveToOuterDisposeScope();
    }

    static RuleResult Score(Tensor tr, Tensor ca, MatchResult match, GoodRule rule, EvaluationSpace space, double[]? yardstick)
    {
        int n = (int)tr.shape[0];
        var scores = Enumerable.Repeat(double.NaN, n).ToArray();
        var paired = Enumerable.Range(0, n).Where(i => match.Assignment[i] >= 0).ToArray();
        if (paired.Length > 0)
        {
            using var scope = torch.NewDisposeScope();
            var rows = torch.tensor(paired.Select(i => (long)i).ToArray());
            var cols = torch.tensor(paired.Select(i => (long)match.Assignment[i]).ToArray());
            var a = tr.index_select(0, rows);
            var b = ca.index_select(0, cols);
            double[] s;
            if (rule.Score == ScoreKind.Cosine)
                s = Distances.Cosine(a, b).diagonal().data<double>().ToArray();
            else if (rule.Score == ScoreKind.Ncc)
                s = Distances.NormalisedCrossCorrelation(a, b).diagonal().data<double>().ToArray();
            else
            {
                // Pixels: back from centred coordinates (x − centre) to x + PixelOffset. As the reference does, the
                // candidate is min-max scaled to [0, 1] (its scale is not determined), the training image is left as it is.
                var shape = space.Shape!;
                var back = space.Centre + space.PixelOffset!;
                var imgs = (a + back).reshape(-1, shape.Channels, shape.Height, shape.Width);
                var recs = Ssim.MinMaxScale(b + back).reshape(-1, shape.Channels, shape.Height, shape.Width);
                s = Ssim.Compute(recs, imgs, rule.Ssim ?? SsimOptions.Reference).data<double>().ToArray();
            }
            for (int k = 0; k < paired.Length; k++) scores[paired[k]] = s[k];
        }
        double[] thresholds;
        if (rule.BeatYardstick)
        {
            if (yardstick is null || yardstick.Length != n)
                throw new ArgumentException($"Rule '{rule.Name}' compares with the yardstick; pass ReconstructionEvaluation.Yardstick(train, fresh, space) ({n} values).", nameof(yardstick));
            thresholds = yardstick.Select(t => Math.Max(t, rule.Threshold)).ToArray();
        }
        else thresholds = Enumerable.Repeat(rule.Threshold, n).ToArray();
        return new RuleResult { Rule = rule, Match = match, Scores = scores, Thresholds = thresholds };
    }

    static (Tensor Train, Tensor Candidates) Centred(Tensor train, Tensor candidates, EvaluationSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        if (train.dim() != 2 || candidates.dim() != 2) throw new ArgumentException($"Training points and candidates must be matrices [n, d] and [m, d], got [{string.Join(", ", train.shape)}] and [{string.Join(", ", candidates.shape)}].");
        long d = space.Centre.shape[0];
        if (train.shape[1] != d || candidates.shape[1] != d)
            throw new ArgumentException($"The evaluation space has {d} coordinates but the rows have {train.shape[1]} (training) and {candidates.shape[1]} (candidates).");
        if (train.shape[0] == 0 || candidates.shape[0] == 0) throw new ArgumentException("Training points and candidates must be non-empty.");
        Numerics.CheckFinite(train, nameof(train));
        Numerics.CheckFinite(candidates, nameof(candidates));
        var c = space.Centre.to(ScalarType.Float64, CPU);
        using var tr = train.detach().to(ScalarType.Float64, CPU);
        using var ca = candidates.detach().to(ScalarType.Float64, CPU);
        return (tr - c, ca - c);
    }
}
