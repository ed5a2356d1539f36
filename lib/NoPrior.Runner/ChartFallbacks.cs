using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NoPrior.Runner;

/// <summary>
/// Static images of an executed notebook's Plotly charts, for every view where the chart's scripts do not run
/// (an untrusted notebook in Jupyter, GitHub's preview, nbviewer without JavaScript). Each chart output gets an
/// <c>image/png</c> entry and, inside its HTML, an <c>&lt;img&gt;</c> that the chart's own script removes when
/// plotly.js runs; untrusted views strip scripts, keep the image. The images are drawn by plotly.js itself
/// (<c>Plotly.toImage</c>) in one headless Chromium per notebook (Debian's <c>chromium</c>, or WORKBOOK_CHROMIUM),
/// offline. plotly.js stays once per notebook.
/// </summary>
public static partial class ChartFallbacks
{
    /// <summary>Debian's Chromium, or WORKBOOK_CHROMIUM.</summary>
    public static string Chromium => Environment.GetEnvironmentVariable("WORKBOOK_CHROMIUM") is { Length: > 0 } c ? c : "/usr/bin/chromium";

    [GeneratedRegex("<div id=\"(noprior-plot-\\d+)\"")]
    private static partial Regex ChartDiv();

    [GeneratedRegex("<pre class=\"noprior-static\" data-id=\"(noprior-plot-\\d+)\">([^<]*)</pre>")]
    private static partial Regex Result();

    const string PngPrefix = "data:image/png;base64,";

    /// <summary>The chart outputs of a notebook: (output data bundle, chart element id).</summary>
    public static List<(JsonObject Data, string Id)> Charts(JsonObject notebook)
    {
        var charts = new List<(JsonObject, string)>();
        foreach (var cell in Ipynb.Cells(notebook).OfType<JsonObject>())
            if (cell["outputs"] is JsonArray outputs)
                foreach (var o in outputs.OfType<JsonObject>())
                    if (o["data"] is JsonObject data && data["text/html"] is JsonNode html && ChartDiv().Match(Text(html)) is { Success: true } m)
                        charts.Add((data, m.Groups[1].Value));
        return charts;
    }

    /// <summary>
    /// Adds a static image to every chart output of the notebook (in place). Returns how many charts got one; on
    /// failure (no Chromium, a chart that does not draw) writes one line to <paramref name="log"/> and leaves those
    /// charts as they were.
    /// </summary>
    public static int Add(JsonObject notebook, TextWriter log, TimeSpan? timeout = null)
    {
        var charts = Charts(notebook).Where(c => c.Data["image/png"] is null).ToList();
        if (charts.Count == 0) return 0;
        if (!File.Exists(Chromium))
        {
            log.WriteLine($"workbook: {Chromium} not found (install it: apt-get install chromium, or ./workbook setup); charts get no static fallback image.");
            return 0;
        }
        string dir = Directory.CreateTempSubdirectory("noprior-charts-").FullName;
        try
        {
            var images = Render(charts.Select(c => Text(c.Data["text/html"])).ToList(), dir, timeout ?? TimeSpan.FromSeconds(120), log);
            int added = 0;
            foreach (var (data, id) in charts)
            {
                if (!images.TryGetValue(id, out var url) || !url.StartsWith(PngPrefix, StringComparison.Ordinal))
                {
                    log.WriteLine($"workbook: chart {id} got no static image: {(url is null ? "not drawn" : url)}");
                    continue;
                }
                string png = url[PngPrefix.Length..];
                data["image/png"] = png;
                data["text/html"] = WithFallback(Text(data["text/html"]), id, png);
                added++;
            }
            return added;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The chart's HTML followed by its image and a script that removes the image where plotly.js runs.</summary>
    static string WithFallback(string html, string id, string png) =>
        html + $"\n<img id=\"{id}-static\" class=\"noprior-static\" style=\"max-width:100%\" alt=\"static image of the chart (the interactive chart needs a trusted notebook)\" src=\"{PngPrefix}{png}\"/>" +
        $"\n<script type=\"text/javascript\">(function () {{ var s = document.getElementById('{id}-static'); if (s && window.Plotly) s.parentNode.removeChild(s); }})();</script>";

    /// <summary>One page with all the charts; Chromium prints the DOM once every chart has been turned into a PNG.</summary>
    static Dictionary<string, string> Render(List<string> htmls, string dir, TimeSpan timeout, TextWriter log)
    {
        var page = new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"margin:0;width:1000px\">\n");
        foreach (var h in htmls) page.Append("<div>").Append(h).Append("</div>\n");
        // Charts laid out full-width have no width of their own: draw those 1000 px wide.
        page.Append("""
            <script>
            window.addEventListener('load', async () => {
              for (const div of document.querySelectorAll('div[id^="noprior-plot-"]')) {
                const pre = document.createElement('pre');
                pre.className = 'noprior-static'; pre.dataset.id = div.id;
                try {
                  const opts = { format: 'png' };
                  if (!(div.layout && div.layout.width)) { opts.width = 1000; opts.height = (div.layout && div.layout.height) || 450; }
                  pre.textContent = await Plotly.toImage(div, opts);
                } catch (e) { pre.textContent = 'error: ' + e; }
                document.body.appendChild(pre);
              }
            });
            </script>
            </body></html>
            """);
        string file = Path.Combine(dir, "charts.html");
        File.WriteAllText(file, page.ToString());
        var psi = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND", $"--user-data-dir={Path.Combine(dir, "profile")}", "--window-size=1000,800",
                     "--virtual-time-budget=60000", "--dump-dom", new Uri(file).AbsoluteUri })
            psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            log.WriteLine($"workbook: could not start {Chromium} ({e.Message}); charts get no static fallback image.");
            return [];
        }
        using var _ = p;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            log.WriteLine($"workbook: Chromium did not draw the charts' static images within {timeout.TotalSeconds:F0} s.");
            return [];
        }
        p.WaitForExit();
        var images = new Dictionary<string, string>();
        foreach (Match m in Result().Matches(stdout.Result)) images[m.Groups[1].Value] = WebUtility.HtmlDecode(m.Groups[2].Value);
        if (images.Count == 0) log.WriteLine($"workbook: Chromium (exit {p.ExitCode}) drew no static chart images. {LastLine(stderr.Result)}");
        return images;
    }

    static string LastLine(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    static string Text(JsonNode? node) => node switch
    {
        JsonArray a => string.Concat(a.Select(x => (string?)x)),
        _ => (string?)node ?? "",
    };
}
