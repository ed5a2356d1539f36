namespace NoPrior.Runner;

/// <summary>Which notebooks a command works on and where <c>run</c> writes their executed copies: shared by the
/// commands (<c>check</c>, <c>run</c> and its child process), which depend on this and not on each other.</summary>
static class NotebookFiles
{
    /// <summary>Notebook files named by paths (files, or folders searched for *.ipynb), in a stable order.</summary>
    public static IReadOnlyList<string> Find(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) paths = [Path.Combine(Workbook.RepositoryRoot, "notebooks")];
        var found = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
                found.AddRange(Directory.EnumerateFiles(p, "*.ipynb").Where(f => !f.Contains(".ipynb_checkpoints")).Order(StringComparer.Ordinal));
            else if (File.Exists(p)) found.Add(p);
            else throw new FileNotFoundException($"no notebook or folder at '{p}'.");
        }
        return found.Select(Path.GetFullPath).Distinct().ToList();
    }

    /// <summary>Where the executed copy and the HTML of a notebook go; refuses to overwrite the source.</summary>
    public static (string Ipynb, string Html) OutputPaths(string outDir, string source)
    {
        string name = Path.GetFileNameWithoutExtension(source);
        string ipynb = Path.Combine(outDir, "notebooks", name + ".ipynb"), html = Path.Combine(outDir, "html", name + ".html");
        if (string.Equals(Path.GetFullPath(ipynb), Path.GetFullPath(source), StringComparison.Ordinal))
            throw new ArgumentException($"--out '{outDir}' would overwrite the source notebook '{source}'; choose another output folder.");
        return (ipynb, html);
    }
}
