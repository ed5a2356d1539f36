namespace NoPrior.Runner;

/// <summary>
/// The part of Debian's MathJax 2.7 (package <c>libjs-mathjax</c>, installed by <c>./workbook setup</c>) that the
/// HTML pages use — the TeX input, SVG output with the TeX glyphs, the AMS extensions; about 2.5 MB — copied into
/// <c>mathjax/</c> beside the pages, so they typeset math from a file:// URL with no network and no dependence on
/// where the pages are opened. The source folder can be overridden with WORKBOOK_MATHJAX.
/// </summary>
public static class MathJaxAssets
{
    /// <summary>Debian's MathJax 2.7 (or WORKBOOK_MATHJAX).</summary>
    public static string SourceDirectory =>
        Environment.GetEnvironmentVariable("WORKBOOK_MATHJAX") is { Length: > 0 } d ? d : "/usr/share/javascript/mathjax";

    /// <summary>Files and folders under the MathJax root that the pages' configuration (TeX-AMS_SVG) loads.</summary>
    static readonly string[] Parts =
    [
        "MathJax.js", "config/TeX-AMS_SVG.js", "extensions", "jax/element", "jax/input/TeX", "jax/output/PreviewHTML",
        "jax/output/SVG/jax.js", "jax/output/SVG/config.js", "jax/output/SVG/autoload", "jax/output/SVG/fonts/TeX", "localization/en",
    ];

    static readonly object Gate = new();
    static bool _warned;

    /// <summary>
    /// Copies MathJax into <c>&lt;dir&gt;/mathjax</c> unless it is there already (same MathJax.js size). Without the
    /// Debian package it warns once on standard error and returns false: the pages then show the TeX source.
    /// </summary>
    public static bool EnsureCopied(string dir)
    {
        string src = SourceDirectory, dest = Path.Combine(dir, "mathjax");
        var main = new FileInfo(Path.Combine(src, "MathJax.js"));
        if (!main.Exists)
        {
            lock (Gate)
                if (!_warned)
                {
                    _warned = true;
                    Console.Error.WriteLine($"workbook: MathJax not found at {src} (install it: apt-get install libjs-mathjax, or ./workbook setup); " +
                                            "the HTML pages will show math as TeX source.");
                }
            return false;
        }
        var copied = new FileInfo(Path.Combine(dest, "MathJax.js"));
        if (copied.Exists && copied.Length == main.Length) return true;

        // Copy into a fresh folder and move it into place, so a concurrent run never sees half a copy.
        string staging = Path.Combine(dir, $".mathjax-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            foreach (var part in Parts)
            {
                string from = Path.Combine(src, part), to = Path.Combine(staging, part);
                if (File.Exists(from)) { Directory.CreateDirectory(Path.GetDirectoryName(to)!); File.Copy(from, to); }
                else if (Directory.Exists(from)) CopyTree(from, to);
                else throw new FileNotFoundException($"MathJax at {src} lacks {part}; is it MathJax 2.7 (Debian's libjs-mathjax)?", from);
            }
            if (Directory.Exists(dest)) Directory.Delete(dest, recursive: true);
            try { Directory.Move(staging, dest); }
            catch (IOException) when (File.Exists(Path.Combine(dest, "MathJax.js"))) { }  // another process was first
            return true;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
