using Xunit.Abstractions;
using Xunit.Sdk;

namespace NoPrior.Notebooks.Tests;

/// <summary>Every committed notebook under <c>notebooks/</c> runs to the end through the runner (one case each).</summary>
public sealed class NotebookRunTests
{
    /// <summary>The notebooks, as theory rows (file names relative to notebooks/).</summary>
    public static IEnumerable<object[]> Notebooks()
    {
        var dir = Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks");
        return Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal).Select(f => new object[] { f! })
            : [];
    }

    [Fact]
    public void The_notebooks_folder_exists() =>
        Assert.True(Directory.Exists(Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks")), "notebooks/ is missing at the repository root");

    [NotebookTheory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_runs_to_the_end(string notebook)
    {
        var outDir = Directory.CreateTempSubdirectory("noprior-nb-").FullName;
        try
        {
            var run = RunnerHarness.Workbook("run", Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks", notebook), "--out", outDir);
            Assert.True(run.ExitCode == 0, run.All);
            RunnerHarness.AssertValidNotebook(Path.Combine(outDir, "notebooks", notebook));
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }
}

/// <summary>A theory that yields no test at all when its data is empty (xunit 2 would report "No data found"): the
/// workbook may have no notebooks yet, and a placeholder case would be a test that asserts nothing.</summary>
[XunitTestCaseDiscoverer("NoPrior.Notebooks.Tests.NotebookTheoryDiscoverer", "NoPrior.Notebooks.Tests")]
public sealed class NotebookTheoryAttribute : TheoryAttribute;

/// <summary>Discovers <see cref="NotebookTheoryAttribute"/> cases: none without notebooks, else as a theory.</summary>
public sealed class NotebookTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        NotebookRunTests.Notebooks().Any() ? base.Discover(discoveryOptions, testMethod, theoryAttribute) : [];
}
