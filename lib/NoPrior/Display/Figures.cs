using Plotly.NET;

namespace NoPrior.Display;

/// <summary>
/// Saves figures of an executed notebook under <c>&lt;output&gt;/figures/</c>, where the output folder is
/// <see cref="Workbook.OutputDirectory"/> (the runner's <c>--out</c>, via WORKBOOK_OUTPUT). Each file is
/// self-contained and works offline.
/// </summary>
public static class Figures
{
    /// <summary>The figures folder, <c>&lt;output&gt;/figures</c>, created if missing.</summary>
    public static string Directory => Workbook.OutputSubdirectory("figures");

    /// <summary>Writes <c>figures/&lt;name&gt;.html</c> (plotly.js inline) and returns its full path.</summary>
    public static string Save(GenericChart chart, string name)
    {
        var path = PathFor(name, ".html");
        File.WriteAllText(path, NotebookHtml.ChartPage(chart, name));
        return path;
    }

    /// <summary>Writes <c>figures/&lt;name&gt;.html</c> and <c>figures/&lt;name&gt;.png</c>; returns the PNG's full path.</summary>
    public static string Save(ImageGrid grid, string name)
    {
        File.WriteAllText(PathFor(name, ".html"),
            $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{System.Net.WebUtility.HtmlEncode(name)}</title></head><body>{grid.ToHtml()}</body></html>\n");
        var png = PathFor(name, ".png");
        File.WriteAllBytes(png, grid.ToPng());
        return png;
    }

    static string PathFor(string name, string extension)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/') || name.Contains('\\') || name is "." or "..")
            throw new ArgumentException($"Figure name '{name}' must be a plain file name without folders or extension, e.g. \"loss-curve\".", nameof(name));
        return Path.Combine(Directory, name + extension);
    }
}
