using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;

namespace NoPrior.Notebooks;

/// <summary>
/// Handles the directives of a C# notebook cell before Roslyn sees it: <c>#!csharp</c> is accepted, any other magic
/// (<c>#!fsharp</c>, <c>#!time</c>, <c>%%bash</c>, …) is rejected, <c>#r</c> lines are turned into metadata
/// references, and <c>#load "file.csx"</c> lines (C# scripting's own directive) name script files that run, as
/// submissions of their own, before the cell — so a notebook's setup is one line, <c>#load "setup.csx"</c>, and the
/// usings and references of the file carry over to every later cell. Handled lines are blanked, not removed, so
/// compiler line numbers still match the cell.
/// </summary>
public static partial class CellPreprocessor
{
    /// <summary>The result: code for Roslyn and the references the cell asked for.</summary>
    /// <param name="Code">The cell with directive lines blanked.</param>
    /// <param name="References">Assemblies to add (host assemblies for nuget packages, files for paths), including those of loaded files.</param>
    /// <param name="Loaded">The <c>#load</c>ed files, in order (nested loads first), each already processed: run each
    /// as its own submission before <paramref name="Code"/>.</param>
    public sealed record Result(string Code, IReadOnlyList<MetadataReference> References, IReadOnlyList<LoadedScript> Loaded);

    /// <summary>A script file named by <c>#load</c>, with its directives handled.</summary>
    /// <param name="Path">The file's full path.</param>
    /// <param name="Code">Its code with directive lines blanked.</param>
    public sealed record LoadedScript(string Path, string Code);

    /// <summary>A directive that cannot be honoured; the message names the line and the directive.</summary>
    public sealed class DirectiveException(string message) : Exception(message);

    /// <summary>Processes one cell. Relative <c>#r</c> paths resolve against <paramref name="notebookDirectory"/>.</summary>
    /// <exception cref="DirectiveException">An unknown magic, an unknown or mismatched package, or a missing file.</exception>
    public static Result Process(string code, string notebookDirectory) => Process(code, notebookDirectory, []);

    static Result Process(string code, string directory, IReadOnlyList<string> loading)
    {
        var lines = code.Replace("\r\n", "\n").Split('\n');
        var refs = new List<MetadataReference>();
        var loaded = new List<LoadedScript>();
        bool codeSeen = false;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            string where = loading.Count == 0 ? $"line {i + 1}" : $"{Path.GetFileName(loading[^1])} line {i + 1}";
            if (LoadDirective().Match(line) is { Success: true } lm)
            {
                // As in C# scripting, #load comes before any code: the loaded file runs first.
                if (codeSeen) throw new DirectiveException($"{where}: '{line}' must come before any code in the cell (a loaded file runs before the cell).");
                string file = Path.GetFullPath(Path.IsPathRooted(lm.Groups[1].Value) ? lm.Groups[1].Value : Path.Combine(directory, lm.Groups[1].Value));
                if (!File.Exists(file))
                    throw new DirectiveException($"{where}: '{line}': script not found at '{file}' (relative paths resolve against the folder of the notebook or of the loading file, '{directory}').");
                if (loading.Contains(file)) throw new DirectiveException($"{where}: '{line}': '{file}' loads itself (through {string.Join(" → ", loading.Select(Path.GetFileName))}).");
                var inner = Process(File.ReadAllText(file), Path.GetDirectoryName(file)!, [.. loading, file]);
                refs.AddRange(inner.References);
                loaded.AddRange(inner.Loaded);
                loaded.Add(new LoadedScript(file, inner.Code));
                lines[i] = "";
                continue;
            }
            if (line.StartsWith("#load", StringComparison.Ordinal) && (line.Length == 5 || char.IsWhiteSpace(line[5])))
                throw new DirectiveException($"{where}: malformed directive '{line}': expected #load \"path/to/file.csx\".");
            if (line.Length > 0 && !line.StartsWith("#", StringComparison.Ordinal) && !line.StartsWith("//", StringComparison.Ordinal)) codeSeen = true;
            if (line.StartsWith("#!", StringComparison.Ordinal))
            {
                string magic = line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
                if (magic is "#!csharp" or "#!c#" or "#!C#") { lines[i] = ""; continue; }
                throw new DirectiveException($"{where}: the magic command '{magic}' is not supported: this workbook runs C# cells only (the only magic accepted is #!csharp).");
            }
            if (IpythonMagic().Match(line) is { Success: true } pm)
                throw new DirectiveException($"{where}: the magic command '{pm.Value}' is not supported: this workbook runs C# cells only (the only magic accepted is #!csharp).");
            if (ReferenceDirective().Match(line) is { Success: true } rm)
            {
                string target = rm.Groups[1].Value;
                if (target.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
                    refs.AddRange(ResolvePackage(target, where, line));
                else
                    refs.Add(ResolveFile(target, directory, where, line));
                lines[i] = "";
            }
            else if (line.StartsWith("#r", StringComparison.Ordinal) && (line.Length == 2 || char.IsWhiteSpace(line[2])))
                throw new DirectiveException($"{where}: malformed reference '{line}': expected #r \"nuget: Name, Version\" or #r \"path/to/assembly.dll\".");
        }
        return new Result(string.Join("\n", lines), refs, loaded);
    }

    static IEnumerable<MetadataReference> ResolvePackage(string target, string where, string line)
    {
        var parts = target["nuget:".Length..].Split(',', StringSplitOptions.TrimEntries);
        string name = parts[0];
        string? version = parts.Length > 1 && parts[1].Length > 0 ? parts[1] : null;
        if (name.Length == 0 || parts.Length > 2)
            throw new DirectiveException($"{where}: malformed package reference '{line}': expected #r \"nuget: Name, Version\".");
        if (!HostPackages.Known.TryGetValue(name, out var package))
            throw new DirectiveException(
                $"{where}: '{line}': package '{name}' is not available. Nothing is downloaded at run time; the packages this workbook provides are: " +
                string.Join(", ", HostPackages.Known.Values.Select(p => $"{p.Name} {p.Version}")) + ".");
        if (version is not null && version != package.Version)
            throw new DirectiveException($"{where}: '{line}': this workbook provides {package.Name} {package.Version} only, not {version}; change the line to #r \"nuget: {package.Name}, {package.Version}\".");
        return package.Assemblies.Select(a => (MetadataReference)MetadataReference.CreateFromFile(a.Location));
    }

    static MetadataReference ResolveFile(string target, string notebookDirectory, string where, string line)
    {
        string path = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(notebookDirectory, target));
        // An assembly the host already carries (e.g. NoPrior.dll) must be the host's copy: the runtime binds the
        // script to the host's loaded assembly anyway, and compiling against another build of it could disagree.
        if (HostAssemblyPath(Path.GetFileName(path)) is { } hostPath) return MetadataReference.CreateFromFile(hostPath);
        if (!File.Exists(path))
            throw new DirectiveException($"{where}: '{line}': assembly not found at '{path}' (relative paths resolve against the notebook's folder, '{notebookDirectory}').");
        return MetadataReference.CreateFromFile(path);
    }

    /// <summary>The path of an assembly with this file name that the host loaded or lists among its dependencies, if any.</summary>
    internal static string? HostAssemblyPath(string fileName)
    {
        string simple = Path.GetFileNameWithoutExtension(fileName);
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
            if (!a.IsDynamic && a.Location.Length > 0 && string.Equals(a.GetName().Name, simple, StringComparison.OrdinalIgnoreCase))
                return a.Location;
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string tpa)
            foreach (var p in tpa.Split(Path.PathSeparator))
                if (string.Equals(Path.GetFileName(p), fileName, StringComparison.OrdinalIgnoreCase)) return p;
        return null;
    }

    [GeneratedRegex("^#r\\s+\"([^\"]*)\"\\s*(//.*)?$")]
    private static partial Regex ReferenceDirective();

    [GeneratedRegex("^#load\\s+\"([^\"]*)\"\\s*(//.*)?$")]
    private static partial Regex LoadDirective();

    [GeneratedRegex("^%%?[A-Za-z_][A-Za-z0-9_]*")]
    private static partial Regex IpythonMagic();
}
