using System.Diagnostics;
using System.Text;

namespace NoPrior.Kernel.Tests;

/// <summary>The result of a child process.</summary>
sealed record ChildResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public string All => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs Jupyter's own tools against this kernel in child processes, in the project-local Jupyter environment of
/// build/jupyter.sh, with the kernel build that matches this test run (Debug or Release) and a hard time limit.
/// </summary>
static class JupyterHarness
{
    public static string Root => NoPrior.Workbook.RepositoryRoot;
    public static string FixtureDirectory => Path.Combine(Root, "tests", "NoPrior.Kernel.Tests", "jupyter");

    /// <summary>The kernel built in this test run's configuration (artifacts/bin/NoPrior.Kernel/&lt;config&gt;/).</summary>
    public static string KernelDll
    {
        get
        {
            string config = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
            string dll = Path.Combine(Root, "artifacts", "bin", "NoPrior.Kernel", config, "NoPrior.Kernel.dll");
            Assert.True(File.Exists(dll), $"the kernel is not built at {dll}");
            return dll;
        }
    }

    /// <summary>Fails with the install command when a Debian package the test needs is missing.</summary>
    public static void RequireDebianTool(string path, string package) =>
        Assert.True(File.Exists(path), $"{path} is missing: install it with 'apt-get install -y {package}' (./workbook setup does).");

    public static void RequirePythonModule(string module, string package)
    {
        RequireDebianTool("/usr/bin/python3", "python3");
        var r = Run("/usr/bin/python3", ["-c", $"import {module}"], Root, TimeSpan.FromSeconds(60), withJupyterEnv: false);
        Assert.True(r.ExitCode == 0, $"Python module {module} is missing from /usr/bin/python3: install it with 'apt-get install -y {package}' (./workbook setup does).\n{r.Stderr}");
    }

    /// <summary>Starts a command inside build/jupyter.sh's environment (or plainly); the caller must kill it.</summary>
    public static Process Start(string file, IEnumerable<string> args, string workingDirectory, bool withJupyterEnv = true, StringBuilder? stdout = null, StringBuilder? stderr = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(withJupyterEnv ? Path.Combine(Root, "build", "jupyter.sh") : file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,  // closed at once: nothing may wait for a terminal
            UseShellExecute = false,
        };
        if (withJupyterEnv) psi.ArgumentList.Add(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NOPRIOR_KERNEL_DLL"] = KernelDll;
        // Debian's Python modules live under /usr/bin/python3; a pyenv/venv python first on PATH must not shadow them.
        psi.Environment["PATH"] = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi };
        var (o, e) = (stdout ?? new StringBuilder(), stderr ?? new StringBuilder());
        p.OutputDataReceived += (_, d) => { if (d.Data is not null) lock (o) o.AppendLine(d.Data); };
        p.ErrorDataReceived += (_, d) => { if (d.Data is not null) lock (e) e.AppendLine(d.Data); };
        p.Start();
        p.StandardInput.Close();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs a command to completion, killing its whole process tree (kernels included) at the time limit.</summary>
    public static ChildResult Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, bool withJupyterEnv = true) =>
        Run(file, args, workingDirectory, timeout, CancellationToken.None, withJupyterEnv);

    /// <summary>As above, and killed as well when <paramref name="cancel"/> fires (then throws <see cref="OperationCanceledException"/>).</summary>
    public static ChildResult Run(string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, CancellationToken cancel,
        bool withJupyterEnv = true, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (o, e) = (new StringBuilder(), new StringBuilder());
        var clock = Stopwatch.StartNew();
        using var p = Start(file, args, workingDirectory, withJupyterEnv, o, e, environment);
        bool exited;
        try { exited = p.WaitForExitAsync(cancel).Wait(timeout); }
        catch (AggregateException x) when (x.InnerException is OperationCanceledException)
        {
            Kill(p);
            throw new OperationCanceledException($"{file} was cancelled", cancel);
        }
        if (!exited)
        {
            Kill(p);
            lock (e) e.AppendLine($"[harness] killed after the time limit of {timeout.TotalSeconds:F0} s");
            return new ChildResult(-1, o.ToString(), e.ToString(), clock.Elapsed);
        }
        p.WaitForExit();  // drains the asynchronous readers
        return new ChildResult(p.ExitCode, o.ToString(), e.ToString(), clock.Elapsed);
    }

    public static void Kill(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(10_000); }
        catch (InvalidOperationException) { }  // already gone
    }

    /// <summary>A fresh folder under the test output folder (kept for inspection, replaced on the next run).</summary>
    public static string OutputDirectory(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "TestResults", name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
