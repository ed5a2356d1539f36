using NoPrior.Metrics;
using static TorchSharp.torch;

namespace NoPrior.Display;

/// <summary>
/// Image grids of attack output next to the training images it is compared with (the evaluation of Haim et al. 2022). Every image is
/// min–max scaled on its own, which is exactly how the reference evaluation scales a candidate before SSIM (a training
/// image with pixels spanning [0, 1] is unchanged by it).
/// </summary>
public static class ReconstructionGrids
{
    /// <summary>
    /// Pairs (training image i, its matched candidate) from <paramref name="result"/> (any <see cref="GoodRule"/>), sorted by
    /// score, best first; captions give the training index, the score and whether the rule counts it as good. Pixels are rows
    /// [n, H·W] or images [n, H, W] in pixel space (mean added back, e.g. <see cref="Data.ImageDataset.ToImages"/>); rows need
    /// <paramref name="shape"/> (the data set's <see cref="Data.ImageDataset.Shape"/>), images carry theirs.
    /// <paramref name="count"/> limits the pairs shown.
    /// </summary>
    public static ImageGrid NearestPairs(Tensor trainPixels, Tensor candidatePixels, RuleResult result, ImageShape? shape = null,
        int? count = null, int pairsPerRow = 5, string? title = null)
    {
        var (width, height) = Size(trainPixels, shape);
        int n = result.Scores.Length;
        if (trainPixels.shape[0] != n) throw new ArgumentException($"The evaluation has {n} training images but {trainPixels.shape[0]} were given.", nameof(trainPixels));
        string score = result.Rule.Score == ScoreKind.Ssim ? "SSIM" : "cos";
        var good = result.IsGood;
        var order = Enumerable.Range(0, n).Where(i => result.Match.Assignment[i] >= 0)
            .OrderByDescending(i => result.Scores[i]).Take(count ?? n).ToArray();
        using var train = trainPixels.reshape(n, -1);
        using var cand = candidatePixels.reshape(candidatePixels.shape[0], -1);
        var images = new List<IReadOnlyList<float>>(); var captions = new List<string>();
        foreach (int i in order)
        {
            images.Add(Row(train, i)); captions.Add($"train {i}");
            images.Add(Row(cand, result.Match.Assignment[i])); captions.Add($"{score} {result.Scores[i]:F2}{(good[i] ? " ✓" : "")}");
        }
        return new ImageGrid(images, width, height, captions, columns: 2 * pairsPerRow, perImageScaling: true) { Title = title };
    }

    /// <summary>
    /// One row per blend: the reconstruction, then its k nearest training images captioned with their fitted weights
    /// w_j ≥ 0 (<see cref="BlendFit"/>; the merge lemma predicts x = Σ_j λ_j x_j / Σ_j λ_j), then the fitted blend Σ_j w_j t_j.
    /// Pixels as in <see cref="NearestPairs"/>; <paramref name="offset"/> [H·W] (the mean, plus any shift) is added to the
    /// fitted blend, which is formed in the coordinates of the fit.
    /// </summary>
    public static ImageGrid Blends(Tensor candidatePixels, Tensor trainPixels, Tensor trainCoordinates, IEnumerable<(int Candidate, BlendResult Fit)> blends,
        Tensor offset, ImageShape? shape = null, string? title = null)
    {
        var (width, height) = Size(candidatePixels, shape);
        var list = blends.ToList();
        if (list.Count == 0) throw new ArgumentException("No blends to show.", nameof(blends));
        int k = list[0].Fit.Neighbours.Length;
        if (list.Any(b => b.Fit.Neighbours.Length != k)) throw new ArgumentException("Every blend must use the same number of neighbours.", nameof(blends));
        using var cand = candidatePixels.reshape(candidatePixels.shape[0], -1);
        using var train = trainPixels.reshape(trainPixels.shape[0], -1);
        using var coords = trainCoordinates.to(ScalarType.Float64, CPU);
        var images = new List<IReadOnlyList<float>>(); var captions = new List<string>();
        foreach (var (c, fit) in list)
        {
            images.Add(Row(cand, c)); captions.Add($"candidate {c}");
            for (int j = 0; j < k; j++) { images.Add(Row(train, fit.Neighbours[j])); captions.Add($"train {fit.Neighbours[j]}: w {fit.Weights[j]:F2}"); }
            using var idx = torch.tensor(fit.Neighbours.Select(i => (long)i).ToArray());
            using var w = HostArrays.ToTensor(fit.Weights);
            using var blend = w.matmul(coords.index_select(0, idx)) + offset.to(ScalarType.Float64, CPU).reshape(-1);
            images.Add(Row(blend.unsqueeze(0), 0)); captions.Add($"blend, rel. res. {fit.RelativeResidual:F2}");
        }
        return new ImageGrid(images, width, height, captions, columns: k + 2, perImageScaling: true) { Title = title };
    }

    /// <summary>Width and height of the pictures: <paramref name="shape"/>, or the last two dimensions of images [n, H, W].</summary>
    static (int Width, int Height) Size(Tensor pixels, ImageShape? shape)
    {
        if (shape is not null)
        {
            if (shape.Channels != 1) throw new ArgumentException($"The grids show grayscale images; the shape has {shape.Channels} channels.", nameof(shape));
            return (shape.Width, shape.Height);
        }
        if (pixels.dim() == 3) return ((int)pixels.shape[2], (int)pixels.shape[1]);
        throw new ArgumentException($"Pixels given as rows [{string.Join(", ", pixels.shape)}] need the image shape (pass the data set's Shape), or pass images [n, H, W].", nameof(shape));
    }

    static float[] Row(Tensor rows, int i)
    {
        using var r = rows[i].detach().to(ScalarType.Float32, CPU).contiguous();
        return r.data<float>().ToArray();
    }
}
