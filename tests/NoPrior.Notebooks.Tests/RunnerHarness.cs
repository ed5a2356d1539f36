using System.Diagnostics;
using System.Text.Json.Nodes;

namespace NoPrior.Notebooks.Tests;

/// <summary>Runs the built <c>workbook</c> runner (same configuration as these tests) in a child process.</summary>
static class RunnerHarness
{
    /// <summary>The runner's assembly, next to this test assembly in the artifacts tree (…/NoPrior.Runner/&lt;config&gt;/workbook.dll).</summary>
    public static string RunnerDll
    {
        get
        {
            var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var path = Path.Combine(here.Parent!.Parent!.FullName, "NoPrior.Runner", here.Name, "workbook.dll");
            Assert.True(File.Exists(path), $"runner not built at {path}");
            return path;
        }
    }

    public static string Fixtures => Path.Combine(NoPrior.Workbook.RepositoryRoot, "tests", "NoPrior.Notebooks.Tests", "Fixtures");

    public sealed record Run(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + "\n" + Stderr;
    }

    public static Run Workbook(params string[] args) => Workbook(null, args);

    /// <summary>The runner with extra environment variables (e.g. SLURM_CONF).</summary>
    public static Run Workbook(IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        Workbook(environment, TimeSpan.FromMinutes(10), CancellationToken.None, args);

    /// <summary>The runner with a time limit, killed (with its notebook processes) when <paramref name="cancel"/> fires.</summary>
    public static Run Workbook(IReadOnlyDictionary<string, string>? environment, TimeSpan limit, CancellationToken cancel, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.ArgumentList.Add(RunnerDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        bool exited;
        try { exited = p.WaitForExitAsync(cancel).Wait(limit); }
        catch (AggregateException e) when (e.InnerException is OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new OperationCanceledException($"workbook {string.Join(' ', args)} was cancelled", cancel);
        }
        if (!exited) { p.Kill(true); Assert.Fail($"workbook {string.Join(' ', args)} did not finish in {limit.TotalMinutes:F0} minutes"); }
        p.WaitForExit();
        return new Run(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Validates an .ipynb with nbformat when Debian's python3-nbformat is importable; otherwise checks the structure
    /// this runner relies on (nbformat 4.5, a unique id on every cell, outputs of known types).
    /// </summary>
    public static void AssertValidNotebook(string path)
    {
        if (NbformatAvailable.Value)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import sys, nbformat; nb = nbformat.read(sys.argv[1], as_version=nbformat.NO_CONVERT); nbformat.validate(nb)");
            psi.ArgumentList.Add(path);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"nbformat rejected {path}: {err}");
            return;
        }
        var nb = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(4, (int)nb["nbformat"]!);
        Assert.Equal(5, (int)nb["nbformat_minor"]!);
        var ids = nb["cells"]!.AsArray().Select(c => (string)c!["id"]!).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var cell in nb["cells"]!.AsArray())
            if ((string)cell!["cell_type"]! == "code")
                foreach (var o in cell["outputs"]!.AsArray())
                    Assert.Contains((string)o!["output_type"]!, new[] { "stream", "display_data", "execute_result", "error" });
    }

    static readonly Lazy<bool> NbformatAvailable = new(() =>
    {
        if (!File.Exists("/usr/bin/python3")) return false;
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import nbformat"]) { UseShellExecute = false, RedirectStandardError = true })!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    });
}
