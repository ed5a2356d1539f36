using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NoPrior.Runner;

/// <summary>
/// Renders an executed notebook as one self-contained HTML page: markdown minimally converted, code as preformatted
/// text, outputs by mime type (HTML, then PNG, then plain text). plotly.js appears once, inside the first chart output
/// the engine produced, so the page works offline.
/// </summary>
public static partial class HtmlRenderer
{
    /// <summary>The page for a notebook.</summary>
    public static string Render(JsonObject notebook, string title)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").Append(Enc(title)).Append("</title>\n<style>")
          .Append("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}")
          .Append(".cell{margin:1em 0}.code pre.src{background:#f5f5f7;border-left:3px solid #8a8fd6;padding:.6em;overflow-x:auto}")
          .Append(".prompt{color:#888;font:12px monospace}.out{margin:.3em 0 .3em 1em}.out pre{margin:0;white-space:pre-wrap}")
          .Append(".stderr pre{background:#fff3f3}.error pre{background:#fdd;color:#900;padding:.5em}")
          .Append("table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}")
          .Append("code{background:#f0f0f0;padding:0 3px}</style></head><body>\n");
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

    /// <summary>A minimal markdown subset: headings, fenced code, bullet and numbered lists, paragraphs, inline code,
    /// bold, italics and links. TeX is left as written.</summary>
    public static string Markdown(string md)
    {
        var sb = new StringBuilder();
        var para = new List<string>();
        string? list = null;
        bool inFence = false;
        void FlushPara() { if (para.Count > 0) { sb.Append("<p>").Append(Inline(string.Join(" ", para))).Append("</p>"); para.Clear(); } }
        void CloseList() { if (list is not null) { sb.Append($"</{list}>"); list = null; } }
        foreach (var raw in md.Replace("\r\n", "\n").Split('\n'))
        {
            var line = raw.TrimEnd();
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                FlushPara(); CloseList();
                sb.Append(inFence ? "</pre>" : "<pre>");
                inFence = !inFence;
                continue;
            }
            if (inFence) { sb.Append(Enc(raw)).Append('\n'); continue; }
            if (line.Length == 0) { FlushPara(); CloseList(); continue; }
            if (Heading().Match(line) is { Success: true } h)
            {
                FlushPara(); CloseList();
                int level = h.Groups[1].Length;
                sb.Append($"<h{level}>").Append(Inline(h.Groups[2].Value)).Append($"</h{level}>");
                continue;
            }
            if (Bullet().Match(line) is { Success: true } b)
            {
                FlushPara();
                string kind = char.IsDigit(b.Groups[1].Value[0]) ? "ol" : "ul";
                if (list != kind) { CloseList(); sb.Append($"<{kind}>"); list = kind; }
                sb.Append("<li>").Append(Inline(b.Groups[2].Value)).Append("</li>");
                continue;
            }
            para.Add(line.Trim());
        }
        if (inFence) sb.Append("</pre>");
        FlushPara(); CloseList();
        return sb.ToString();
    }

    static string Inline(string text)
    {
        var s = Enc(text);
        s = InlineCode().Replace(s, "<code>$1</code>");
        s = Bold().Replace(s, "<strong>$1</strong>");
        s = Italic().Replace(s, "<em>$1</em>");
        s = Link().Replace(s, "<a href=\"$2\">$1</a>");
        return s;
    }

    [GeneratedRegex("^(#{1,6})\\s+(.*)$")] private static partial Regex Heading();
    [GeneratedRegex("^\\s*([-*+]|\\d+\\.)\\s+(.*)$")] private static partial Regex Bullet();
    [GeneratedRegex("`([^`]+)`")] private static partial Regex InlineCode();
    [GeneratedRegex("\\*\\*([^*]+)\\*\\*")] private static partial Regex Bold();
    [GeneratedRegex("(?<![*\\w])\\*([^*\\s][^*]*)\\*(?![*\\w])")] private static partial Regex Italic();
    [GeneratedRegex("\\[([^\\]]+)\\]\\(([^)\\s]+)\\)")] private static partial Regex Link();
}
