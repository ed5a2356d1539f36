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
            foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                    if (File.Exists(Path.Combine(dir.FullName, "Workbook.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"Cannot find the workbook's root (a folder with Workbook.sln) above '{Directory.GetCurrentDirectory()}'.");
        }
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

    /// <summary>Sub-folder <paramref name="name"/> of <see cref="OutputDirectory"/>, created if missing.</summary>
    public static string OutputSubdirectory(string name) => Directory.CreateDirectory(Path.Combine(OutputDirectory, name)).FullName;
}
