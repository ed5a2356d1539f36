using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace NoPrior.Kernel.Tests;

/// <summary>Jupyter's kernel conformance suite (jupyter_kernel_test) against the real kernel process, as Jupyter starts it.</summary>
public sealed class KernelConformanceTests(ITestOutputHelper output)
{
    [Fact]
    public void Jupyter_kernel_test_suite_passes()
    {
        JupyterHarness.RequirePythonModule("jupyter_kernel_test", "python3-jupyter-kernel-test");
        var r = JupyterHarness.Run("/usr/bin/python3", ["-m", "unittest", "-v", "test_kernel_conformance"],
            JupyterHarness.FixtureDirectory, TimeSpan.FromMinutes(4));
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        // unittest reports on stderr: "Ran N tests in …" then "OK" or "OK (skipped=K)".
        var ran = Regex.Match(r.Stderr, @"Ran (\d+) tests? in");
        Assert.True(ran.Success, r.All);
        Assert.Matches(@"(?m)^OK( \(skipped=\d+\))?$", r.Stderr);
        int skipped = Regex.Match(r.Stderr, @"skipped=(\d+)") is { Success: true } s ? int.Parse(s.Groups[1].Value) : 0;
        // Five of the suite's tests exercise features this kernel does not offer (pager, history, clear_output) and skip.
        Assert.True(int.Parse(ran.Groups[1].Value) - skipped >= 7, $"too few conformance tests ran:\n{r.All}");
    }
}
