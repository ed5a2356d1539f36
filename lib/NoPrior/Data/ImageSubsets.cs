using static TorchSharp.torch;

namespace NoPrior.Data;

/// <summary>Where a cut came from, so that fresh samples can be drawn later by reading the file again rather than by
/// keeping its decoded bytes alive: the files and how many images of each class the cut took.</summary>
internal sealed record ImageSource(string DatasetName, string ImagesPath, string LabelsPath, int PerClass);

/// <summary>Shared cutting of binary tasks from the committed 10-class IDX subsets.</summary>
internal static class ImageSubsets
{
    internal const int PerClassStored = 100;

    internal static string Resolve(string? dataDirectory, string file)
    {
        var path = Path.Combine(dataDirectory ?? Workbook.DataDirectory, file);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"Data file not found: '{path}'. The workbook's data subsets are committed under data/; " +
                "if the file is missing, run data/regenerate.sh from the repository root (see data/README.md).", path);
        return path;
    }

    /// <summary>Reads images and labels, takes <paramref name="perClass"/> images of each class in the two groups
    /// (the first ones, or a seeded choice), labels the positive group +1, and optionally subtracts the mean.</summary>
    internal static ImageDataset Cut(string datasetName, string? dataDirectory, string imagesFile, string labelsFile,
        string[] classNames, int[] positive, int[] negative, int perClass, bool subtractMean, long? seed)
    {
        ValidateGroups(positive, negative, classNames);
        if (perClass <= 0 || perClass > PerClassStored)
            throw new ArgumentOutOfRangeException(nameof(perClass), perClass,
                $"perClass must be in 1..{PerClassStored} (the committed {datasetName} subset holds {PerClassStored} images per class).");

        var source = new ImageSource(datasetName, Resolve(dataDirectory, imagesFile), Resolve(dataDirectory, labelsFile), perClass);
        var file = Read(source);
        var rows = new List<int>();
        foreach (int c in positive.Concat(negative).Order())
        {
            var ofClass = Enumerable.Range(0, file.Labels.Length).Where(i => file.Labels[i] == c).ToArray();
            if (ofClass.Length < perClass)
                throw new InvalidDataException($"'{source.LabelsPath}' has {ofClass.Length} images of class {c}, fewer than perClass = {perClass}.");
            // A seeded choice is a prefix of a seeded permutation; chosen rows are then put back in file order so
            // the row order does not depend on the seed.
            var chosen = seed is { } s ? SplitMix64.Permute(ofClass, s, c).Take(perClass).Order() : ofClass.Take(perClass);
            rows.AddRange(chosen);
        }

        int m = rows.Count;
        var (X, Y, classes) = file.Take(rows, positive);
        // The reference subtracts the per-pixel mean of the training subset itself (both classes together).
        var mean = subtractMean ? X.mean(new long[] { 0 }) : torch.zeros(file.Shape.Size, dtype: ScalarType.Float64);
        using var centred = X - mean;
        var set = new LabelledSet(centred, Y);
        X.Dispose(); Y.Dispose();

        string Names(int[] g) => string.Join(", ", g.Select(c => classNames[c]));
        string description = $"{datasetName}: +1 = {{{Names(positive)}}}, −1 = {{{Names(negative)}}}, {perClass} per class " +
            $"({(seed is { } sd ? $"seeded choice, seed {sd}" : "first in file order")}), m = {m}, d = {file.Shape.Size}, pixels k/255 ∈ [0, 1]" +
            (subtractMean ? ", per-pixel mean of the subset subtracted" : "");
        return new ImageDataset(set, classes, rows.ToArray(), mean, subtractMean, file.Shape, classNames,
            positive.Order().ToArray(), negative.Order().ToArray(), description, source);
    }

    /// <summary>
    /// A fresh sample for <paramref name="training"/>: the same classes and count, drawn from the rows of the file the
    /// training set did not use, in the training set's coordinates (its mean subtracted), so the network never saw it and
    /// it is directly comparable. The file is read again here; nothing of it is kept between calls.
    /// </summary>
    internal static ImageDataset Fresh(ImageDataset training, ImageSource source, long freshSeed)
    {
        var file = Read(source);
        int perClass = source.PerClass;
        var used = training.SourceRows.ToHashSet();
        var freshRows = new List<int>();
        foreach (int c in training.PositiveClasses.Concat(training.NegativeClasses).Order())
        {
            var unused = Enumerable.Range(0, file.Labels.Length).Where(i => file.Labels[i] == c && !used.Contains(i)).ToArray();
            if (unused.Length < perClass)
                throw new InvalidOperationException($"A fresh sample of {perClass} images of class {training.ClassNames[c]} needs {perClass} images the training set did not use; the committed {source.DatasetName} subset has {unused.Length} left ({PerClassStored} per class). Use perClass ≤ {PerClassStored / 2}.");
            freshRows.AddRange(SplitMix64.Permute(unused, (long)RandomStreams.DerivedSeed(RandomRole.FreshSample, freshSeed), c).Take(perClass).Order());
        }
        var (FX, FY, fc) = file.Take(freshRows, training.PositiveClasses);
        using var fcentred = FX - training.Mean;
        using var fy = FY;
        FX.Dispose();
        return new ImageDataset(new LabelledSet(fcentred, fy), fc, freshRows.ToArray(), training.Mean.clone(), training.MeanSubtracted, file.Shape,
            training.ClassNames, training.PositiveClasses, training.NegativeClasses,
            $"fresh sample of {source.DatasetName} (images the training set did not use, seed {freshSeed}), {perClass} per class, in the training set's coordinates", null);
    }

    /// <summary>The decoded files: image shape from the header, pixel bytes [n·H·W], labels [n].</summary>
    sealed record IdxImages(ImageShape Shape, byte[] Pixels, byte[] Labels)
    {
        /// <summary>Pixels k/255 [rows, H·W], labels ±1 (+1 for <paramref name="positive"/>) and source classes of the given file rows.</summary>
        public (Tensor X, Tensor Y, int[] Classes) Take(IReadOnlyList<int> rows, int[] positive)
        {
            int count = rows.Count, d = Shape.Size;
            var x = new double[count * d];
            var y = new double[count];
            var cls = new int[count];
            for (int r = 0; r < count; r++)
            {
                int src = rows[r];
                for (int p = 0; p < d; p++) x[r * d + p] = Pixels[src * d + p] / 255.0;
                cls[r] = Labels[src];
                y[r] = positive.Contains(Labels[src]) ? 1.0 : -1.0;
            }
            return (HostArrays.ToTensor(x, new long[] { count, d }), HostArrays.ToTensor(y), cls);
        }
    }

    static IdxImages Read(ImageSource source)
    {
        var (ishape, pixels) = Idx.ReadBytes(source.ImagesPath);
        var (lshape, labels) = Idx.ReadBytes(source.LabelsPath);
        if (ishape.Length != 3 || ishape[1] <= 0 || ishape[2] <= 0)
            throw new InvalidDataException($"'{source.ImagesPath}' should hold images [n, height, width], has shape [{string.Join(", ", ishape)}].");
        if (lshape.Length != 1 || lshape[0] != ishape[0])
            throw new InvalidDataException($"'{source.LabelsPath}' holds {string.Join("×", lshape)} labels for {ishape[0]} images.");
        // The image size is the file's: the dataset carries it (ImageDataset.Shape), nothing assumes 28×28.
        return new IdxImages(new ImageShape(1, ishape[1], ishape[2]), pixels, labels);
    }

    static void ValidateGroups(int[] positive, int[] negative, string[] classNames)
    {
        ArgumentNullException.ThrowIfNull(positive);
        ArgumentNullException.ThrowIfNull(negative);
        if (positive.Length == 0 || negative.Length == 0)
            throw new ArgumentException("Both class groups must be non-empty.");
        foreach (int c in positive.Concat(negative))
            if (c < 0 || c >= classNames.Length) throw new ArgumentOutOfRangeException(nameof(positive), c, $"Class {c} is not in 0..{classNames.Length - 1}.");
        if (positive.Concat(negative).Distinct().Count() != positive.Length + negative.Length)
            throw new ArgumentException($"The class groups overlap or repeat a class: +1 = [{string.Join(", ", positive)}], −1 = [{string.Join(", ", negative)}].");
    }
}

/// <summary>A tiny platform-independent PRNG (SplitMix64) for seeded choices that must not depend on the .NET or
/// libtorch version.</summary>
internal static class SplitMix64
{
    static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A Fisher–Yates permutation of <paramref name="items"/> driven by (seed, stream).</summary>
    internal static T[] Permute<T>(T[] items, long seed, long stream)
    {
        var a = (T[])items.Clone();
        ulong state = (ulong)seed ^ ((ulong)stream * 0xD1B54A32D192ED03UL);
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = (int)(Next(ref state) % (ulong)(i + 1));
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a;
    }
}
