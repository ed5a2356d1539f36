using System.Net;
using System.Text;

namespace NoPrior.Display;

/// <summary>
/// A grid of grayscale images (e.g. 28×28 digits: training images next to their reconstructions) with captions.
/// Renders as HTML (one figure per image, captions below) and as a single <c>image/png</c> mosaic.
/// </summary>
/// <remarks>
/// Gray levels: with <see cref="PerImageScaling"/> each image is min–max scaled to black…white on its own (shows the
/// shape of a reconstruction whatever its scale). Otherwise all images share one scale: [0, 1] when every value lies
/// there (pixel intensities), else the global minimum and maximum, so brightness stays comparable across images.
/// </remarks>
public sealed class ImageGrid
{
    readonly float[][] _images;

    /// <summary>Builds a grid from images given as row-major arrays of <paramref name="width"/>×<paramref name="height"/> values.</summary>
    /// <param name="images">One array per image.</param>
    /// <param name="width">Pixels per row.</param>
    /// <param name="height">Rows per image.</param>
    /// <param name="captions">Optional caption per image (same count as images).</param>
    /// <param name="columns">Images per row of the grid; defaults to min(count, 10).</param>
    /// <param name="perImageScaling">Min–max scale each image on its own.</param>
    public ImageGrid(IEnumerable<IReadOnlyList<float>> images, int width, int height, IEnumerable<string>? captions = null, int? columns = null, bool perImageScaling = false)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"Image size must be positive; got {width}×{height}.");
        _images = images.Select(i => i.ToArray()).ToArray();
        for (int k = 0; k < _images.Length; k++)
            if (_images[k].Length != width * height)
                throw new ArgumentException($"Image {k} has {_images[k].Length} values; a {width}×{height} image needs {width * height}.", nameof(images));
        Width = width; Height = height;
        Captions = captions?.ToArray() ?? [];
        if (Captions.Count != 0 && Captions.Count != _images.Length)
            throw new ArgumentException($"Got {Captions.Count} captions for {_images.Length} images.", nameof(captions));
        Columns = Math.Max(1, columns ?? Math.Min(Math.Max(_images.Length, 1), 10));
        PerImageScaling = perImageScaling;
    }

    /// <summary>Builds a grid of single-channel images of <paramref name="shape"/> (e.g. a data set's
    /// <c>ImageDataset.Shape</c>) from a tensor of shape [n, H·W] or [n, H, W].</summary>
    public static ImageGrid FromTensor(torch.Tensor images, ImageShape shape, IEnumerable<string>? captions = null, int? columns = null, bool perImageScaling = false)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Channels != 1)
            throw new ArgumentException($"An image grid shows single-channel images; these are {shape} ({shape.Channels} channels).", nameof(shape));
        return FromTensor(images, shape.Width, shape.Height, captions, columns, perImageScaling);
    }

    /// <summary>Builds a grid from a tensor of shape [n, width·height] or [n, height, width] (any float dtype, any device).</summary>
    public static ImageGrid FromTensor(torch.Tensor images, int width, int height, IEnumerable<string>? captions = null, int? columns = null, bool perImageScaling = false)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"An image needs a positive size, got {width}×{height}.");
        long per = images.dim() == 0 ? 1 : images.shape[^1] * (images.dim() >= 3 ? images.shape[^2] : 1);
        if (images.numel() % (width * height) != 0 || (images.dim() >= 2 && per != (long)width * height))
            throw new ArgumentException($"Images of shape [{string.Join(", ", images.shape)}] are not {height}×{width} (H×W) images of {width * height} pixels each.", nameof(images));
        using var flat = images.detach().to(torch.CPU).to(torch.float32).reshape(-1, width * height);
        var data = flat.data<float>().ToArray();
        int n = (int)flat.shape[0];
        var list = Enumerable.Range(0, n).Select(i => (IReadOnlyList<float>)new ArraySegment<float>(data, i * width * height, width * height)).ToList();
        return new ImageGrid(list, width, height, captions, columns, perImageScaling);
    }

    /// <summary>Pixels per image row.</summary>
    public int Width { get; }
    /// <summary>Rows per image.</summary>
    public int Height { get; }
    /// <summary>Number of images.</summary>
    public int Count => _images.Length;
    /// <summary>Images per grid row.</summary>
    public int Columns { get; }
    /// <summary>Caption per image, or empty.</summary>
    public IReadOnlyList<string> Captions { get; }
    /// <summary>Whether each image is min–max scaled on its own.</summary>
    public bool PerImageScaling { get; }
    /// <summary>Magnification of each pixel in the rendered PNG and HTML (nearest neighbour).</summary>
    public int Zoom { get; init; } = 3;
    /// <summary>Optional title shown above the grid in HTML.</summary>
    public string? Title { get; init; }

    /// <summary>The gray levels (0 = black, 255 = white) of image <paramref name="index"/> after scaling.</summary>
    public byte[] GrayLevels(int index)
    {
        var img = _images[index];
        var (lo, hi) = PerImageScaling ? Range(img) : SharedRange();
        double span = hi - lo;
        var bytes = new byte[img.Length];
        for (int i = 0; i < img.Length; i++)
        {
            double v = span > 0 ? (img[i] - lo) / span : 0; // a constant image is drawn black rather than dividing by zero
            bytes[i] = (byte)Math.Round(255 * Math.Clamp(double.IsFinite(v) ? v : 0, 0, 1));
        }
        return bytes;
    }

    (double lo, double hi) SharedRange()
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var img in _images) { var (a, b) = Range(img); lo = Math.Min(lo, a); hi = Math.Max(hi, b); }
        if (double.IsInfinity(lo)) return (0, 1);
        return lo >= 0 && hi <= 1 ? (0, 1) : (lo, hi);
    }

    static (double lo, double hi) Range(float[] img)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in img) if (float.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        return double.IsInfinity(lo) ? (0, 1) : (lo, hi);
    }

    /// <summary>One image, magnified by <see cref="Zoom"/>, as PNG bytes.</summary>
    public byte[] ImagePng(int index)
    {
        var g = GrayLevels(index);
        int z = Math.Max(1, Zoom), w = Width * z, h = Height * z;
        var px = new byte[w * h];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) px[y * w + x] = g[(y / z) * Width + x / z];
        return Png.EncodeGray(w, h, px);
    }

    /// <summary>The whole grid as one PNG: images magnified by <see cref="Zoom"/>, separated by a light gray gap (captions are HTML-only).</summary>
    public byte[] ToPng()
    {
        int z = Math.Max(1, Zoom), gap = 2 * z, cols = Math.Min(Columns, Math.Max(Count, 1)), rows = Math.Max(1, (Count + Columns - 1) / Columns);
        int cw = Width * z, ch = Height * z, w = cols * cw + (cols + 1) * gap, h = rows * ch + (rows + 1) * gap;
        var px = new byte[w * h];
        Array.Fill(px, (byte)200);
        for (int k = 0; k < Count; k++)
        {
            var g = GrayLevels(k);
            int ox = gap + (k % Columns) * (cw + gap), oy = gap + (k / Columns) * (ch + gap);
            for (int y = 0; y < ch; y++) for (int x = 0; x < cw; x++) px[(oy + y) * w + ox + x] = g[(y / z) * Width + x / z];
        }
        return Png.EncodeGray(w, h, px);
    }

    /// <summary>HTML: a CSS grid of figures, each an inline PNG with its caption.</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<div class=\"noprior-image-grid\">");
        if (Title is not null) sb.Append("<div style=\"font-weight:bold;margin:4px 0\">").Append(WebUtility.HtmlEncode(Title)).Append("</div>");
        sb.Append($"<div style=\"display:grid;grid-template-columns:repeat({Columns},max-content);gap:6px\">");
        for (int k = 0; k < Count; k++)
        {
            sb.Append("<figure style=\"margin:0;text-align:center\">");
            sb.Append($"<img alt=\"image {k}\" width=\"{Width * Zoom}\" height=\"{Height * Zoom}\" style=\"image-rendering:pixelated\" src=\"data:image/png;base64,{Convert.ToBase64String(ImagePng(k))}\"/>");
            if (Captions.Count > 0) sb.Append("<figcaption style=\"font:11px sans-serif;max-width:").Append(Width * Zoom).Append("px\">").Append(WebUtility.HtmlEncode(Captions[k])).Append("</figcaption>");
            sb.Append("</figure>");
        }
        sb.Append("</div></div>");
        return sb.ToString();
    }

    /// <summary>A one-line description, the plain-text rendering.</summary>
    public override string ToString() =>
        $"ImageGrid: {Count} image(s) of {Width}×{Height}, {Columns} per row, {(PerImageScaling ? "per-image min–max scaling" : "shared scale")}" +
        (Title is null ? "" : $", \"{Title}\"");
}
