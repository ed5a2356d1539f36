using Microsoft.Data.Analysis;
using Microsoft.DotNet.Interactive.Formatting;
using NoPrior.Display;
using Plotly.NET;
using TorchSharp;

namespace NoPrior.Notebooks;

/// <summary>
/// Rich notebook output for the workbook's types through Microsoft.DotNet.Interactive.Formatting: DataFrames as HTML
/// tables, Plotly.NET charts as offline HTML, TorchSharp tensors as text (small ones also as a table) and
/// <see cref="ImageGrid"/> as HTML and PNG, rendered by <see cref="NotebookHtml"/>. The engine calls
/// <see cref="Register"/> at start-up; the library stays free of the notebook package.
/// </summary>
public static class NotebookFormatters
{
    const string HtmlMime = "text/html", PlainMime = "text/plain", PngMime = "image/png";
    static readonly object Gate = new();
    static bool _registered;

    /// <summary>Registers the formatters (idempotent).</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            _registered = true;
        }

        Formatter.Register<DataFrame>(df => NotebookHtml.DataFrameHtml(df), HtmlMime);
        Formatter.Register<DataFrame>(df => NotebookHtml.DataFrameText(df), PlainMime);
        Formatter.SetPreferredMimeTypesFor(typeof(DataFrame), HtmlMime, PlainMime);

        Formatter.Register<GenericChart>(NotebookHtml.ChartHtml, HtmlMime);
        Formatter.Register<GenericChart>(c => "Plotly chart (open the HTML output to see it)", PlainMime);
        Formatter.SetPreferredMimeTypesFor(typeof(GenericChart), HtmlMime, PlainMime);

        Formatter.Register<torch.Tensor>(NotebookHtml.TensorText, PlainMime);
        Formatter.Register<torch.Tensor>(NotebookHtml.TensorHtml, HtmlMime);
        Formatter.SetPreferredMimeTypesFor(typeof(torch.Tensor), HtmlMime, PlainMime);

        Formatter.Register<ImageGrid>(g => g.ToHtml(), HtmlMime);
        Formatter.Register<ImageGrid>(g => Convert.ToBase64String(g.ToPng()), PngMime);
        Formatter.Register<ImageGrid>(g => g.ToString(), PlainMime);
        Formatter.SetPreferredMimeTypesFor(typeof(ImageGrid), HtmlMime, PngMime, PlainMime);
    }
}
