using NoPrior.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NoPrior.Notebooks.Tests;

/// <summary>Every committed notebook under <c>notebooks/</c> runs to the end through the runner (one case each). The
/// notebooks execute in the background, one per core (<see cref="NotebookRuns"/>); each case waits for its own.</summary>
public sealed class NotebookRunTests(NotebookRuns runs) : IClassFixture<NotebookRuns>
{
    /// <summary>The notebooks, as theory rows (file names relative to notebooks/).</summary>
    public static IEnumerable<object[]> Notebooks() => NotebookRuns.Names.Select(f => new object[] { f });

    [Fact]
    public void The_notebooks_folder_exists() =>
        Assert.True(Directory.Exists(Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks")), "notebooks/ is missing at the repository root");

    [NotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task Notebook_runs_to_the_end(string notebook)
    {
        var (run, outDir) = await runs.Executions.Get(notebook);
        try
        {
            Assert.True(run.ExitCode == 0, run.All);
            RunnerHarness.AssertValidNotebook(Path.Combine(outDir, "notebooks", notebook));
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }
}

/// <summary>Runs of every notebook through <c>workbook run</c>, each into its own temporary output folder, started in
/// the background as <see cref="NotebookRunTests"/> asks for them.</summary>
public sealed class NotebookRuns : IDisposable
{
    /// <summary>The committed notebooks' file names, in order.</summary>
    public static IReadOnlyList<string> Names => WorkbookNotebooks.Names;

    internal BackgroundExecutions<(RunnerHarness.Run Run, string OutDir)> Executions { get; } = new(WorkbookNotebooks.LongestFirst(Names), (notebook, cancel) =>
    {
        var outDir = Directory.CreateTempSubdirectory("noprior-nb-").FullName;
        try
        {
            return (RunnerHarness.Workbook(BackgroundExecutions<(RunnerHarness.Run, string)>.SideBySideEnvironment(Slots), TimeSpan.FromMinutes(20), cancel,
                "run", Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks", notebook), "--out", outDir), outDir);
        }
        catch
        {
            Directory.Delete(outDir, recursive: true);
            throw;
        }
    }, Slots);

    static int Slots => BackgroundExecutions<(RunnerHarness.Run, string)>.DefaultSlots;

    public void Dispose()
    {
        Executions.Dispose();
        // Runs a filtered test session never asked for: their folders, which no case deleted.
        foreach (var name in Names)
            if (Executions.Peek(name) is { IsCompletedSuccessfully: true } t && Directory.Exists(t.Result.OutDir))
                Directory.Delete(t.Result.OutDir, recursive: true);
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
        NotebookRuns.Names.Count > 0 ? base.Discover(discoveryOptions, testMethod, theoryAttribute) : [];
}
