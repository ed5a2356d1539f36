using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.DotNet.Interactive.Formatting;
using NoPrior.Display;

namespace NoPrior.Notebooks.Tests;

public sealed class DisplayTests
{
    /// <summary>Decodes what <see cref="Png"/> writes (filter 0 only), checking every chunk's CRC.</summary>
    static (int W, int H, byte Color, byte[] Pixels) Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int pos = 8, w = 0, h = 0; byte color = 0; var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len);
            Assert.Equal(Crc(png.AsSpan(pos + 4, len + 4)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len)));
            if (type == "IHDR") { w = BinaryPrimitives.ReadInt32BigEndian(data); h = BinaryPrimitives.ReadInt32BigEndian(data[4..]); color = data[9]; }
            if (type == "IDAT") idat.Write(data);
            pos += 12 + len;
        }
        using var z = new ZLibStream(new MemoryStream(idat.ToArray()), CompressionMode.Decompress);
        var raw = new MemoryStream(); z.CopyTo(raw);
        return (w, h, color, raw.ToArray());
    }

    /// <summary>CRC-32 as in the PNG spec, bit by bit (independent of the encoder's table).</summary>
    static uint Crc(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in bytes) { c ^= b; for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1; }
        return c ^ 0xFFFFFFFF;
    }

    [Fact]
    public void Png_round_trips_grayscale_pixels_with_valid_crcs()
    {
        byte[] px = [0, 64, 128, 255, 10, 20];
        var (w, h, color, raw) = Decode(Png.EncodeGray(3, 2, px));
        Assert.Equal((3, 2, (byte)0), (w, h, color));
        Assert.Equal(new byte[] { 0, 0, 64, 128, 0, 255, 10, 20 }, raw); // each scanline starts with filter byte 0
    }

    [Fact]
    public void Png_rejects_a_wrong_pixel_count() =>
        Assert.Contains("Expected 6 bytes", Assert.Throws<ArgumentException>(() => Png.EncodeGray(3, 2, new byte[5])).Message);

    [Fact]
    public void Image_grid_scales_shared_or_per_image()
    {
        float[] a = [0f, 0.5f, 1f, 1f], b = [2f, 4f, 4f, 4f];
        var shared = new ImageGrid([a, b], 2, 2);
        Assert.Equal(new byte[] { 0, 32, 64, 64 }, shared.GrayLevels(0)); // global min–max 0…4, since b leaves [0,1]
        Assert.Equal(new byte[] { 128, 255, 255, 255 }, shared.GrayLevels(1));
        var own = new ImageGrid([a, b], 2, 2, perImageScaling: true);
        Assert.Equal(new byte[] { 0, 128, 255, 255 }, own.GrayLevels(0));
        Assert.Equal(new byte[] { 0, 255, 255, 255 }, own.GrayLevels(1));
        var unit = new ImageGrid([a], 2, 2);
        Assert.Equal(new byte[] { 0, 128, 255, 255 }, unit.GrayLevels(0)); // values in [0,1] keep their absolute gray
    }

    [Fact]
    public void Image_grid_png_is_the_mosaic_size_and_html_has_captions()
    {
        var grid = new ImageGrid(Enumerable.Range(0, 5).Select(_ => (IReadOnlyList<float>)new float[4]), 2, 2, captions: ["a", "b", "c", "d", "<e>"], columns: 3) { Zoom = 2 };
        var (w, h, _, _) = Decode(grid.ToPng());
        Assert.Equal((3 * 4 + 4 * 4, 2 * 4 + 3 * 4), (w, h)); // 3 columns × 2 rows of 4-px images with 4-px gaps
        Assert.Contains("&lt;e&gt;", grid.ToHtml());
        Assert.Equal(5, grid.ToHtml().Split("data:image/png;base64,").Length - 1);
    }

    [Fact]
    public void Image_grid_rejects_mismatched_sizes() =>
        Assert.Contains("needs 4", Assert.Throws<ArgumentException>(() => new ImageGrid([new float[3]], 2, 2)).Message);

    [Fact]
    public void Formatters_render_grids_as_png_and_html_dataframes_as_capped_tables()
    {
        NotebookFormatters.Register();
        var grid = new ImageGrid([new float[4]], 2, 2);
        var bundle = NotebookSession.Render(grid, null);
        Assert.Equal(["image/png", "text/html", "text/plain"], bundle.Keys.ToArray());
        Assert.Equal(grid.ToPng(), Convert.FromBase64String(bundle["image/png"]));

        var df = new Microsoft.Data.Analysis.DataFrame(new Microsoft.Data.Analysis.PrimitiveDataFrameColumn<int>("n", Enumerable.Range(0, 40)));
        var html = df.ToDisplayString("text/html");
        Assert.StartsWith("<table class=\"noprior-dataframe\">", html);
        Assert.Contains($"… {40 - NotebookHtml.DataFrameRowCap} more rows", html);
    }
}
