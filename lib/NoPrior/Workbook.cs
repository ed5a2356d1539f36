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

    /// <summary>Sub-folder <paramref name="name"/> of <see cref="OutputDirectory"/>, created if missing.</summary>
    public static string OutputSubdirectory(string name) => Directory.CreateDirectory(Path.Combine(OutputDirectory, name)).FullName;
}
