using NoPrior.TestSupport;
using System.Text.Json.Nodes;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NoPrior.Kernel.Tests;

/// <summary><c>jupyter nbconvert --to notebook --execute</c> with the .net-csharp kernel: the fixture and every notebook
/// of the workbook. The notebooks execute in the background, one per core (<see cref="NbconvertRuns"/>); each case
/// waits for its own.</summary>
public sealed class NbconvertTests(ITestOutputHelper output, NbconvertRuns runs) : IClassFixture<NbconvertRuns>
{
    /// <summary>Executes <paramref name="notebook"/> into <paramref name="outDir"/>, with the notebook's own output
    /// (results JSON, figures, saved tensors) under <paramref name="outDir"/> too (WORKBOOK_OUTPUT), never in the
    /// repository's out/ folder where a user's <c>./workbook run</c> writes.</summary>
    internal static ChildResult Execute(string notebook, string outDir, TimeSpan timeout, CancellationToken cancel = default,
        IReadOnlyDictionary<string, string>? environment = null) =>
        JupyterHarness.Run("jupyter", ["nbconvert", "--to", "notebook", "--execute", $"--ExecutePreprocessor.timeout={(int)timeout.TotalSeconds}",
            "--ExecutePreprocessor.kernel_name=.net-csharp", "--output-dir", outDir, notebook],
            Path.GetDirectoryName(notebook)!, timeout + TimeSpan.FromMinutes(1), cancel,
            environment: new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["WORKBOOK_OUTPUT"] = Path.Combine(outDir, "out") });

    static List<JsonObject> Outputs(JsonNode nb, int codeCell) =>
        nb["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ElementAt(codeCell)!["outputs"]!.AsArray().Select(o => o!.AsObject()).ToList();

    static string Text(JsonNode? node) => node is JsonArray a ? string.Concat(a.Select(x => x!.GetValue<string>())) : node?.GetValue<string>() ?? "";

    [Fact]
    public void Fixture_notebook_executes_with_streams_displays_results_and_a_chart()
    {
        JupyterHarness.RequireDebianTool("/usr/bin/jupyter-nbconvert", "jupyter-nbconvert");
        string outDir = JupyterHarness.OutputDirectory("nbconvert");
        var r = Execute(Path.Combine(JupyterHarness.FixtureDirectory, "kernel-fixture.ipynb"), outDir, TimeSpan.FromMinutes(2));
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);

        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "kernel-fixture.ipynb")))!;
        Assert.Equal(".net-csharp", nb["metadata"]!["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal("C#", nb["metadata"]!["language_info"]!["name"]!.GetValue<string>());
        Assert.Equal("n = 3\n", Text(Assert.Single(Outputs(nb, 1))["text"]));
        var third = Outputs(nb, 2);
        Assert.Equal(["display_data", "execute_result"], third.Select(o => o["output_type"]!.GetValue<string>()));
        Assert.Equal("shown", Text(third[0]["data"]!["text/plain"]));
        Assert.Equal("6", Text(third[1]["data"]!["text/plain"]));
        Assert.Equal(3, third[1]["execution_count"]!.GetValue<int>());
        string chart = Text(Assert.Single(Outputs(nb, 3))["data"]!["text/html"]);
        Assert.Contains("plotly.js v2", chart);  // offline: plotly.js inline, never fetched
        Assert.Contains("newPlot", chart);
    }

    /// <summary>The workbook's notebooks, as theory rows.</summary>
    public static IEnumerable<object[]> Notebooks() => NbconvertRuns.Names.Select(f => new object[] { f });

    [NotebookTheory]
    [MemberData(nameof(Notebooks))]
    public async Task Workbook_notebook_executes_in_jupyter(string notebook)
    {
        var (r, outDir) = await runs.Executions.Get(notebook);
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, notebook)))!;
        var codeCells = nb["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.All(codeCells, c => Assert.DoesNotContain(c!["outputs"]!.AsArray(), o => o!["output_type"]!.GetValue<string>() == "error"));
    }
}

/// <summary>Every workbook notebook through <c>jupyter nbconvert --execute</c>, each into its own folder under the test
/// output (kept for inspection), started in the background as <see cref="NbconvertTests"/> asks for them.</summary>
public sealed class NbconvertRuns : IDisposable
{
    /// <summary>The committed notebooks' file names, in order.</summary>
    public static IReadOnlyList<string> Names => WorkbookNotebooks.Names;

    internal BackgroundExecutions<(ChildResult Result, string OutDir)> Executions { get; } = new(WorkbookNotebooks.LongestFirst(Names), (notebook, cancel) =>
    {
        JupyterHarness.RequireDebianTool("/usr/bin/jupyter-nbconvert", "jupyter-nbconvert");
        string outDir = JupyterHarness.OutputDirectory("nbconvert-" + Path.GetFileNameWithoutExtension(notebook));
        return (NbconvertTests.Execute(Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks", notebook), outDir, TimeSpan.FromMinutes(20), cancel,
            BackgroundExecutions<(ChildResult, string)>.SideBySideEnvironment(Slots)), outDir);
    }, Slots);

    static int Slots => BackgroundExecutions<(ChildResult, string)>.DefaultSlots;

    public void Dispose() => Executions.Dispose();
}

/// <summary>A theory that yields no case when its data is empty (xunit 2 would report "No data found"): the workbook
/// may have no notebooks yet, and a placeholder case would be a test that asserts nothing.</summary>
[XunitTestCaseDiscoverer("NoPrior.Kernel.Tests.NotebookTheoryDiscoverer", "NoPrior.Kernel.Tests")]
public sealed class NotebookTheoryAttribute : TheoryAttribute;

/// <summary>Discovers <see cref="NotebookTheoryAttribute"/> cases: none without notebooks, else as a theory.</summary>
public sealed class NotebookTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        NbconvertRuns.Names.Count > 0 ? base.Discover(discoveryOptions, testMethod, theoryAttribute) : [];
}
