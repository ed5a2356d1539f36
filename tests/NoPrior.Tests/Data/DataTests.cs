using NoPrior.Data;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class DataTests
{
    static double MaxAbs(Tensor t) => t.abs().max().ToDouble();
    static bool Same(Tensor a, Tensor b) { if (!a.shape.SequenceEqual(b.shape)) return false; using var eq = a.eq(b).all(); return eq.ToBoolean(); }

    [Fact]
    public void Committed_data_files_match_their_recorded_checksums()
    {
        var sums = File.ReadAllLines(Path.Combine(Workbook.DataDirectory, "SHA256SUMS"))
            .Select(l => l.Split("  ", 2)).ToDictionary(p => p[1], p => p[0]);
        Assert.Equal(4, sums.Count);
        foreach (var file in new[] { Mnist.ImagesFile, Mnist.LabelsFile, FashionMnist.ImagesFile, FashionMnist.LabelsFile })
        {
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(Workbook.DataDirectory, file))));
            Assert.Equal(sums[file], hash);
        }
    }

    [Fact]
    public void Mnist_odd_vs_even_has_documented_shape_labels_balance_and_range()
    {
        using var ds = Mnist.OddVsEven(perDigit: 7, subtractMean: false);
        Assert.Equal(new long[] { 70, 784 }, ds.X.shape);
        Assert.Equal(new long[] { 70 }, ds.Y.shape);
        Assert.Equal(ScalarType.Float64, ds.X.dtype);
        for (int r = 0; r < 70; r++)
        {
            Assert.Equal(r / 7, ds.Classes[r]); // grouped by digit, ascending
            Assert.Equal(ds.Classes[r] % 2 == 1 ? 1.0 : -1.0, ds.Y[r].ToDouble()); // odd = +1
        }
        Assert.Equal(35, ds.Y.eq(1).sum().ToInt64());
        Assert.Equal(35, ds.Y.eq(-1).sum().ToInt64());
        Assert.Equal(0.0, ds.X.min().ToDouble());
        Assert.Equal(1.0, ds.X.max().ToDouble()); // MNIST digits reach full intensity 255/255
        // Pixels are k/255 exactly: 255·x is an integer.
        using var k = ds.X * 255;
        Assert.True(MaxAbs(k - k.round()) < 1e-12);
        Assert.Equal(0.0, MaxAbs(ds.Mean));
        Assert.Equal(28, ds.Height);
        Assert.Equal(28, ds.Width);
    }

    [Fact]
    public void Mnist_first_rows_are_the_first_stored_images_in_file_order()
    {
        using var ds = Mnist.OddVsEven(perDigit: 3, subtractMean: false);
        Assert.Equal(new[] { 0, 1, 2, 100, 101, 102, 200 }, ds.SourceRows.Take(7).ToArray());
    }

    [Fact]
    public void Fashion_groups_are_balanced_and_labelled_as_documented()
    {
        using var ds = FashionMnist.UpperBodyVsRest(perClass: 4, subtractMean: false);
        Assert.Equal(new long[] { 40, 784 }, ds.X.shape);
        for (int r = 0; r < 40; r++)
            Assert.Equal(FashionMnist.UpperBodyClasses.Contains(ds.Classes[r]) ? 1.0 : -1.0, ds.Y[r].ToDouble());
        Assert.Equal(20, ds.Y.eq(1).sum().ToInt64());
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(4, ds.Classes.Count(x => x == c)));
        Assert.True(ds.X.min().ToDouble() >= 0 && ds.X.max().ToDouble() <= 1);
        Assert.Equal("Ankle boot", ds.ClassNames[9]);
    }

    [Fact]
    public void Mean_subtraction_centres_every_pixel_and_the_mean_restores_the_images()
    {
        using var raw = Mnist.OddVsEven(perDigit: 10, subtractMean: false);
        using var ds = Mnist.OddVsEven(perDigit: 10, subtractMean: true);
        using var colMeans = ds.X.mean(new long[] { 0 });
        Assert.True(MaxAbs(colMeans) < 1e-12, $"column means up to {MaxAbs(colMeans)}");
        using var expectedMean = raw.X.mean(new long[] { 0 });
        Assert.True(MaxAbs(ds.Mean - expectedMean) < 1e-15);
        using var images = ds.ToImages(ds.X);
        Assert.Equal(new long[] { 100, 28, 28 }, images.shape);
        Assert.True(MaxAbs(images.reshape(100, 784) - raw.X) < 1e-15);
        Assert.True(ds.MeanSubtracted);
    }

    [Fact]
    public void Loading_is_deterministic_and_seeds_choose_reproducibly()
    {
        using var a = FashionMnist.UpperBodyVsRest(5);
        using var b = FashionMnist.UpperBodyVsRest(5);
        Assert.True(Same(a.X, b.X));
        using var s1 = Mnist.OddVsEven(5, seed: 42);
        using var s2 = Mnist.OddVsEven(5, seed: 42);
        using var s3 = Mnist.OddVsEven(5, seed: 43);
        Assert.Equal(s1.SourceRows, s2.SourceRows);
        Assert.True(Same(s1.X, s2.X));
        Assert.NotEqual(s1.SourceRows, s3.SourceRows);
        Assert.NotEqual(a.SourceRows, s1.SourceRows);
        // A seeded choice still takes perDigit distinct images of each digit.
        Assert.Equal(50, s1.SourceRows.Distinct().Count());
        Assert.All(s1.SourceRows, r => Assert.Equal(r / 100, s1.Classes[Array.IndexOf(s1.SourceRows, r)]));
    }

    [Fact]
    public void Missing_data_file_names_the_file_and_the_regenerate_script()
    {
        var dir = Directory.CreateTempSubdirectory("noprior-data-").FullName;
        try
        {
            var e = Assert.Throws<FileNotFoundException>(() => Mnist.OddVsEven(5, dataDirectory: dir));
            Assert.Contains(Mnist.ImagesFile, e.Message);
            Assert.Contains("data/regenerate.sh", e.Message);
            Assert.Equal(Path.Combine(dir, Mnist.ImagesFile), e.FileName);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Corrupt_data_file_gives_a_clear_error()
    {
        var dir = Directory.CreateTempSubdirectory("noprior-data-").FullName;
        try
        {
            var bytes = File.ReadAllBytes(Path.Combine(Workbook.DataDirectory, FashionMnist.ImagesFile));
            File.WriteAllBytes(Path.Combine(dir, FashionMnist.ImagesFile), bytes[..(bytes.Length / 2)]);
            File.Copy(Path.Combine(Workbook.DataDirectory, FashionMnist.LabelsFile), Path.Combine(dir, FashionMnist.LabelsFile));
            var e = Assert.ThrowsAny<Exception>(() => FashionMnist.UpperBodyVsRest(5, dataDirectory: dir));
            Assert.True(e is InvalidDataException or EndOfStreamException, e.GetType().Name);
            Assert.Contains(FashionMnist.ImagesFile, e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Loader_arguments_are_checked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.OddVsEven(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Mnist.OddVsEven(101));
        Assert.Throws<ArgumentException>(() => Mnist.Load(new[] { 1, 3 }, new[] { 3 }, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionMnist.Load(new[] { 10 }, new[] { 0 }, 5));
    }

    [Fact]
    public void Sphere_points_have_unit_norm_and_sign_labels()
    {
        using var s = Synthetic.Sphere(200, 30, seed: 3);
        Assert.Equal(new long[] { 200, 30 }, s.X.shape);
        using var norms = s.X.norm(1);
        Assert.True(MaxAbs(norms - 1) < 1e-12);
        using var sign = torch.where(s.X[.., 0] >= 0, 1.0, -1.0);
        Assert.True(Same(sign.to(ScalarType.Float64), s.Y));
        Assert.True(s.Y.eq(1).sum().ToInt64() is > 60 and < 140); // both labels present in roughly equal numbers
        using var again = Synthetic.Sphere(200, 30, seed: 3);
        using var other = Synthetic.Sphere(200, 30, seed: 4);
        Assert.True(Same(s.X, again.X));
        Assert.False(Same(s.X, other.X));
    }

    [Fact]
    public void Subspace_data_have_rank_k_and_lie_in_the_returned_basis()
    {
        using var sd = Synthetic.Subspace(n: 40, d: 25, k: 6, seed: 5);
        using var sv = torch.linalg.svdvals(sd.Set.X);
        double tol = 1e-10 * sv[0].ToDouble();
        Assert.Equal(6, sv.gt(tol).sum().ToInt64());
        using var gram = sd.Basis.t().matmul(sd.Basis);
        Assert.True(MaxAbs(gram - torch.eye(6, dtype: ScalarType.Float64)) < 1e-12);
        using var residual = sd.Set.X - sd.Set.X.matmul(sd.Basis).matmul(sd.Basis.t());
        Assert.True(MaxAbs(residual) < 1e-12);
        using var norms = sd.Set.X.norm(1);
        Assert.True(MaxAbs(norms - 1) < 1e-12);
        using var proj = sd.Set.X.matmul(sd.Basis[.., 0]);
        using var sign = torch.where(proj >= 0, 1.0, -1.0).to(ScalarType.Float64);
        Assert.True(Same(sign, sd.Set.Y));
        using var again = Synthetic.Subspace(40, 25, 6, seed: 5);
        Assert.True(Same(again.Set.X, sd.Set.X));
    }

    [Theory]
    [InlineData(60, 20, 5, 1e-3)]
    [InlineData(30, 50, 4, 1e-5)] // n < d: r = n singular values
    public void NearSubspace_achieves_the_requested_smallest_singular_value(int n, int d, int k, double sigma)
    {
        using var nd = Synthetic.NearSubspace(n, d, k, sigma, seed: 11);
        int r = Math.Min(n, d);
        using var sv = torch.linalg.svdvals(nd.Set.X);
        Assert.Equal(r, sv.shape[0]);
        double smallest = sv[^1].ToDouble();
        Assert.True(Math.Abs(smallest - sigma) / sigma < 1e-10, $"σ_min = {smallest:R}, requested {sigma:R}");
        Assert.True(Math.Abs(nd.AchievedSigmaMin - sigma) / sigma < 1e-10);
        // r − k singular values equal σ_min, the k others are the in-subspace ones and well above it.
        Assert.Equal(r - k, sv.lt(sigma * (1 + 1e-8)).sum().ToInt64());
        Assert.True(sv[k - 1].ToDouble() > 10 * sigma);
        // The complement columns are right singular vectors for σ_min: ‖X ν‖ = σ_min.
        using var xv = nd.Set.X.matmul(nd.Complement);
        using var colNorms = xv.norm(0);
        Assert.True(MaxAbs(colNorms - sigma) / sigma < 1e-10);
        using var cross = nd.Basis.t().matmul(nd.Complement);
        Assert.True(MaxAbs(cross) < 1e-12);
        using var again = Synthetic.NearSubspace(n, d, k, sigma, seed: 11);
        Assert.True(Same(again.Set.X, nd.Set.X));
    }

    [Fact]
    public void Toy2D_clouds_are_separated_by_a_line_through_the_origin()
    {
        using var t = Synthetic.Toy2D(50, seed: 1);
        Assert.Equal(new long[] { 100, 2 }, t.X.shape);
        // The bisector direction between 20° and 110° is 65°; w = its normal rotated so that w·x > 0 on the +1 cloud.
        double a = 65 * Math.PI / 180;
        using var w = torch.tensor(new[] { Math.Sin(a), -Math.Cos(a) }, dtype: ScalarType.Float64);
        using var margins = t.X.matmul(w) * t.Y;
        Assert.True(margins.min().ToDouble() > 0, "a bias-free linear classifier must separate the toy set");
        using var again = Synthetic.Toy2D(50, seed: 1);
        Assert.True(Same(again.X, t.X));
    }

    [Fact]
    public void Generators_reject_bad_arguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.Sphere(0, 3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.Sphere(3, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.Subspace(10, 5, 6, 1)); // k > d
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.Subspace(3, 10, 5, 1)); // n < k
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.NearSubspace(10, 5, 5, 1e-3, 1)); // k = min(n, d)
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.NearSubspace(10, 5, 2, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.NearSubspace(10, 5, 2, double.NaN, 1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.NearSubspace(10, 5, 2, 100, 1)); // σ_min not smallest
        Assert.Contains("smallest", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.Toy2D(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Synthetic.Toy2D(5, 1, spread: 2));
    }
}
