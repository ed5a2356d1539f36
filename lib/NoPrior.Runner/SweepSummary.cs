using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace NoPrior.Runner;

/// <summary>Where a run of a sweep stands: finished (<c>ok</c>), <c>failed</c>, <c>running</c>, or <c>not run</c>.</summary>
/// <param name="State">"ok", "failed", "running" or "not run".</param>
/// <param name="Failure">For a failed run: the notebook, the cell and the error.</param>
/// <param name="Seconds">Wall time of a finished or failed run.</param>
public sealed record RunStatus(string State, string? Failure = null, double? Seconds = null)
{
    /// <summary>The file <c>workbook run --status-file</c> writes in a run's folder; "ok" in it marks a finished run.</summary>
    public const string FileName = "status.json";

    /// <summary>The status in <paramref name="runDirectory"/>'s <see cref="FileName"/>, or <c>not run</c> without one.</summary>
    public static RunStatus Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) return new("not run");
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            double? seconds = json["seconds"] is JsonValue s && s.TryGetValue<double>(out var d) ? d : null;
            if ((string?)json["status"] == "ok") return new("ok", null, seconds);
            var failures = (json["notebooks"]?.AsArray() ?? [])
                .Where(n => n?["failure"] is not null)
                .Select(n => $"{(string?)n!["notebook"]}.ipynb: {(string?)n["failure"]}");
            string failure = (string?)json["failure"] ?? string.Join("; ", failures);
            return new("failed", failure.Length == 0 ? "failed (no details in status.json)" : failure, seconds);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            return new("failed", $"unreadable {FileName}: {e.Message}");
        }
    }

    /// <summary>Writes a status for a run whose <c>workbook run</c> ended without writing one (it did not start, or was killed).</summary>
    public static void WriteFailure(string runDirectory, string failure, double? seconds)
    {
        var json = new JsonObject { ["status"] = "failed", ["failure"] = failure, ["seconds"] = seconds is null ? null : Math.Round(seconds.Value, 1) };
        Directory.CreateDirectory(runDirectory);
        File.WriteAllText(Path.Combine(runDirectory, FileName), json.ToJsonString(SweepPlan.Indented));
    }
}

/// <summary>
/// The summary of a sweep: one row per run with its parameters, its status and the scalar fields of the results JSON
/// the notebook saved (<c>runs/&lt;id&gt;/results/*.json</c>, nested objects flattened with dotted names), written as
/// <c>summary.csv</c> and as <c>summary.html</c> (a table sortable by any column, offline).
/// </summary>
public static class SweepSummary
{
    /// <summary>One value of the table: its text, and its number when it is one (NaN and ±Infinity included).</summary>
    public sealed record Cell(string Text, double? Number);

    /// <summary>A run's row: id, parameters, status, and its reported quantities by column name.</summary>
    public sealed record Row(SweepRun Run, RunStatus Status, IReadOnlyDictionary<string, Cell> Results);

    /// <summary>Longest array of scalars spread over columns (<c>name[0]</c>, <c>name[1]</c>, …); longer ones, and
    /// arrays of objects, are left to the JSON file.</summary>
    public const int MaxArrayColumns = 16;

    /// <summary>
    /// The scalar fields of a results JSON by dotted name: numbers (and the strings "NaN", "Infinity", "-Infinity" that
    /// the results writer uses for them), strings and booleans (nulls are left out); objects recursively (<c>plane.after</c>); arrays of at
    /// most <see cref="MaxArrayColumns"/> scalars as <c>name[i]</c>.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, Cell>> Flatten(JsonNode? node, string prefix = "")
    {
        var into = new List<KeyValuePair<string, Cell>>();
        Walk(node, prefix, into);
        return into;

        static void Walk(JsonNode? node, string key, List<KeyValuePair<string, Cell>> into)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var (name, child) in o) Walk(child, key.Length == 0 ? name : $"{key}.{name}", into);
                    break;
                case JsonArray a when a.Count <= MaxArrayColumns && a.All(e => e is JsonValue):
                    for (int i = 0; i < a.Count; i++) Walk(a[i], $"{key}[{i}]", into);
                    break;
                case JsonValue v when key.Length > 0:
                    into.Add(new(key, ToCell(v)));
                    break;
            }
        }
    }

    static Cell ToCell(JsonValue v)
    {
        switch (v.GetValueKind())
        {
            case System.Text.Json.JsonValueKind.Number: return new(v.ToJsonString(), v.GetValue<double>());
            case System.Text.Json.JsonValueKind.True: return new("true", null);
            case System.Text.Json.JsonValueKind.False: return new("false", null);
            case System.Text.Json.JsonValueKind.String:
                var s = v.GetValue<string>();
                return s switch
                {
                    "NaN" => new(s, double.NaN),
                    "Infinity" => new(s, double.PositiveInfinity),
                    "-Infinity" => new(s, double.NegativeInfinity),
                    _ => new(s, null),
                };
            default: return new("", null);
        }
    }

    /// <summary>The rows of the sweep in <paramref name="sweepDirectory"/>: each run's status and its results
    /// (the notebook's own <c>&lt;notebook&gt;.json</c> unprefixed, any other results file's fields prefixed with its name).</summary>
    public static IReadOnlyList<Row> Collect(string sweepDirectory, string notebook, IReadOnlyList<SweepRun> runs, IReadOnlySet<int>? running = null)
    {
        var rows = new List<Row>();
        foreach (var run in runs)
        {
            string dir = RunDirectory(sweepDirectory, run);
            var status = RunStatus.Read(dir);
            if (status.State == "not run" && running?.Contains(run.Index) == true) status = new("running");
            var results = new Dictionary<string, Cell>(StringComparer.Ordinal);
            var resultsDir = Path.Combine(dir, "results");
            if (Directory.Exists(resultsDir))
                foreach (var file in Directory.EnumerateFiles(resultsDir, "*.json").OrderBy(f => Path.GetFileNameWithoutExtension(f) != notebook).ThenBy(f => f, StringComparer.Ordinal))
                {
                    string name = Path.GetFileNameWithoutExtension(file);
                    JsonNode? json;
                    try { json = JsonNode.Parse(File.ReadAllText(file)); }
                    catch (System.Text.Json.JsonException) { continue; }
                    foreach (var (key, cell) in Flatten(json, name == notebook ? "" : name)) results.TryAdd(key, cell);
                }
            rows.Add(new Row(run, status, results));
        }
        return rows;
    }

    /// <summary>A run's output folder.</summary>
    public static string RunDirectory(string sweepDirectory, SweepRun run) => Path.Combine(sweepDirectory, "runs", run.Id);

    /// <summary>
    /// Orders rows by a column (a parameter, <c>status</c>, <c>seconds</c> or a reported quantity; a leading '-' sorts
    /// descending): numbers numerically, text ordinally, rows without the value last. Throws naming the known columns
    /// when no row has it.
    /// </summary>
    public static IReadOnlyList<Row> Sort(IReadOnlyList<Row> rows, string? column)
    {
        if (string.IsNullOrEmpty(column)) return rows;
        bool descending = column.StartsWith('-');
        string key = descending ? column[1..] : column;
        var columns = Columns(rows);
        if (!columns.Contains(key)) throw new ArgumentException($"--sort {column}: no column '{key}'; the summary has: {string.Join(", ", columns)}.");
        var keyed = rows.Select(r => (Row: r, Cell: Value(r, key))).ToList();
        var present = keyed.Where(x => x.Cell is not null).ToList();
        var ordered = present.All(x => x.Cell!.Number is not null)
            ? (descending ? present.OrderByDescending(x => x.Cell!.Number) : present.OrderBy(x => x.Cell!.Number))
            : (descending ? present.OrderByDescending(x => x.Cell!.Text, StringComparer.Ordinal) : present.OrderBy(x => x.Cell!.Text, StringComparer.Ordinal));
        return ordered.Concat(keyed.Where(x => x.Cell is null)).Select(x => x.Row).ToList();
    }

    /// <summary>Columns in order: id, the parameters, status, seconds, the reported quantities (first seen first), failure.</summary>
    public static IReadOnlyList<string> Columns(IReadOnlyList<Row> rows)
    {
        var columns = new List<string> { "id" };
        foreach (var r in rows) foreach (var p in r.Run.Parameters) if (!columns.Contains(p.Key)) columns.Add(p.Key);
        columns.AddRange(["status", "seconds"]);
        var seen = new HashSet<string>(columns);
        foreach (var r in rows) foreach (var k in r.Results.Keys) if (seen.Add(k)) columns.Add(k);
        columns.Add("failure");
        return columns;
    }

    /// <summary>The value of <paramref name="column"/> in a row, or null when the row has none.</summary>
    public static Cell? Value(Row row, string column) => column switch
    {
        "id" => new(row.Run.Id, null),
        "status" => new(row.Status.State, null),
        "seconds" => row.Status.Seconds is { } s ? new(s.ToString("F1", CultureInfo.InvariantCulture), s) : null,
        "failure" => row.Status.Failure is { } f ? new(f, null) : null,
        _ when row.Run.Parameters.Any(p => p.Key == column) => Parameter(row.Run[column]),
        _ => row.Results.GetValueOrDefault(column),
    };

    static Cell Parameter(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? new(value, d) : new(value, null);

    /// <summary>The table as CSV (RFC 4180: fields with commas, quotes or line breaks quoted).</summary>
    public static string ToCsv(IReadOnlyList<Row> rows)
    {
        var columns = Columns(rows);
        var sb = new StringBuilder();
        sb.AppendJoin(',', columns.Select(Quote)).Append('\n');
        foreach (var r in rows) sb.AppendJoin(',', columns.Select(c => Quote(Value(r, c)?.Text ?? ""))).Append('\n');
        return sb.ToString();

        static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
    }

    /// <summary>The table as a self-contained HTML page: click a column header to sort by it (again: descending);
    /// each id links to the run's rendered notebook.</summary>
    public static string ToHtml(IReadOnlyList<Row> rows, string title, string notebook)
    {
        var columns = Columns(rows);
        var sb = new StringBuilder();
        sb.Append($$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{Enc(title)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 1.5em; }
            table { border-collapse: collapse; font-size: 0.9em; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; white-space: nowrap; }
            td.text, th { text-align: left; }
            th { background: #f3f3f3; cursor: pointer; position: sticky; top: 0; }
            th.asc::after { content: " ▲"; } th.desc::after { content: " ▼"; }
            tr.failed td { background: #fde8e8; } tr.running td, tr.not-run td { color: #888; }
            td.failure { white-space: normal; max-width: 40em; text-align: left; }
            </style></head><body>
            <h1>{{Enc(title)}}</h1>
            <p>{{rows.Count(r => r.Status.State == "ok")}} ok, {{rows.Count(r => r.Status.State == "failed")}} failed, {{rows.Count(r => r.Status.State == "running")}} running, {{rows.Count(r => r.Status.State == "not run")}} not run. Click a column to sort by it.</p>
            <table id="summary"><thead><tr>
            """);
        foreach (var c in columns) sb.Append($"<th>{Enc(c)}</th>");
        sb.Append("</tr></thead><tbody>\n");
        foreach (var r in rows)
        {
            sb.Append($"<tr class=\"{r.Status.State.Replace(' ', '-')}\">");
            foreach (var c in columns)
            {
                var cell = Value(r, c);
                string text = Enc(cell?.Text ?? "");
                string cls = c == "failure" ? "failure" : cell?.Number is null ? "text" : "num";
                string sortKey = cell?.Number is { } n ? $" data-n=\"{n.ToString("R", CultureInfo.InvariantCulture)}\"" : "";
                if (c == "id" && r.Status.State != "not run")
                    text = $"<a href=\"runs/{Uri.EscapeDataString(r.Run.Id)}/html/{Uri.EscapeDataString(notebook)}.html\">{text}</a>";
                sb.Append($"<td class=\"{cls}\"{sortKey}>{text}</td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("""
            </tbody></table>
            <script>
            // Sort by the clicked column: numbers numerically (data-n), text alphabetically, empty cells last.
            document.querySelectorAll('#summary th').forEach((th, col) => th.addEventListener('click', () => {
              const body = document.querySelector('#summary tbody');
              const desc = th.classList.contains('asc');
              document.querySelectorAll('#summary th').forEach(h => h.classList.remove('asc', 'desc'));
              th.classList.add(desc ? 'desc' : 'asc');
              const key = tr => { const td = tr.children[col]; return td.dataset.n !== undefined ? parseFloat(td.dataset.n) : td.textContent; };
              const rows = Array.from(body.rows);
              rows.sort((a, b) => {
                const x = key(a), y = key(b);
                if (x === '' || y === '') return (x === '') - (y === '');
                const c = typeof x === 'number' && typeof y === 'number' ? (x - y || 0) : String(x).localeCompare(String(y));
                return desc ? -c : c;
              });
              rows.forEach(r => body.appendChild(r));
            }));
            </script>
            </body></html>

            """);
        return sb.ToString();

        static string Enc(string s) => WebUtility.HtmlEncode(s);
    }

    /// <summary>Writes <c>summary.csv</c> and <c>summary.html</c> into the sweep folder; returns the rows as written.</summary>
    public static IReadOnlyList<Row> Write(string sweepDirectory, string notebook, IReadOnlyList<SweepRun> runs, string? sort, IReadOnlySet<int>? running = null)
    {
        var rows = Sort(Collect(sweepDirectory, notebook, runs, running), sort);
        File.WriteAllText(Path.Combine(sweepDirectory, "summary.csv"), ToCsv(rows));
        File.WriteAllText(Path.Combine(sweepDirectory, "summary.html"), ToHtml(rows, $"Sweep of {notebook}", notebook));
        return rows;
    }
}
