namespace NoPrior;

/// <summary>Shape of one image, so flattened rows [d] can be viewed as [C, H, W] with d = C·H·W. An image data set carries
/// its own (<c>Data.ImageDataset.Shape</c>, read from the data file's header); the evaluation and the pictures take it
/// from there, so nothing else states an image size.</summary>
public sealed record ImageShape(int Channels, int Height, int Width)
{
    public int Channels { get; } = Channels > 0 ? Channels : throw new ArgumentOutOfRangeException(nameof(Channels), $"An image needs at least one channel, got {Channels}.");
    public int Height { get; } = Height > 0 ? Height : throw new ArgumentOutOfRangeException(nameof(Height), $"An image needs a positive height, got {Height}.");
    public int Width { get; } = Width > 0 ? Width : throw new ArgumentOutOfRangeException(nameof(Width), $"An image needs a positive width, got {Width}.");

    /// <summary>d = C·H·W, the length of a flattened image.</summary>
    public int Size => Channels * Height * Width;

    public override string ToString() => Channels == 1 ? $"{Height}×{Width}" : $"{Channels}×{Height}×{Width}";
}
