using System.Text.Json.Nodes;
using NoPrior.Runner;

namespace NoPrior.Notebooks.Tests;

/// <summary>The sweep's summary (<see cref="SweepSummary"/>) and run statuses, on run folders written by hand.</summary>
public sealed class SweepSummaryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-summary-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Results_are_flattened_with_dotted_names_short_scalar_arrays_indexed_and_named_infinities_as_numbers()
    {
        var json = JsonNode.Parse("""
            { "seed": 1, "Delta": 0.25, "label": "mnist", "ok": true, "none": null, "eps": "NaN", "big": "-Infinity",
              "plane": { "after": 1e-16, "deep": { "n": 3 } }, "pair": [2, 3], "long": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],
              "rows": [ { "Radius": 10 } ] }
            """);
        var flat = SweepSummary.Flatten(json).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(["seed", "Delta", "label", "ok", "eps", "big", "plane.after", "plane.deep.n", "pair[0]", "pair[1]"], flat.Keys);
        Assert.Equal(0.25, flat["Delta"].Number);
        Assert.Equal("1e-16", flat["plane.after"].Text);
        Assert.Equal(3, flat["plane.deep.n"].Number);
        Assert.Equal("mnist", flat["label"].Text);
        Assert.Null(flat["label"].Number);
        Assert.Equal("true", flat["ok"].Text);
        Assert.True(double.IsNaN(flat["eps"].Number!.Value));
        Assert.Equal(double.NegativeInfinity, flat["big"].Number);
        Assert.Equal(3, flat["pair[1]"].Number);
    }

    /// <summary>A run folder as <c>workbook run --status-file</c> leaves it.</summary>
    void WriteRun(SweepRun run, string? status, string? results = null, string? otherResults = null)
    {
        var dir = SweepSummary.RunDirectory(_dir, run);
        Directory.CreateDirectory(Path.Combine(dir, "results"));
        if (status is not null) File.WriteAllText(Path.Combine(dir, RunStatus.FileName), status);
        if (results is not null) File.WriteAllText(Path.Combine(dir, "results", "tiny.json"), results);
        if (otherResults is not null) File.WriteAllText(Path.Combine(dir, "results", "extra.json"), otherResults);
    }

    IReadOnlyList<SweepRun> FourRuns()
    {
        var runs = SweepPlan.Expand(SweepPlan.Axes([new("x", "2,-1,10,3")]));
        WriteRun(runs[0], """{ "status": "ok", "seconds": 4.5 }""", """{ "square": 4, "plane": { "after": 0.5 } }""", """{ "n": 7 }""");
        WriteRun(runs[1], """{ "status": "failed", "seconds": 1.2, "notebooks": [ { "notebook": "tiny", "status": "error in cell [3]", "failure": "ArgumentOutOfRangeException in cell [3], line 1: x must be non-negative" } ] }""");
        WriteRun(runs[2], """{ "status": "ok", "seconds": 3 }""", """{ "square": 100, "plane": { "after": "NaN" } }""");
        WriteRun(runs[3], null);
        return runs;
    }

    [Fact]
    public void Statuses_say_finished_failed_with_notebook_cell_and_error_or_not_run()
    {
        var runs = FourRuns();
        Assert.Equal(new RunStatus("ok", null, 4.5), RunStatus.Read(SweepSummary.RunDirectory(_dir, runs[0])));
        var failed = RunStatus.Read(SweepSummary.RunDirectory(_dir, runs[1]));
        Assert.Equal("failed", failed.State);
        Assert.Equal("tiny.ipynb: ArgumentOutOfRangeException in cell [3], line 1: x must be non-negative", failed.Failure);
        Assert.Equal("not run", RunStatus.Read(SweepSummary.RunDirectory(_dir, runs[3])).State);
        Assert.Equal("not run", RunStatus.Read(Path.Combine(_dir, "nowhere")).State);
        File.WriteAllText(Path.Combine(SweepSummary.RunDirectory(_dir, runs[3]), RunStatus.FileName), "{ broken");
        Assert.StartsWith("unreadable status.json", RunStatus.Read(SweepSummary.RunDirectory(_dir, runs[3])).Failure);
    }

    [Fact]
    public void The_summary_has_a_row_per_run_with_parameters_status_and_results_in_csv_and_html()
    {
        var runs = FourRuns();
        var rows = SweepSummary.Write(_dir, "tiny", runs, sort: null, running: new HashSet<int> { 3 });
        Assert.Equal(["id", "x", "status", "seconds", "square", "plane.after", "extra.n", "failure"], SweepSummary.Columns(rows));
        var csv = File.ReadAllLines(Path.Combine(_dir, "summary.csv"));
        Assert.Equal(5, csv.Length);
        Assert.Equal("id,x,status,seconds,square,plane.after,extra.n,failure", csv[0]);
        Assert.Equal($"{runs[0].Id},2,ok,4.5,4,0.5,7,", csv[1]);
        Assert.Equal($"{runs[1].Id},-1,failed,1.2,,,,\"tiny.ipynb: ArgumentOutOfRangeException in cell [3], line 1: x must be non-negative\"", csv[2]);
        Assert.Equal($"{runs[3].Id},3,running,,,,,", csv[4]);

        var html = File.ReadAllText(Path.Combine(_dir, "summary.html"));
        Assert.Contains("2 ok, 1 failed, 1 running, 0 not run", html);
        Assert.Contains("<th>plane.after</th>", html);
        Assert.Contains($"<a href=\"runs/{runs[0].Id}/html/tiny.html\">", html);
        Assert.Contains("<tr class=\"failed\">", html);
        Assert.Contains("data-n=\"0.5\"", html);
        Assert.DoesNotContain("src=", html); // offline: nothing fetched
        Assert.Contains("addEventListener('click'", html);
    }

    [Fact]
    public void Rows_sort_by_any_column_numbers_numerically_missing_values_last()
    {
        var runs = FourRuns();
        var rows = SweepSummary.Collect(_dir, "tiny", runs);
        Assert.Equal(["-1", "2", "3", "10"], SweepSummary.Sort(rows, "x").Select(r => r.Run["x"]));
        Assert.Equal(["10", "2", "-1", "3"], SweepSummary.Sort(rows, "-square").Select(r => r.Run["x"]));
        Assert.Equal(["2", "10", "-1", "3"], SweepSummary.Sort(rows, "square").Select(r => r.Run["x"]));
        Assert.Equal(["failed", "not run", "ok", "ok"], SweepSummary.Sort(rows, "status").Select(r => r.Status.State));
        Assert.Contains("--sort loss: no column 'loss'; the summary has: id, x, status",
            Assert.Throws<ArgumentException>(() => SweepSummary.Sort(rows, "loss")).Message);
    }

    [Fact]
    public async Task The_html_table_sorts_by_a_clicked_column_numbers_numerically_then_descending()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        SweepSummary.Write(_dir, "tiny", FourRuns(), sort: null);
        await using var page = await HeadlessChromium.StartAsync(ct);
        await page.OpenAsync(Path.Combine(_dir, "summary.html"), ct);
        const string column = "Array.from(document.querySelectorAll('#summary tbody tr')).map(r => r.children[1].textContent).join(' ')";
        Assert.Equal("2 -1 10 3", await page.ValueAsync<string>(column, ct));
        await page.EvaluateAsync("document.querySelectorAll('#summary th')[1].click()", ct); // x
        Assert.Equal("-1 2 3 10", await page.ValueAsync<string>(column, ct));
        await page.EvaluateAsync("document.querySelectorAll('#summary th')[1].click()", ct);
        Assert.Equal("10 3 2 -1", await page.ValueAsync<string>(column, ct));
        await page.EvaluateAsync("document.querySelectorAll('#summary th')[4].click()", ct); // square: 4, 100; the others have none
        Assert.Equal("2 10 3 -1", await page.ValueAsync<string>(column, ct)); // empty cells last, in their previous order
        Assert.Equal("[]", (await page.EvaluateAsync("JSON.stringify(window.__errors)", ct))!.ToString());
    }
}
