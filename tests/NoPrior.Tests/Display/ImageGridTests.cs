using NoPrior.Display;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class ImageGridTests
{
    [Fact]
    public void A_grid_takes_its_image_size_from_the_data_sets_shape()
    {
        // A 5×3 (H×W) image set: the shape decides how rows are cut, so a transposed reading would show up as a
        // different pixel at (row 1, column 0).
        using var images = torch.arange(2 * 15, dtype: ScalarType.Float64).reshape(2, 15);
        var grid = ImageGrid.FromTensor(images, new ImageShape(1, 5, 3));
        Assert.Equal((3, 5, 2), (grid.Width, grid.Height, grid.Count));
        var byWidthHeight = ImageGrid.FromTensor(images, 3, 5);
        Assert.Equal(byWidthHeight.GrayLevels(1), grid.GrayLevels(1));
        var swapped = ImageGrid.FromTensor(images, new ImageShape(1, 3, 5));
        Assert.Equal((5, 3), (swapped.Width, swapped.Height));
        // The wrong size for the rows is an error that names it, and so is a colour shape.
        Assert.Contains("4×4", Assert.Throws<ArgumentException>(() => ImageGrid.FromTensor(images, new ImageShape(1, 4, 4))).Message);
        Assert.Contains("3 channels", Assert.Throws<ArgumentException>(() => ImageGrid.FromTensor(images, new ImageShape(3, 5, 1))).Message);
    }
}
