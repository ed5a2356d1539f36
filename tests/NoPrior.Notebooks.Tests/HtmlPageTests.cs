using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NoPrior.Runner;
using Xunit.Abstractions;

namespace NoPrior.Notebooks.Tests;

/// <summary>
/// The runner's HTML pages in headless Chromium, offline from file:// URLs: markdown as Jupyter shows it (math
/// typeset by the local MathJax, pipe tables as tables, list items spanning lines, display math untouched by the
/// markdown parser). Screenshots go to TestResults/html-pages/ beside the test assembly.
/// </summary>
public sealed class HtmlPageTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-html-").FullName;
    static readonly string Shots = Path.Combine(AppContext.BaseDirectory, "TestResults", "html-pages");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Markdown = """
        # Title with $\theta$

        The attack looks for candidates $x'_k$ with labels $y'_k$ and multipliers
        $\lambda_k$ that make the weights look stationary,
        $$L = \sum_{\text{layers}} \Big\|\theta - \tfrac1m \sum_k \lambda_k y'_k \nabla_\theta \Phi(x'_k)\Big\|^2
         + 5\sum_k \mathrm{relu}(\lambda_{\min} - \lambda_k)^2,$$
        and counts SSIM $> 0.4$ and $a<b$ as a success.

        - a bullet that
          continues on a second line with $x_1$
        - a second bullet

        | setting | good |
        |---|--:|
        | prior on, $\lambda_{\min} = 0.1$ | 3 |
        | prior off | 0 |

        In code, `$HOME` stays as written.
        """;

    static JsonObject Notebook(params JsonObject[] cells) => new()
    {
        ["cells"] = new JsonArray(cells), ["metadata"] = new JsonObject(), ["nbformat"] = 4, ["nbformat_minor"] = 5,
    };

    static JsonObject MarkdownCell(string text) => new() { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = Ipynb.SourceLines(text) };

    /// <summary>Text of the markdown cells without code spans and MathJax's own markup: what a reader sees as prose.</summary>
    const string ProseText = """
        Array.from(document.querySelectorAll('.markdown')).map(e => {
          const c = e.cloneNode(true);
          c.querySelectorAll('code, pre, script, .MathJax_SVG, .MathJax_SVG_Display, .MJX_Assistive_MathML').forEach(x => x.remove());
          return c.textContent; }).join('\n')
        """;

    static async Task TypesetAsync(HeadlessChromium page, CancellationToken ct)
    {
        await page.UntilAsync("!!(window.MathJax && MathJax.Hub && MathJax.Hub.Register)", "MathJax to load", ct);
        await page.EvaluateAsync("new Promise(r => MathJax.Hub.Register.StartupHook('End', () => r(true)))", ct);
    }

    [Fact]
    public async Task Math_is_typeset_offline_tables_are_tables_and_lists_keep_their_lines()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = budget.Token;
        var code = new JsonObject
        {
            ["cell_type"] = "code", ["metadata"] = new JsonObject(), ["execution_count"] = 1, ["source"] = "Console.WriteLine(\"costs $5 and $6\");",
            ["outputs"] = new JsonArray(new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = "costs $5 and $6\n" }),
        };
        string html = Path.Combine(_dir, "page.html");
        HtmlRenderer.Write(Notebook(MarkdownCell(Markdown), code), "math page", html);
        Assert.True(File.Exists(Path.Combine(_dir, "mathjax", "MathJax.js")), "MathJax was not copied beside the page");
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", File.ReadAllText(html));

        await using var page = await HeadlessChromium.StartAsync(ct);
        await page.OpenAsync(html, ct);
        await TypesetAsync(page, ct);
        await page.ScreenshotAsync(Path.Combine(Shots, "math-page.png"), ct);

        Assert.Equal("[]", (await page.EvaluateAsync("JSON.stringify(window.noPriorMathErrors.concat(window.__errors))", ct))!.ToString());
        // 8 inline formulas and 1 displayed one, each an SVG.
        Assert.Equal(1, await page.ValueAsync<int>("document.querySelectorAll('.markdown .MathJax_SVG_Display svg').length", ct));
        Assert.Equal(9, await page.ValueAsync<int>("document.querySelectorAll('.markdown .MathJax_SVG svg').length", ct));
        string prose = await page.ValueAsync<string>(ProseText, ct);
        output.WriteLine(prose);
        Assert.DoesNotContain("$", prose);
        Assert.DoesNotContain(@"\(", prose);
        Assert.DoesNotContain(@"\[", prose);
        Assert.DoesNotContain("relu", prose);   // the displayed formula is math, not a list item or text
        // The displayed formula's "+ 5…" line is not a bullet; the bullet's second line stays in its item.
        Assert.Equal(2, await page.ValueAsync<int>("document.querySelectorAll('.markdown li').length", ct));
        Assert.Contains("continues on a second line", await page.ValueAsync<string>("document.querySelector('.markdown li').textContent", ct));
        // The pipe table is a table with a header and two rows, the number column right-aligned.
        Assert.Equal("setting|good", await page.ValueAsync<string>("Array.from(document.querySelectorAll('.markdown table th')).map(e => e.textContent).join('|')", ct));
        Assert.Equal(2, await page.ValueAsync<int>("document.querySelectorAll('.markdown table tbody tr').length", ct));
        Assert.Equal("right", await page.ValueAsync<string>("getComputedStyle(document.querySelector('.markdown table td:nth-child(2)')).textAlign", ct));
        Assert.Equal("$HOME", await page.ValueAsync<string>("document.querySelector('.markdown code').textContent", ct));
        // Code cells and their outputs are not math.
        Assert.Contains("costs $5 and $6", await page.ValueAsync<string>("document.querySelector('.out').textContent", ct));
    }

    /// <summary>
    /// Every committed notebook's page (markdown cells, no execution needed): math typeset without TeX errors, no
    /// dollar left in the prose, every pipe table a table.
    /// </summary>
    [Fact]
    public async Task Every_notebook_page_has_typeset_math_and_real_tables()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = budget.Token;
        var notebooks = Directory.GetFiles(Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks"), "*.ipynb").Order().ToList();
        Assert.NotEmpty(notebooks);
        await using var page = await HeadlessChromium.StartAsync(ct);
        var failures = new List<string>();
        foreach (var path in notebooks)
        {
            string name = Path.GetFileNameWithoutExtension(path), html = Path.Combine(_dir, name + ".html");
            var nb = Ipynb.Load(path);
            var markdown = string.Join("\n\n", Ipynb.Cells(nb).Where(c => Ipynb.CellType(c!) == "markdown").Select(c => Ipynb.Source(c!)));
            int tables = Regex.Matches(markdown, @"(?m)^\s*\|?\s*:?-{3,}:?\s*\|").Count;
            HtmlRenderer.Write(nb, name, html);
            await page.OpenAsync(html, ct);
            await TypesetAsync(page, ct);
            await page.ScreenshotAsync(Path.Combine(Shots, name + ".png"), ct);
            string errors = (await page.EvaluateAsync("JSON.stringify(window.noPriorMathErrors.concat(window.__errors))", ct))!.ToString();
            int math = await page.ValueAsync<int>("document.querySelectorAll('.markdown .MathJax_SVG svg').length", ct);
            int tablesShown = await page.ValueAsync<int>("document.querySelectorAll('.markdown table').length", ct);
            string prose = await page.ValueAsync<string>(ProseText, ct);
            output.WriteLine($"{name}: {math} formulas, {tablesShown}/{tables} tables, errors {errors}");
            if (errors != "[]") failures.Add($"{name}: TeX or script errors {errors}");
            if (markdown.Contains('$') && math == 0) failures.Add($"{name}: no typeset math");
            if (tablesShown < tables) failures.Add($"{name}: {tables} pipe tables in the markdown, {tablesShown} tables on the page");
            foreach (var raw in new[] { "$", @"\(", @"\[" })
                if (prose.IndexOf(raw, StringComparison.Ordinal) is int k and >= 0)
                    failures.Add($"{name}: raw '{raw}' in the text: …{prose[Math.Max(0, k - 60)..Math.Min(prose.Length, k + 60)].ReplaceLineEndings(" ")}…");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
