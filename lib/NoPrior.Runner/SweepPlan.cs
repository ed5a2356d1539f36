using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NoPrior.Runner;

/// <summary>One run of a sweep: its position, a folder name stable under its parameter values, and the values.</summary>
/// <param name="Index">Position in the sweep (the Slurm array index).</param>
/// <param name="Id">Folder name under <c>runs/</c>: the swept values readable, then a hash of every value.</param>
/// <param name="Parameters">Every <c>-p</c> value of the run (swept and fixed), in the order given.</param>
public sealed record SweepRun(int Index, string Id, IReadOnlyList<KeyValuePair<string, string>> Parameters)
{
    /// <summary>The value of parameter <paramref name="name"/>.</summary>
    public string this[string name] => Parameters.First(p => p.Key == name).Value;
}

/// <summary>One <c>-p</c> argument of a sweep: a list of values (one value: the same in every run), or a range
/// drawn once per run under <c>--random K</c> (then <see cref="Values"/> is empty).</summary>
/// <param name="Name">The parameter.</param>
/// <param name="Values">The listed values, in the order given.</param>
/// <param name="Range">The range, for <c>-p name=DIST:LOW:HIGH</c>.</param>
public sealed record SweepAxis(string Name, IReadOnlyList<string> Values, SweepRange? Range = null);

/// <summary>
/// The runs of <c>workbook sweep</c>: the grid (Cartesian product) of the <c>-p name=v1,v2,…</c> lists, or a seeded
/// random sample of K distinct runs (points of the grid, with a value drawn from each range). Pure functions of the
/// arguments, so a restart sees the same runs.
/// </summary>
public static class SweepPlan
{
    /// <summary>
    /// Splits a <c>-p</c> value list at its top-level commas: commas inside (), [], {} or a "…"/'…' literal do not
    /// split, so <c>new[] { 0.1, 1.0 },new[] { 2.0 }</c> is two values; <c>\,</c> is a literal comma anywhere.
    /// Throws naming the parameter for an empty item or unbalanced brackets or quotes.
    /// </summary>
    public static IReadOnlyList<string> SplitValues(string name, string list)
    {
        var values = new List<string>();
        var current = new StringBuilder();
        var open = new Stack<char>();
        char quote = '\0';
        for (int i = 0; i < list.Length; i++)
        {
            char c = list[i];
            if (quote != '\0')
            {
                current.Append(c);
                if (c == '\\' && i + 1 < list.Length) current.Append(list[++i]);
                else if (c == quote) quote = '\0';
                continue;
            }
            switch (c)
            {
                case '\\' when i + 1 < list.Length && list[i + 1] == ',': current.Append(','); i++; continue;
                case '"' or '\'': quote = c; break;
                case '(' or '[' or '{': open.Push(c); break;
                case ')' or ']' or '}':
                    char expected = c switch { ')' => '(', ']' => '[', _ => '{' };
                    if (open.Count == 0 || open.Pop() != expected)
                        throw new ArgumentException($"-p {name}={list}: unbalanced '{c}' at position {i + 1}.");
                    break;
                case ',' when open.Count == 0:
                    values.Add(Item(current, values.Count));
                    continue;
            }
            current.Append(c);
        }
        if (quote != '\0') throw new ArgumentException($"-p {name}={list}: the quote {quote} is not closed.");
        if (open.Count > 0) throw new ArgumentException($"-p {name}={list}: '{open.Peek()}' is not closed.");
        values.Add(Item(current, values.Count));
        var repeated = values.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw new ArgumentException($"-p {name}={list}: the value '{repeated.Key}' is listed twice.");
        return values;

        string Item(StringBuilder sb, int k)
        {
            string v = sb.ToString().Trim();
            sb.Clear();
            if (v.Length == 0) throw new ArgumentException($"-p {name}={list}: value {k + 1} is empty (a stray comma?).");
            return v;
        }
    }

    /// <summary>
    /// The axes of the <c>-p</c> arguments, in the order given: a list of values (split by <see cref="SplitValues"/>;
    /// one value is fixed for every run) or a range (<see cref="SweepRange.Parse"/>), which is the whole value of its
    /// <c>-p</c>. A name given twice, or a range listed with other values, is an error.
    /// </summary>
    public static IReadOnlyList<SweepAxis> Axes(IEnumerable<KeyValuePair<string, string>> arguments)
    {
        var axes = new List<SweepAxis>();
        foreach (var (name, list) in arguments)
        {
            if (axes.Any(a => a.Name == name)) throw new ArgumentException($"-p {name} is given twice; list its values in one -p {name}=v1,v2,….");
            if (SweepRange.Parse(name, list) is { } range) { axes.Add(new SweepAxis(name, [], range)); continue; }
            var values = SplitValues(name, list);
            if (values.Count > 1)
                foreach (var v in values)
                    if (SweepRange.Parse(name, v) is not null)
                        throw new ArgumentException($"-p {name}={list}: the range '{v}' is listed with other values; a range is the whole value of -p {name}.");
            axes.Add(new SweepAxis(name, values));
        }
        return axes;
    }

    /// <summary>Number of points of the grid of the listed values (ranges not counted); throws when it does not fit in a long.</summary>
    public static long GridSize(IReadOnlyList<SweepAxis> axes)
    {
        long n = 1;
        foreach (var a in axes) if (a.Range is null) n = checked(n * a.Values.Count);
        return n;
    }

    /// <summary>
    /// The runs, with indices 0…runs−1. Without ranges: every point of the grid (last axis fastest) or, with
    /// <paramref name="random"/> = K, K distinct points drawn with <paramref name="seed"/> (all of them, in grid order,
    /// when K ≥ the grid's size). With ranges (which need <paramref name="random"/>): K runs, each drawn as
    /// <see cref="Sample"/> describes. Throws naming the parameter for a range without <paramref name="random"/>.
    /// </summary>
    public static IReadOnlyList<SweepRun> Expand(IReadOnlyList<SweepAxis> axes, int? random = null, int seed = 0)
    {
        var ranges = axes.Where(a => a.Range is not null).ToList();
        if (random is null && ranges.Count > 0)
            throw new ArgumentException($"-p {ranges[0].Name}={ranges[0].Range!.Text} is a range, and a range is sampled: add --random K (K runs, e.g. --random 20; --seed S picks the sample).");
        long size;
        try { size = GridSize(axes); }
        catch (OverflowException) { throw new ArgumentException("the grid has more than 2^63 points; sample it with --random K."); }
        if (random is <= 0) throw new ArgumentException($"--random expects a positive number of runs, got {random}.");
        IEnumerable<string[]> points;
        if (random is { } k && (k < size || ranges.Count > 0))
        {
            if (size > int.MaxValue && k > 1_000_000) throw new ArgumentException($"--random {k} over a grid of {size} points: at most 1000000 runs.");
            points = Sample(axes, size, k, seed);
        }
        else
        {
            if (size > 100_000) throw new ArgumentException($"the grid has {size} runs; sample it with --random K.");
            points = Enumerable.Range(0, (int)size).Select(i => GridPoint(axes, i));
        }
        var swept = axes.Where(a => a.Range is not null || a.Values.Count > 1).Select(a => a.Name).ToHashSet();
        return points.Select((values, index) =>
        {
            var parameters = axes.Select((a, i) => KeyValuePair.Create(a.Name, values[i])).ToArray();
            return new SweepRun(index, RunId(parameters, swept), parameters);
        }).ToList();
    }

    /// <summary>The listed values at grid point <paramref name="point"/> (last listed axis fastest); null for ranges.</summary>
    static string[] GridPoint(IReadOnlyList<SweepAxis> axes, long point)
    {
        var values = new string[axes.Count];
        for (int a = axes.Count - 1; a >= 0; a--)
        {
            if (axes[a].Range is not null) continue;
            int n = axes[a].Values.Count;
            values[a] = axes[a].Values[(int)(point % n)];
            point /= n;
        }
        return values;
    }

    /// <summary>
    /// K distinct runs, in the order drawn, from one <c>new Random(seed)</c> (System.Random with a seed is the same
    /// sequence on every .NET version and machine). Each run draws, in this order: its point of the grid of the listed
    /// values, <c>NextInt64(size)</c> (which draws nothing when the grid is one point), then each range in the order of
    /// the <c>-p</c> options (<see cref="SweepRange.Draw"/>). A run equal to one drawn before is drawn again. Without
    /// ranges this is the sample of K distinct grid points it always was.
    /// </summary>
    static IEnumerable<string[]> Sample(IReadOnlyList<SweepAxis> axes, long size, int k, int seed)
    {
        var ranges = axes.Select((a, i) => (a.Range, i)).Where(x => x.Range is not null).ToList();
        // Lists and integer ranges hold finitely many runs: more cannot be distinct.
        if (ranges.Count > 0 && ranges.All(r => r.Range!.IsInteger))
        {
            long distinct = size;
            try { foreach (var (r, _) in ranges) distinct = checked(distinct * (long)(r!.High - r.Low)); }
            catch (OverflowException) { distinct = long.MaxValue; }
            if (k > distinct)
                throw new ArgumentException($"--random {k}: the lists and integer ranges hold only {distinct} distinct runs; ask for at most {distinct}.");
        }
        var rng = new Random(seed);
        var seen = new HashSet<string>();
        var drawn = new List<string[]>(k);
        long draws = 0, limit = 1000L * k + 100_000;
        while (drawn.Count < k)
        {
            var values = GridPoint(axes, rng.NextInt64(size));
            foreach (var (r, i) in ranges) values[i] = r!.Draw(rng);
            if (seen.Add(string.Join('\0', values))) drawn.Add(values);
            else if (++draws > limit)
                throw new ArgumentException($"--random {k}: {drawn.Count} distinct runs after {draws} repeated draws; the ranges ({string.Join(", ", ranges.Select(r => r.Range!.Text))}) hold too few distinct values for {k} runs.");
        }
        return drawn;
    }

    /// <summary>
    /// A run's folder name: the swept values as <c>name-value</c> joined by '_' (characters other than letters, digits,
    /// '.', '+', '-' replaced, at most 48 characters), then the first 8 hex digits of SHA-256 over every parameter
    /// (sorted by name), so the id changes when any value does; the hash does not depend on the order of the -p options
    /// or on which of them are swept, and a restart adopts a finished run's folder by it.
    /// </summary>
    public static string RunId(IReadOnlyList<KeyValuePair<string, string>> values, IReadOnlySet<string>? swept = null)
    {
        var canonical = string.Concat(values.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}\n"));
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..8];
        var readable = string.Join("_", values.Where(v => swept?.Contains(v.Key) ?? true).Select(v => $"{v.Key}-{v.Value}"));
        var slug = new StringBuilder();
        foreach (char c in readable)
        {
            char s = char.IsAsciiLetterOrDigit(c) || c is '.' or '+' or '-' or '_' ? c : '~';
            if (s == '~' && slug.Length > 0 && slug[^1] == '~') continue;
            slug.Append(s);
        }
        string head = System.Text.RegularExpressions.Regex.Replace(slug.ToString(), "~*_~*", "_").Trim('~').Replace('~', '-').Trim('-', '.');
        if (head.Length > 48) head = head[..48].TrimEnd('-', '.', '_');
        return head.Length == 0 ? hash : $"{head}-{hash}";
    }

    /// <summary>The hash part of a run id (its last 8 characters).</summary>
    public static string HashOf(string id) => id.Length <= 8 ? id : id[^8..];

    /// <summary>The sweep's definition, written to <c>sweep.json</c>: what <c>--collect</c> and a restart read back.</summary>
    public static JsonObject ToJson(string notebook, IReadOnlyList<SweepRun> runs, TimeSpan timeout) => new()
    {
        ["notebook"] = notebook,
        ["timeoutSeconds"] = timeout.TotalSeconds,
        ["runs"] = new JsonArray(runs.Select(r => (JsonNode)new JsonObject
        {
            ["index"] = r.Index,
            ["id"] = r.Id,
            ["parameters"] = new JsonObject(r.Parameters.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
        }).ToArray()),
    };

    /// <summary>Reads <c>sweep.json</c> back: the notebook, the per-run timeout and the runs.</summary>
    public static (string Notebook, TimeSpan Timeout, IReadOnlyList<SweepRun> Runs) FromJson(string path)
    {
        var json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path} is not a sweep definition.");
        var runs = json["runs"]!.AsArray().Select(r => new SweepRun((int)r!["index"]!, (string)r["id"]!,
            r["parameters"]!.AsObject().Select(p => KeyValuePair.Create(p.Key, (string)p.Value!)).ToList())).ToList();
        return ((string)json["notebook"]!, TimeSpan.FromSeconds((double)json["timeoutSeconds"]!), runs);
    }

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
