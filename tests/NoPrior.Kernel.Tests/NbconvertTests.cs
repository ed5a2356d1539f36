using System.Text.Json.Nodes;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NoPrior.Kernel.Tests;

/// <summary><c>jupyter nbconvert --to notebook --execute</c> with the .net-csharp kernel: the fixture and every notebook of the workbook.</summary>
public sealed class NbconvertTests(ITestOutputHelper output)
{
    static ChildResult Execute(string notebook, string outDir, TimeSpan timeout) =>
        JupyterHarness.Run("jupyter", ["nbconvert", "--to", "notebook", "--execute", $"--ExecutePreprocessor.timeout={(int)timeout.TotalSeconds}",
            "--ExecutePreprocessor.kernel_name=.net-csharp", "--output-dir", outDir, notebook],
            Path.GetDirectoryName(notebook)!, timeout + TimeSpan.FromMinutes(1));

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
    public static IEnumerable<object[]> Notebooks()
    {
        var dir = Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks");
        return Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal).Select(f => new object[] { f! })
            : [];
    }

    [NotebookTheory]
    [MemberData(nameof(Notebooks))]
    public void Workbook_notebook_executes_in_jupyter(string notebook)
    {
        JupyterHarness.RequireDebianTool("/usr/bin/jupyter-nbconvert", "jupyter-nbconvert");
        string outDir = JupyterHarness.OutputDirectory("nbconvert-" + Path.GetFileNameWithoutExtension(notebook));
        var r = Execute(Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks", notebook), outDir, TimeSpan.FromMinutes(20));
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        var nb = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, notebook)))!;
        var codeCells = nb["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.All(codeCells, c => Assert.DoesNotContain(c!["outputs"]!.AsArray(), o => o!["output_type"]!.GetValue<string>() == "error"));
    }
}

/// <summary>A theory that yields no case when its data is empty (xunit 2 would report "No data found"): the workbook
/// may have no notebooks yet, and a placeholder case would be a test that asserts nothing.</summary>
[XunitTestCaseDiscoverer("NoPrior.Kernel.Tests.NotebookTheoryDiscoverer", "NoPrior.Kernel.Tests")]
public sealed class NotebookTheoryAttribute : TheoryAttribute;

/// <summary>Discovers <see cref="NotebookTheoryAttribute"/> cases: none without notebooks, else as a theory.</summary>
public sealed class NotebookTheoryDiscoverer(IMessageSink diagnosticMessageSink) : TheoryDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        NbconvertTests.Notebooks().Any() ? base.Discover(discoveryOptions, testMethod, theoryAttribute) : [];
}
