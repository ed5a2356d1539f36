using NoPrior.Runner;

namespace NoPrior.Notebooks.Tests;

/// <summary>The thin-notebook rules of <c>workbook check</c> (<see cref="Checker.ThinCellProblems"/>), each with a cell
/// that passes and one that is refused, and the committed notebooks against all rules.</summary>
public sealed class CheckerTests
{
    static IReadOnlyList<string> Problems(string code, bool isParameters = false) => Checker.ThinCellProblems(code, isParameters, "cell 3").ToList();

    [Theory]
    [InlineData("double RelDev(double a, double b) => a - b;", "declares the method 'RelDev'")]
    [InlineData("var x = 1;\nint Twice(int v) { return 2 * v; }\nTwice(x)", "declares the method 'Twice'")]
    [InlineData("if (true) { int Local(int v) => v; Console.WriteLine(Local(1)); }", "declares the local function 'Local'")]
    [InlineData("record Row(int A, double B);", "declares the record 'Row'")]
    [InlineData("class Helper { }", "declares the class 'Helper'")]
    [InlineData("struct Pair { public int I; }", "declares the struct 'Pair'")]
    [InlineData("enum Kind { A, B }", "declares the enum 'Kind'")]
    public void Declarations_in_a_cell_are_refused(string code, string expected)
    {
        var problem = Assert.Single(Problems(code));
        Assert.Contains("cell 3 " + expected, problem);
        Assert.Contains("lib/", problem);
    }

    [Fact]
    public void A_markdown_cell_with_a_lost_latex_backslash_is_refused()
    {
        Assert.Empty(Checker.MarkdownProblems("$\\max_{\\text{runs}} \\theta \\to 0$\nnext line", "cell 2"));
        var problem = Assert.Single(Checker.MarkdownProblems("$\\max_{\text{runs}}$", "cell 2"));
        Assert.Contains("cell 2 (markdown) holds the control character U+0009 before 'ext'", problem);
    }

    [Fact]
    public void Lambdas_anonymous_objects_and_calls_are_not_declarations() =>
        Assert.Empty(Problems("var rows = new[] { 1, 2 }.Select(i => new { i, sq = i * i }).ToArray();\nFunc<int, int> f = v => v + 1;\nrows.Length + f(1)"));

    [Fact]
    public void A_cell_of_fifteen_lines_passes_and_sixteen_are_refused()
    {
        string Lines(int n) => string.Join("\n", Enumerable.Range(0, n).Select(i => $"var v{i} = {i};")) + "\n\n";
        Assert.Empty(Problems(Lines(Checker.MaxCodeLines)));
        var problem = Assert.Single(Problems(Lines(Checker.MaxCodeLines + 1)));
        Assert.Contains("cell 3 has 16 lines (at most 15)", problem);
    }

    [Fact]
    public void A_parameters_cell_of_literal_assignments_passes()
    {
        const string cell = "var n = 20;            // points (paper: 500)\nvar lr = 0.5; var seed = 0;\nvar initScale = -1e-3;\n" +
                            "var radii = new[] { 0.1, 1.0, 10.0 };\nvar seeds = new long[] { 1, 2 };\nvar name = \"MNIST\";\nbool usePrior = true;\nvar attackSeed = 1L;";
        Assert.Empty(Problems(cell, isParameters: true));
    }

    [Theory]
    [InlineData("var n = 20;\nvar m = 2 * n;", "var m = 2 * n;")]
    [InlineData("var steps = Math.Max(1, 10);", "var steps = Math.Max(1, 10);")]
    [InlineData("var grid = new[] { 10, 2 * 10 };", "var grid = new[] { 10, 2 * 10 };")]
    [InlineData("var n = 20;\nConsole.WriteLine(n);", "Console.WriteLine(n);")]
    [InlineData("int n;", "int n;")]
    public void A_parameters_cell_with_a_derived_value_or_a_statement_is_refused(string cell, string offending)
    {
        var problem = Assert.Single(Problems(cell, isParameters: true));
        Assert.Contains($"cell 3 (parameters) holds '{offending}'", problem);
        Assert.Contains("derived values go to the next cell", problem);
        Assert.DoesNotContain(Problems(cell, isParameters: false), p => p.Contains("parameters"));
    }

    [Fact]
    public void Next_to_a_setup_file_the_first_code_cell_is_the_setup_line_and_no_other_cell_has_r()
    {
        var dir = Directory.CreateTempSubdirectory("noprior-check-").FullName;
        try
        {
            string Notebook(string name, params string[] code)
            {
                var cells = string.Join(",", code.Select((c, i) =>
                    $"{{\"cell_type\":\"markdown\",\"metadata\":{{}},\"source\":[\"text\"]}}," +
                    $"{{\"cell_type\":\"code\",\"execution_count\":null,\"metadata\":{{{(i == 1 ? "\"tags\":[\"parameters\"]" : "")}}},\"outputs\":[],\"source\":{System.Text.Json.JsonSerializer.Serialize(c)}}}"));
                var path = Path.Combine(dir, name);
                File.WriteAllText(path, $"{{\"cells\":[{cells}],\"metadata\":{{\"kernelspec\":{{\"name\":\".net-csharp\",\"language\":\"C#\"}},\"language_info\":{{\"name\":\"C#\"}}}},\"nbformat\":4,\"nbformat_minor\":5}}");
                return path;
            }
            var good = Notebook("good.ipynb", Checker.SetupLine, "var n = 1;", "n + 1");
            var oldStyle = Notebook("old.ipynb", "#r \"nuget: TorchSharp-cpu, 0.107.0\"\nusing TorchSharp;", "var n = 1;", "#r \"x.dll\"\nn");
            Assert.Empty(Checker.Check(good));
            Assert.Empty(Checker.Check(oldStyle));      // no setup.csx in the folder: the rule does not apply
            File.WriteAllText(Path.Combine(dir, Checker.SetupFile), "using System;");
            Assert.Empty(Checker.Check(good));
            var problems = Checker.Check(oldStyle);
            Assert.Contains(problems, p => p.Contains("cell 2 is the first code cell and must be exactly #load \"setup.csx\""));
            Assert.Contains(problems, p => p.Contains("cell 6 references an assembly with #r"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Committed_notebooks_pass_every_rule()
    {
        var dir = Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks");
        var problems = Directory.EnumerateFiles(dir, "*.ipynb").Order(StringComparer.Ordinal)
            .SelectMany(nb => Checker.Check(nb).Select(p => $"{Path.GetFileName(nb)}: {p}")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
