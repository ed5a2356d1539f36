using NoPrior.Display;
using NoPrior.Metrics;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ReconstructionGridTests
{
    static readonly ImageShape Mnist28 = new(1, 28, 28);

    [Fact]
    public void Rows_without_a_shape_are_refused_and_other_sizes_are_drawn_at_their_size()
    {
        using var train = torch.rand(new long[] { 2, 12 }, dtype: ScalarType.Float64, generator: new Generator(1));
        var space = EvaluationSpace.Vectors(12);
        var ev = ReconstructionEvaluation.Evaluate(train, train, GoodRule.Default, space, ReconstructionEvaluation.Yardstick(train, train, space));
        Assert.Contains("image shape", Assert.Throws<ArgumentException>(() => ReconstructionGrids.NearestPairs(train, train, ev)).Message);
        var grid = ReconstructionGrids.NearestPairs(train, train, ev, new ImageShape(1, 3, 4));
        Assert.Equal((4, 3), (grid.Width, grid.Height));
        var fromImages = ReconstructionGrids.NearestPairs(train.reshape(2, 3, 4), train.reshape(2, 3, 4), ev);
        Assert.Equal((4, 3), (fromImages.Width, fromImages.Height));
    }

    [Fact]
    public void NearestPairs_SortsBySsimAndPairsEachTrainingImageWithItsMatchedCandidate()
    {
        using var gen = new Generator(3);
        using var train = torch.rand(new long[] { 3, 784 }, dtype: ScalarType.Float64, generator: gen);
        // Candidate 0 is noise, candidate 1 is training image 2 exactly, candidate 2 is training image 0 plus a little noise.
        using var noise = torch.rand(new long[] { 784 }, dtype: ScalarType.Float64, generator: gen);
        using var cands = torch.stack(new[] { noise, train[2], train[0] + 0.05 * noise });
        using var zero = torch.zeros(784, dtype: ScalarType.Float64);
        var ev = ReconstructionEvaluation.Evaluate(train, cands, GoodRule.ReferenceSsim3, EvaluationSpace.Images(zero, Mnist28));
        var grid = ReconstructionGrids.NearestPairs(train, cands, ev, Mnist28);
        Assert.Equal((28, 28), (grid.Width, grid.Height));
        Assert.Equal(6, grid.Count);
        Assert.Equal("train 2", grid.Captions[0]);                 // the exact copy first
        Assert.StartsWith($"SSIM {ev.Scores[2]:F2}", grid.Captions[1]);
        Assert.Equal("train 0", grid.Captions[2]);
        var ssims = Enumerable.Range(0, 3).Select(j => double.Parse(grid.Captions[2 * j + 1][5..9], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(ssims[0] >= ssims[1] && ssims[1] >= ssims[2]);
        Assert.Equal(grid.GrayLevels(0), grid.GrayLevels(1));      // per-image scaling: the copy looks identical
        Assert.Equal(2, ReconstructionGrids.NearestPairs(train.reshape(3, 28, 28), cands.reshape(3, 28, 28), ev, count: 1).Count);
    }

    [Fact]
    public void Blends_ShowsCandidateNeighboursAndTheFittedBlend()
    {
        using var gen = new Generator(5);
        using var train = torch.rand(new long[] { 5, 784 }, dtype: ScalarType.Float64, generator: gen);
        using var blend = 0.7 * train[1] + 0.3 * train[4];
        var fit = BlendFit.Fit(blend, train, k: 2);
        using var cands = blend.unsqueeze(0);
        using var zero = torch.zeros(784, dtype: ScalarType.Float64);
        var grid = ReconstructionGrids.Blends(cands, train, train, new[] { (0, fit) }, zero, Mnist28);
        Assert.Equal(4, grid.Count);
        Assert.Equal(4, grid.Columns);
        Assert.Equal(grid.GrayLevels(0), grid.GrayLevels(3));      // the exact blend is drawn like the candidate
        Assert.StartsWith("train ", grid.Captions[1]);
    }
}
