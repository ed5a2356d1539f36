using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NoPrior.Runner;

/// <summary>
/// How long each notebook took the last time it finished in an output folder (<c>&lt;out&gt;/run-times.json</c>), and the
/// order <c>run -j N</c> starts notebooks in: longest first (Graham's LPT rule), so the longest notebook does not start
/// last and run alone on one of the N slots while the others sit idle. Notebooks without a time (the first run in a
/// folder, or new parameter values) start first, in file order: they may be the long ones. The summary table keeps
/// file order whatever the start order; <c>-j 1</c> always runs in file order (the series is read in order).
/// A time belongs to a notebook and its <c>-p</c> values: the same notebook at paper scale is another entry.
/// </summary>
public static class RunTimes
{
    /// <summary>The file's name in the output folder.</summary>
    public const string FileName = "run-times.json";

    /// <summary>The key of a notebook run: its file name without extension, then its -p values as given.</summary>
    public static string Key(string notebook, IReadOnlyList<KeyValuePair<string, string>> parameters) =>
        string.Join(" ", new[] { Path.GetFileNameWithoutExtension(notebook) }.Concat(parameters.Select(p => $"-p {p.Key}={p.Value}")));

    /// <summary>The times recorded in <paramref name="outDir"/>, in seconds by key; empty when there is no file. A file
    /// that is not such a JSON object is named on <paramref name="log"/> and ignored (it only orders the run).</summary>
    public static Dictionary<string, double> Read(string outDir, TextWriter log)
    {
        var path = Path.Combine(outDir, FileName);
        var times = new Dictionary<string, double>(StringComparer.Ordinal);
        if (!File.Exists(path)) return times;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(path)) is not JsonObject o) throw new JsonException("not a JSON object");
            foreach (var (key, value) in o)
                if (value is JsonValue v && v.TryGetValue<double>(out var s) && double.IsFinite(s) && s >= 0) times[key] = s;
        }
        catch (JsonException e)
        {
            log.WriteLine($"workbook: ignoring {path} ({e.Message}); notebooks start in file order.");
            times.Clear();
        }
        return times;
    }

    /// <summary>Writes to <paramref name="outDir"/> the times <see cref="Read"/> gave when the run began, with the
    /// finished notebooks' times in place of theirs. Written whole or not at all.</summary>
    public static void Write(string outDir, IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> finished)
    {
        var json = new JsonObject();
        foreach (var (key, seconds) in before.Where(t => !finished.ContainsKey(t.Key))
                     .Concat(finished.Select(t => KeyValuePair.Create(t.Key, Math.Round(t.Value, 1))))
                     .OrderBy(t => t.Key, StringComparer.Ordinal))
            json[key] = seconds;
        AtomicFile.WriteAllText(Path.Combine(outDir, FileName), json.ToJsonString(SweepPlan.Indented) + "\n");
    }

    /// <summary>The indices 0…count−1 in start order: those without a time first, in file order, then the rest by
    /// decreasing time (file order among equal times).</summary>
    public static int[] StartOrder(IReadOnlyList<string> keys, IReadOnlyDictionary<string, double> times) =>
        Enumerable.Range(0, keys.Count)
            .OrderBy(i => times.ContainsKey(keys[i]) ? 1 : 0)
            .ThenByDescending(i => times.TryGetValue(keys[i], out var s) ? s : 0)
            .ThenBy(i => i)
            .ToArray();

    /// <summary>The start order as one line for the terminal, e.g. "09-x (178 s), 11-y (177 s), …".</summary>
    public static string Describe(IReadOnlyList<string> names, IReadOnlyList<string> keys, IReadOnlyList<int> order, IReadOnlyDictionary<string, double> times) =>
        string.Join(", ", order.Select(i => times.TryGetValue(keys[i], out var s)
            ? $"{names[i]} ({s.ToString("F0", CultureInfo.InvariantCulture)} s)" : $"{names[i]} (no time yet)"));
}
