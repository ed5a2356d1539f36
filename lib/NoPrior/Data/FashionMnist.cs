namespace NoPrior.Data;

/// <summary>
/// Real Fashion-MNIST training images from the committed subset <c>data/fashion-mnist-subset-*.gz</c> (the first 100
/// training images of each class; provenance in <c>data/README.md</c>). Used where the paper uses CIFAR-10, which has
/// no package here. Pixels are k/255 ∈ [0, 1], images 28×28 flattened row-major to 784.
/// </summary>
public static class FashionMnist
{
    /// <summary>File name of the committed images (gzipped IDX, uint8 [1000, 28, 28]).</summary>
    public const string ImagesFile = "fashion-mnist-subset-images-idx3-ubyte.gz";
    /// <summary>File name of the committed class labels (gzipped IDX, uint8 [1000]).</summary>
    public const string LabelsFile = "fashion-mnist-subset-labels-idx1-ubyte.gz";
    /// <summary>Images stored per class.</summary>
    public const int PerClassAvailable = ImageSubsets.PerClassStored;
    /// <summary>The ten Fashion-MNIST classes, indexed by label.</summary>
    public static string[] ClassNames => new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
    /// <summary>Garments worn on the upper body (and dresses): T-shirt/top 0, Pullover 2, Dress 3, Coat 4, Shirt 6; labelled +1.</summary>
    public static int[] UpperBodyClasses => new[] { 0, 2, 3, 4, 6 };
    /// <summary>The rest: Trouser 1, Sandal 5, Sneaker 7, Bag 8, Ankle boot 9; labelled −1.</summary>
    public static int[] OtherClasses => new[] { 1, 5, 7, 8, 9 };

    /// <summary>
    /// The workbook's stand-in for CIFAR-10 vehicles vs animals: upper-body garments and dresses (y = +1) vs trousers,
    /// footwear and bags (y = −1), five classes each, <paramref name="perClass"/> images of every class (balanced:
    /// 5·perClass per label). The groups were chosen to split the ten classes evenly and semantically.
    /// </summary>
    /// <param name="perClass">Images per class, 1..100.</param>
    /// <param name="subtractMean">Subtract the per-pixel mean of the chosen images (as the reference does).</param>
    /// <param name="seed">null: the first images of each class in file order; otherwise a seeded choice among the 100.</param>
    /// <param name="dataDirectory">Folder with the data files; default <see cref="Workbook.DataDirectory"/>.</param>
    /// <exception cref="FileNotFoundException">A data file is missing (the message points at data/regenerate.sh).</exception>
    public static ImageDataset UpperBodyVsRest(int perClass, bool subtractMean = true, long? seed = null, string? dataDirectory = null) =>
        Load(UpperBodyClasses, OtherClasses, perClass, subtractMean, seed, dataDirectory);

    /// <summary>Any two disjoint groups of classes: <paramref name="positiveClasses"/> labelled +1,
    /// <paramref name="negativeClasses"/> −1, <paramref name="perClass"/> images of each listed class. Rows are grouped
    /// by class in ascending order, each class's images in file order.</summary>
    public static ImageDataset Load(int[] positiveClasses, int[] negativeClasses, int perClass, bool subtractMean = true,
        long? seed = null, string? dataDirectory = null) =>
        ImageSubsets.Cut("Fashion-MNIST", dataDirectory, ImagesFile, LabelsFile, ClassNames, positiveClasses, negativeClasses, perClass, subtractMean, seed);
}
