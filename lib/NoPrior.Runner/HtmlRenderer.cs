using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Markdig;
using Markdig.Extensions.EmphasisExtras;

namespace NoPrior.Runner;

/// <summary>
/// Renders an executed notebook as one HTML page: markdown through Markdig with math typeset by MathJax (a local copy
/// next to the page, see <see cref="MathJaxAssets"/>), code as preformatted text, outputs by mime type (HTML, then PNG,
/// then plain text). plotly.js appears once, inside the first chart output the engine produced. Nothing is fetched
/// from the network: the page works from a file:// URL.
/// </summary>
public static class HtmlRenderer
{
    /// <summary>Writes the page for a notebook to <paramref name="htmlPath"/> with MathJax beside it (copied once per folder).</summary>
    public static void Write(JsonObject notebook, string title, string htmlPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(htmlPath))!;
        Directory.CreateDirectory(dir);
        MathJaxAssets.EnsureCopied(dir);
        File.WriteAllText(htmlPath, Render(notebook, title));
    }

    /// <summary>
    /// MathJax 2.7 from <c>mathjax/</c> beside the page, SVG output (no web fonts to load), Jupyter's delimiters, code
    /// cells and their outputs left alone. TeX errors are collected in <c>window.noPriorMathErrors</c> (the HTML test
    /// reads it); <c>MathJax.Hub.queue.pending == 0</c> once typesetting is done.
    /// </summary>
    const string MathJaxHead = """
        <script type="text/x-mathjax-config">
        window.noPriorMathErrors = [];
        MathJax.Hub.Config({
          tex2jax: { inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']],
                     processEscapes: true, processEnvironments: true, ignoreClass: 'code|out' },
          TeX: { equationNumbers: { autoNumber: 'none' } },
          SVG: { font: 'TeX' }, 'fast-preview': { disabled: true }, showMathMenu: false, messageStyle: 'none'
        });
        MathJax.Hub.Register.MessageHook('TeX Jax - parse error', function (m) { window.noPriorMathErrors.push(String(m[1])); });
        MathJax.Hub.Register.MessageHook('Math Processing Error', function (m) { window.noPriorMathErrors.push(String(m[2] && m[2].message || m)); });
        </script>
        <script type="text/javascript" src="mathjax/MathJax.js?config=TeX-AMS_SVG"></script>

        """;

    /// <summary>The page for a notebook (it expects <c>mathjax/</c> beside it; <see cref="Write"/> puts it there).</summary>
    public static string Render(JsonObject notebook, string title)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(Enc(title)).Append("</title>\n<style>")
          .Append("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}")
          .Append(".cell{margin:1em 0}.code pre.src{background:#f5f5f7;border-left:3px solid #8a8fd6;padding:.6em;overflow-x:auto}")
          .Append(".prompt{color:#888;font:12px monospace}.out{margin:.3em 0 .3em 1em}.out pre{margin:0;white-space:pre-wrap}")
          .Append(".stderr pre{background:#fff3f3}.error pre{background:#fdd;color:#900;padding:.5em}")
          .Append("table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}")
          .Append(".markdown td,.markdown th{text-align:left}.markdown table{margin:.5em 0}")
          .Append("code{background:#f0f0f0;padding:0 3px}</style>\n").Append(MathJaxHead).Append("</head><body>\n");
        foreach (var cell in Ipynb.Cells(notebook))
        {
            if (cell is null) continue;
            string type = Ipynb.CellType(cell), src = Ipynb.Source(cell);
            if (type == "markdown") { sb.Append("<div class=\"cell markdown\">").Append(Markdown(src)).Append("</div>\n"); continue; }
            if (type != "code") { sb.Append("<div class=\"cell raw\"><pre>").Append(Enc(src)).Append("</pre></div>\n"); continue; }
            var count = cell["execution_count"]?.ToString();
            sb.Append("<div class=\"cell code\"><div class=\"prompt\">In [").Append(count ?? " ").Append("]:</div><pre class=\"src\">").Append(Enc(src)).Append("</pre>");
            if (cell["outputs"] is JsonArray outputs) foreach (var o in outputs) if (o is JsonObject obj) Output(sb, obj);
            sb.Append("</div>\n");
        }
        return sb.Append("</body></html>\n").ToString();
    }

    static void Output(StringBuilder sb, JsonObject o)
    {
        switch ((string?)o["output_type"])
        {
            case "stream":
                sb.Append("<div class=\"out ").Append((string?)o["name"] == "stderr" ? "stderr" : "stdout").Append("\"><pre>").Append(Enc(Text(o["text"]))).Append("</pre></div>");
                break;
            case "error":
                var tb = o["traceback"] is JsonArray t ? string.Join("\n", t.Select(x => (string?)x)) : "";
                sb.Append("<div class=\"out error\"><pre>").Append(Enc($"{(string?)o["ename"]}: {(string?)o["evalue"]}\n{tb}")).Append("</pre></div>");
                break;
            case "display_data" or "execute_result":
                if (o["data"] is not JsonObject data) break;
                sb.Append("<div class=\"out\">");
                if (data["text/html"] is { } html) sb.Append(Text(html));
                else if (data["image/png"] is { } png) sb.Append("<img src=\"data:image/png;base64,").Append(Text(png).Trim()).Append("\"/>");
                else if (data["text/plain"] is { } plain) sb.Append("<pre>").Append(Enc(Text(plain))).Append("</pre>");
                sb.Append("</div>");
                break;
        }
    }

    static string Text(JsonNode? node) => node switch
    {
        JsonArray a => string.Concat(a.Select(x => (string?)x)),
        _ => (string?)node ?? "",
    };

    static string Enc(string s) => WebUtility.HtmlEncode(s);

    /// <summary>
    /// Markdown as Jupyter renders it: math (<c>$…$</c>, <c>$$…$$</c>, <c>\(…\)</c>, <c>\[…\]</c>,
    /// <c>\begin{…}…\end{…}</c>) is set aside first, the rest goes through Markdig (CommonMark, pipe tables,
    /// strikethrough), then the math is put back verbatim (HTML-escaped) for MathJax to typeset in the page.
    /// Without that step a line of display math starting with <c>+</c> would become a list item and <c>\|</c> a <c>|</c>.
    /// </summary>
    public static string Markdown(string md)
    {
        var (text, math) = JupyterMath.Remove(md);
        return JupyterMath.Replace(Markdig.Markdown.ToHtml(text, Pipeline), math);
    }

    static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().UseEmphasisExtras(EmphasisExtraOptions.Strikethrough).Build();
}
