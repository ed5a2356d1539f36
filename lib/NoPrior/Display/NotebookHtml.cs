using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Analysis;
using Plotly.NET;

namespace NoPrior.Display;

/// <summary>
/// How the workbook's types look in a notebook, as plain functions: DataFrames as HTML tables and text, Plotly.NET
/// charts as offline HTML (plotly.js inlined once per notebook), TorchSharp tensors as text (small ones also as a
/// table). The notebook engine (<c>NoPrior.Notebooks.NotebookFormatters</c>) registers them with its formatter; the
/// library itself needs no notebook package.
/// </summary>
public static partial class NotebookHtml
{
    static readonly object Gate = new();
    static bool _plotlyEmbedded;
    static int _chartCounter;

    /// <summary>Most DataFrame rows shown in HTML and text; the rest are summarised as "… n more rows".</summary>
    public static int DataFrameRowCap { get; set; } = 25;

    /// <summary>Tensors with at most this many elements (and at most 2 dimensions) are also shown as an HTML table.</summary>
    public static int TensorTableMaxElements { get; set; } = 400;

    /// <summary>
    /// Starts a new notebook document: the next chart embeds plotly.js again (once per notebook, inline, never fetched)
    /// and chart element ids restart at 1 so executed notebooks are deterministic.
    /// </summary>
    public static void BeginNotebook()
    {
        lock (Gate) { _plotlyEmbedded = false; _chartCounter = 0; }
    }

    /// <summary>The full plotly.js bundled in the Plotly.NET assembly as an embedded resource.</summary>
    public static string PlotlyJs()
    {
        var asm = typeof(GenericChart).Assembly;
        var name = asm.GetManifestResourceNames().FirstOrDefault(n => n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException("plotly.js is not embedded in this Plotly.NET assembly; cannot render charts offline.");
        using var s = asm.GetManifestResourceStream(name)!;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>
    /// plotly.js wrapped so that it always defines the global <c>Plotly</c>: in the classic Jupyter notebook page,
    /// require.js is loaded, and plotly.js's UMD header would then register an anonymous AMD module instead, leaving
    /// <c>Plotly</c> undefined for the chart scripts. Hiding define/module/exports from it restores the global.
    /// </summary>
    static string PlotlyJsGlobal() => $"(function (define, module, exports) {{\n{PlotlyJs()}\n}}).call(window);";

    /// <summary>A chart as a div + script; the first chart of a notebook is preceded by an inline plotly.js.</summary>
    public static string ChartHtml(GenericChart chart)
    {
        bool embed; int n;
        lock (Gate) { embed = !_plotlyEmbedded; _plotlyEmbedded = true; n = ++_chartCounter; }
        var html = DeterministicIds(GenericChart.toChartHTML(chart), $"noprior-plot-{n}");
        return embed ? $"<script type=\"text/javascript\">{PlotlyJsGlobal()}</script>\n{html}" : html;
    }

    /// <summary>Replaces Plotly.NET's random GUID (and its dash-less form in the render function's name) with a stable id.</summary>
    internal static string DeterministicIds(string html, string id)
    {
        var m = GuidPattern().Match(html);
        if (!m.Success) return html;
        string guid = m.Value;
        return html.Replace(guid, id).Replace(guid.Replace("-", ""), id.Replace("-", "_"));
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex GuidPattern();

    /// <summary>A self-contained HTML page for a chart, with plotly.js inline (for saved figures).</summary>
    public static string ChartPage(GenericChart chart, string title)
    {
        var html = DeterministicIds(GenericChart.toChartHTML(chart), "noprior-figure");
        return $"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{WebUtility.HtmlEncode(title)}</title><script type=\"text/javascript\">{PlotlyJs()}</script></head><body>{html}</body></html>\n";
    }

    /// <summary>A DataFrame as an HTML table of at most <see cref="DataFrameRowCap"/> rows.</summary>
    public static string DataFrameHtml(DataFrame df)
    {
        var sb = new StringBuilder("<table class=\"noprior-dataframe\"><thead><tr><th></th>");
        foreach (var c in df.Columns) sb.Append("<th>").Append(WebUtility.HtmlEncode(c.Name)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        long shown = Math.Min(df.Rows.Count, DataFrameRowCap);
        for (long r = 0; r < shown; r++)
        {
            sb.Append("<tr><td><i>").Append(r).Append("</i></td>");
            foreach (var c in df.Columns) sb.Append("<td>").Append(WebUtility.HtmlEncode(Cell(c[r]))).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (df.Rows.Count > shown) sb.Append($"<div><i>… {df.Rows.Count - shown} more rows ({df.Rows.Count} × {df.Columns.Count})</i></div>");
        return sb.ToString();
    }

    /// <summary>A DataFrame as aligned text of at most <see cref="DataFrameRowCap"/> rows.</summary>
    public static string DataFrameText(DataFrame df)
    {
        long shown = Math.Min(df.Rows.Count, DataFrameRowCap);
        var cols = df.Columns.ToList();
        var cells = new List<string[]> { cols.Select(c => c.Name).ToArray() };
        for (long r = 0; r < shown; r++) cells.Add(cols.Select(c => Cell(c[r])).ToArray());
        var widths = Enumerable.Range(0, cols.Count).Select(j => cells.Max(row => row[j].Length)).ToArray();
        var sb = new StringBuilder();
        foreach (var row in cells) sb.AppendLine(string.Join("  ", row.Select((v, j) => v.PadLeft(widths[j]))).TrimEnd());
        if (df.Rows.Count > shown) sb.AppendLine($"… {df.Rows.Count - shown} more rows ({df.Rows.Count} × {df.Columns.Count})");
        return sb.ToString().TrimEnd();
    }

    static string Cell(object? v) => v switch
    {
        null => "null",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable x => x.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    static string Describe(torch.Tensor t) => $"tensor [{string.Join("×", t.shape)}] {t.dtype.ToString().ToLowerInvariant()} on {t.device}";

    /// <summary>A tensor as text: shape, dtype, device and its values.</summary>
    public static string TensorText(torch.Tensor t)
    {
        if (t.IsInvalid) return "tensor (disposed)";
        return Describe(t) + "\n" + t.ToString(TensorStringStyle.Numpy, fltFormat: "g6", width: 100, cultureInfo: CultureInfo.InvariantCulture);
    }

    /// <summary>A tensor as HTML: the text form, and a table when it has at most <see cref="TensorTableMaxElements"/> elements and 2 dimensions.</summary>
    public static string TensorHtml(torch.Tensor t)
    {
        if (t.IsInvalid || t.dim() > 2 || t.numel() > TensorTableMaxElements || t.is_complex())
            return "<pre>" + WebUtility.HtmlEncode(TensorText(t)) + "</pre>";
        using var c = t.detach().to(torch.CPU).to(torch.float64).reshape(t.dim() == 2 ? t.shape : [1, t.numel()]);
        var v = c.data<double>().ToArray();
        int rows = (int)c.shape[0], cols = (int)c.shape[1];
        var sb = new StringBuilder("<div><i>").Append(WebUtility.HtmlEncode(Describe(t))).Append("</i></div><table class=\"noprior-tensor\">");
        for (int i = 0; i < rows; i++)
        {
            sb.Append("<tr>");
            for (int j = 0; j < cols; j++) sb.Append("<td>").Append(v[i * cols + j].ToString("G6", CultureInfo.InvariantCulture)).Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</table>").ToString();
    }
}
