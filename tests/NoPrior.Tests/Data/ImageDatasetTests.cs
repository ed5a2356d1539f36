using NoPrior.Data;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ImageDatasetTests
{
    /// <summary>Fresh samples as the earlier implementation (which kept the whole decoded file in a closure) drew them:
    /// file rows, and the sum and sum of squares of X, for (data set, seed).</summary>
    public static IEnumerable<object[]> Pinned() => new[]
    {
        new object[] { "mnist", 0L, new[] { 18, 24, 56, 81, 94, 128, 167, 175, 182, 194, 212, 217, 232, 254, 286, 324, 335, 336, 341, 399, 415, 436, 439, 469, 472, 518, 524, 535, 577, 579, 602, 626, 643, 645, 691, 700, 742, 769, 783, 789, 805, 833, 871, 875, 895, 936, 949, 974, 979, 994 }, 45.86666666666668, 2762.476697270281 },
        new object[] { "mnist", 7L, new[] { 5, 17, 25, 52, 85, 129, 160, 168, 177, 198, 256, 265, 268, 269, 275, 301, 328, 337, 354, 360, 404, 412, 434, 469, 490, 527, 563, 567, 573, 575, 610, 636, 639, 691, 699, 700, 706, 737, 759, 785, 812, 844, 850, 886, 897, 911, 915, 951, 953, 960 }, 1.7607843137255088, 2640.4752701268744 },
        new object[] { "fashion", 0L, new[] { 18, 46, 56, 75, 112, 143, 163, 182, 217, 223, 263, 287, 317, 336, 369, 389, 404, 416, 441, 492, 512, 530, 539, 558, 606, 631, 644, 687, 735, 736, 771, 793, 814, 835, 844, 862, 917, 944, 948, 973 }, -80.38823529411783, 2659.2441849288734 },
        new object[] { "fashion", 7L, new[] { 46, 67, 94, 99, 139, 167, 168, 187, 217, 240, 248, 298, 307, 343, 364, 381, 416, 421, 459, 467, 504, 509, 542, 588, 631, 633, 676, 687, 704, 735, 741, 774, 834, 838, 855, 893, 930, 937, 981, 982 }, -90.45882352941197, 2723.8616643598616 },
    };

    static ImageDataset Training(string name) => name == "mnist" ? Mnist.OddVsEven(5, seed: 3) : FashionMnist.UpperBodyVsRest(4);

    [Theory]
    [MemberData(nameof(Pinned))]
    public void Fresh_samples_are_the_same_for_the_same_seed_and_as_before(string name, long seed, int[] rows, double sum, double sumOfSquares)
    {
        using var train = Training(name);
        using var a = train.FreshSample(seed);
        using var b = train.FreshSample(seed);
        Assert.Equal(rows, a.SourceRows);
        Assert.Equal(a.SourceRows, b.SourceRows);
        using var diff = (a.X - b.X).abs().max();
        Assert.Equal(0.0, diff.ToDouble());
        Assert.Equal(sum, a.X.sum().ToDouble(), 1e-12 * Math.Abs(sum));
        Assert.Equal(sumOfSquares, a.X.square().sum().ToDouble(), 1e-12 * sumOfSquares);
        // Never a training image, the same classes and count, in the training set's coordinates.
        Assert.Empty(a.SourceRows.Intersect(train.SourceRows));
        Assert.Equal(train.Classes.Order(), a.Classes.Order());
        using var meanDiff = (a.Mean - train.Mean).abs().max();
        Assert.Equal(0.0, meanDiff.ToDouble());
        Assert.Equal(train.Shape, a.Shape);
        Assert.Throws<InvalidOperationException>(() => a.FreshSample(seed));
    }

    [Fact]
    public void Another_seed_draws_another_sample()
    {
        using var train = Training("mnist");
        using var a = train.FreshSample(0);
        using var b = train.FreshSample(1);
        Assert.NotEqual(a.SourceRows, b.SourceRows);
    }

    [Fact]
    public void The_image_shape_comes_from_the_file_and_sizes_every_view()
    {
        using var ds = Mnist.OddVsEven(1);
        Assert.Equal(new ImageShape(1, 28, 28), ds.Shape);
        Assert.Equal(ds.Shape.Size, ds.Set.Dim);
        using var images = ds.ToImages(ds.X);
        Assert.Equal(new long[] { ds.Count, ds.Height, ds.Width }, images.shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImageShape(1, 0, 28));
    }
}
