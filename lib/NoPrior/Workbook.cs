using NoPrior.IO;
using NoPrior.Networks;

namespace NoPrior;

/// <summary>Folders the workbook reads from and writes to.</summary>
public static class Workbook
{
    /// <summary>Where executed notebooks write results (JSON, safetensors, figures): the environment variable
    /// WORKBOOK_OUTPUT (set by the runner), else <c>out/</c> at the repository root.</summary>
    public static string OutputDirectory =>
        Environment.GetEnvironmentVariable("WORKBOOK_OUTPUT") is { Length: > 0 } d ? Path.GetFullPath(d) : Path.Combine(RepositoryRoot, "out");

    /// <summary>The repository root: the nearest folder above the current directory (or this assembly) holding Workbook.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            foreach (var start in new[] { CurrentDirectoryOrNull(), AppContext.BaseDirectory })
            {
                if (start is null) continue;
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                    if (File.Exists(Path.Combine(dir.FullName, "Workbook.sln"))) return dir.FullName;
            }
            throw new DirectoryNotFoundException($"Cannot find the workbook's root (a folder with Workbook.sln) above '{CurrentDirectoryOrNull() ?? AppContext.BaseDirectory}'.");
        }
    }

    // The current directory can have been deleted (a test's temporary folder); then only the assembly's folder is searched.
    static string? CurrentDirectoryOrNull()
    {
        try { return Directory.GetCurrentDirectory(); }
        catch (IOException) { return null; }
    }

    /// <summary>The committed data folder, <c>data/</c> at the repository root.</summary>
    public static string DataDirectory => Path.Combine(RepositoryRoot, "data");

    /// <summary>
    /// Writes a notebook's key figures (settings, seed, counts, distances, losses) as indented JSON to
    /// <c>&lt;output&gt;/results/&lt;notebook&gt;.json</c>, so they can be re-checked with other tools. Returns the path.
    /// </summary>
    public static string SaveResults(string notebook, object results)
    {
        if (string.IsNullOrWhiteSpace(notebook) || notebook.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            throw new ArgumentException($"'{notebook}' is not a valid notebook name for a results file.", nameof(notebook));
        var path = Path.Combine(OutputSubdirectory("results"), notebook + ".json");
        var options = new System.Text.Json.JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(results, options));
        return path;
    }

    /// <summary>
    /// Saves everything a notebook hands on for re-checking, in one call: its key figures as
    /// <c>&lt;output&gt;/results/&lt;notebook&gt;.json</c> (<see cref="SaveResults"/>) and each named network and set as
    /// <c>&lt;output&gt;/results/&lt;notebook&gt;/&lt;name&gt;.safetensors</c> (<see cref="Safetensors.SaveNetwork"/>,
    /// <see cref="Safetensors.SaveSet"/>: PyTorch's layout, readable with <c>safetensors.torch.load_file</c>).
    /// Returns the written files relative to <see cref="OutputDirectory"/>, results first, then networks and sets in
    /// the order given.
    /// </summary>
    /// <param name="notebook">The notebook's name, e.g. <c>"03-merge-lemma"</c>.</param>
    /// <param name="results">Any object serialisable to JSON (an anonymous object of settings and figures).</param>
    /// <param name="networks">Named networks, e.g. <c>new[] { ("mnist-rescaled", net) }</c>; a null network is an error.</param>
    /// <param name="sets">Named labelled sets (with multipliers when they have them).</param>
    /// <exception cref="ArgumentException">An invalid or repeated file name, or a null network or set (the message names it).</exception>
    public static IReadOnlyList<string> SaveArtifacts(string notebook, object results,
        IEnumerable<(string Name, HomogeneousMlp Network)>? networks = null, IEnumerable<(string Name, LabelledSet Set)>? sets = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var nets = (networks ?? []).ToList();
        var sts = (sets ?? []).ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in nets.Select(n => (n.Name, (object?)n.Network)).Concat(sts.Select(s => (s.Name, (object?)s.Set))))
        {
            if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw new ArgumentException($"'{name}' is not a valid artifact name (it becomes a file name).", nameof(networks));
            if (!names.Add(name)) throw new ArgumentException($"the artifact name '{name}' is used twice; each network and set needs its own.", nameof(networks));
            if (value is null) throw new ArgumentException($"the artifact '{name}' is null.", nameof(networks));
        }
        var written = new List<string> { SaveResults(notebook, results) };
        if (nets.Count + sts.Count > 0)
        {
            var dir = OutputSubdirectory(Path.Combine("results", notebook));
            foreach (var (name, net) in nets) written.Add(Save(Path.Combine(dir, name + ".safetensors"), p => Safetensors.SaveNetwork(p, net)));
            foreach (var (name, set) in sts) written.Add(Save(Path.Combine(dir, name + ".safetensors"), p => Safetensors.SaveSet(p, set)));
        }
        return written.Select(p => Path.GetRelativePath(OutputDirectory, p)).ToList();

        static string Save(string path, Action<string> save) { save(path); return path; }
    }

    /// <summary>Sub-folder <paramref name="name"/> of <see cref="OutputDirectory"/>, created if missing.</summary>
    public static string OutputSubdirectory(string name) => Directory.CreateDirectory(Path.Combine(OutputDirectory, name)).FullName;
}
