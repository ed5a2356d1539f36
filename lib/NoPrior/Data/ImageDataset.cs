using static TorchSharp.torch;

namespace NoPrior.Data;

/// <summary>
/// A binary image classification set cut from the committed data (see <c>data/README.md</c>), with what a notebook
/// needs to show it: the source class of every row, the per-pixel mean that was subtracted, and the image shape.
/// Pixels are k/255 ∈ [0, 1] before mean subtraction (k the stored byte); after it, X = pixels − Mean.
/// </summary>
public sealed class ImageDataset : IDisposable
{
    readonly ImageSource? _source;

    internal ImageDataset(LabelledSet set, int[] classes, int[] sourceRows, Tensor mean, bool meanSubtracted, ImageShape shape,
        string[] classNames, int[] positiveClasses, int[] negativeClasses, string description, ImageSource? source)
    {
        if (set.Dim != shape.Size)
            throw new ArgumentException($"Images of {shape} pixels need rows of {shape.Size} values, the set has {set.Dim}.");
        Set = set; Classes = classes; SourceRows = sourceRows; Mean = mean; MeanSubtracted = meanSubtracted; Shape = shape;
        ClassNames = classNames; PositiveClasses = positiveClasses; NegativeClasses = negativeClasses; Description = description;
        _source = source;
    }

    /// <summary>
    /// A fresh sample: as many images of each class as this set has, drawn (from the <see cref="RandomRole.FreshSample"/>
    /// stream of <paramref name="seed"/>) among the committed images this set did not use, in this set's coordinates (the
    /// same <see cref="Mean"/> subtracted). The network never saw them: they are the evaluation's yardstick (Cohen et al.
    /// 2024). Needs at most half of the committed images per class in the training set. Reads the data file again (the set
    /// keeps only which rows it took), so the same seed gives the same sample.
    /// </summary>
    public ImageDataset FreshSample(long seed) => _source is { } source ? ImageSubsets.Fresh(this, source, seed)
        : throw new InvalidOperationException("This set is itself a fresh sample; draw fresh samples from the training set.");

    /// <summary>The labelled set: X [m, Height·Width] float64 (784 for MNIST), Y [m] with +1 for <see cref="PositiveClasses"/> and −1 otherwise.</summary>
    public LabelledSet Set { get; }
    /// <summary>Shortcut for <c>Set.X</c>.</summary>
    public Tensor X => Set.X;
    /// <summary>Shortcut for <c>Set.Y</c>.</summary>
    public Tensor Y => Set.Y;
    /// <summary>The source class (digit 0–9 or Fashion-MNIST class 0–9) of every row of X.</summary>
    public int[] Classes { get; }
    /// <summary>The row of every image in the committed IDX file (rows 100·c … 100·c+99 hold class c).</summary>
    public int[] SourceRows { get; }
    /// <summary>The per-pixel offset that was subtracted, [Height·Width] float64: the mean of the chosen images if
    /// <see cref="MeanSubtracted"/>, zeros otherwise. Pixels = X + Mean in either case.</summary>
    public Tensor Mean { get; }
    /// <summary>Whether the per-pixel mean of the chosen images was subtracted from X.</summary>
    public bool MeanSubtracted { get; }
    /// <summary>Names of the ten source classes, indexed by class.</summary>
    public string[] ClassNames { get; }
    /// <summary>Source classes labelled +1.</summary>
    public int[] PositiveClasses { get; }
    /// <summary>Source classes labelled −1.</summary>
    public int[] NegativeClasses { get; }
    /// <summary>One line saying what the set is (source, groups, counts, preprocessing).</summary>
    public string Description { get; }
    /// <summary>The image shape as stored in the data file's header (one channel, 28×28 for MNIST and Fashion-MNIST): the one
    /// place the image size is known. Pass it on to <c>EvaluationSpace.Images</c> and the picture helpers.</summary>
    public ImageShape Shape { get; }
    /// <summary>Image height in pixels, <see cref="Shape"/>'s.</summary>
    public int Height => Shape.Height;
    /// <summary>Image width in pixels, <see cref="Shape"/>'s.</summary>
    public int Width => Shape.Width;
    /// <summary>Number of images m.</summary>
    public long Count => Set.Count;

    /// <summary>Rows of <paramref name="x"/> ([n, Height·Width] or [Height·Width], e.g. attack candidates in the same
    /// mean-subtracted coordinates) as images in pixel space: (x + Mean) reshaped to [n, Height, Width]. Not clipped: values outside
    /// [0, 1] show how far a candidate left the image box.</summary>
    public Tensor ToImages(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var rows = x.dim() == 1 ? x.unsqueeze(0) : x;
        if (rows.dim() != 2 || rows.shape[1] != Shape.Size)
            throw new ArgumentException($"Expected rows of {Shape.Size} pixels, got shape [{string.Join(", ", x.shape)}].", nameof(x));
        var mean = Mean.to(rows.dtype, rows.device);
        return (rows + mean).reshape(-1, Height, Width).MoveToOuterDisposeScope();
    }

    public override string ToString() => Description;

    public void Dispose() { Set.Dispose(); Mean.Dispose(); }
}
