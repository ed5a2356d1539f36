using NoPrior.Runner;
using System.Text.Json.Nodes;

namespace NoPrior.Notebooks.Tests;

/// <summary>The runner end to end: each test starts <c>workbook</c> in a child process on a fixture notebook.</summary>
public sealed class RunnerTests : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("noprior-runner-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    static string Fixture(string name) => Path.Combine(RunnerHarness.Fixtures, name);

    static JsonObject Load(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    static IEnumerable<JsonNode> CodeCells(JsonObject nb) => nb["cells"]!.AsArray().Where(c => (string)c!["cell_type"]! == "code")!;

    [Fact]
    public void Sample_runs_and_writes_a_valid_notebook_an_offline_page_and_figures()
    {
        var before = File.ReadAllText(Fixture("sample.ipynb"));
        var run = RunnerHarness.Workbook("run", Fixture("sample.ipynb"), "--out", _out);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("sample", run.Stdout);
        Assert.Matches(@"sample\s+8/8\s+[\d.]+\s+ok", run.Stdout);

        var ipynb = Path.Combine(_out, "notebooks", "sample.ipynb");
        RunnerHarness.AssertValidNotebook(ipynb);
        var nb = Load(ipynb);
        Assert.All(CodeCells(nb), c => Assert.NotNull(c["execution_count"]));
        Assert.Equal(before, File.ReadAllText(Fixture("sample.ipynb"))); // the source is never written

        var html = File.ReadAllText(Path.Combine(_out, "html", "sample.html"));
        Assert.Equal(1, Count(html, "plotly.js v2")); // two charts, plotly.js inlined once
        Assert.Equal(2, Count(html, "<div id=\"noprior-plot-")); // deterministic ids, one per chart
        Assert.DoesNotMatch("<script[^>]*src=\"(?!mathjax/MathJax.js)", html); // nothing is fetched: only the local MathJax copy
        Assert.True(File.Exists(Path.Combine(_out, "html", "mathjax", "MathJax.js")));
        Assert.Contains("<table class=\"noprior-dataframe\">", html);
        Assert.Contains("… 5 more rows", html);
        Assert.Contains("data:image/png;base64,", html);
        Assert.True(File.Exists(Path.Combine(_out, "figures", "sample-grid.png")));
        Assert.True(File.Exists(Path.Combine(_out, "figures", "sample-grid.html")));
    }

    static int Count(string s, string what) { int n = 0; for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + 1, StringComparison.Ordinal)) n++; return n; }

    [Fact]
    public void Parameters_are_injected_after_the_parameters_cell_and_tagged()
    {
        var run = RunnerHarness.Workbook("run", Fixture("params.ipynb"), "--out", _out, "-p", "steps=500", "-p", "lr=0.25", "-p", "name=hello world", "-p", "flag=true");
        Assert.True(run.ExitCode == 0, run.All);
        var ipynb = Path.Combine(_out, "notebooks", "params.ipynb");
        RunnerHarness.AssertValidNotebook(ipynb);
        var cells = Load(ipynb)["cells"]!.AsArray();
        int p = cells.ToList().FindIndex(c => c!["metadata"]?["tags"]?.AsArray().Any(t => (string?)t == "parameters") == true);
        var injected = cells[p + 1]!;
        Assert.Equal("injected-parameters", (string?)injected["metadata"]!["tags"]![0]);
        var source = string.Concat(injected["source"]!.AsArray().Select(l => (string?)l));
        Assert.Contains("steps = 500;", source);
        Assert.Contains("name = \"hello world\";", source);
        var result = CodeCells(Load(ipynb)).Last()["outputs"]![0]!;
        Assert.Equal("500|0.25|hello world|True", (string?)result["data"]!["text/plain"]);
    }

    [Fact]
    public void Parameter_values_that_are_csharp_expressions_are_injected_as_expressions()
    {
        var run = RunnerHarness.Workbook("run", Fixture("params-expr.ipynb"), "--out", _out,
            "-p", "radii=new[] { 0.0, 0.5, 1 }", "-p", "steps=7", "-p", "label=hello world");
        Assert.True(run.ExitCode == 0, run.All);
        var result = CodeCells(Load(Path.Combine(_out, "notebooks", "params-expr.ipynb"))).Last()["outputs"]![0]!;
        Assert.Equal("0,0.5,1|7|hello world|Double[]", (string?)result["data"]!["text/plain"]);
    }

    [Theory]
    [InlineData("steps=1.5", "parameter 'steps' is int in the parameters cell, and 1.5 is not of type int")]
    [InlineData("radii=3", "parameter 'radii' is double[] in the parameters cell, and 3 is not of type double[]")]
    [InlineData("radii=new[] { \"a\" }", "parameter 'radii' is double[]")]
    public void A_value_of_the_wrong_type_is_rejected_before_the_notebook_starts_naming_the_parameter(string p, string message)
    {
        var run = RunnerHarness.Workbook("run", Fixture("params-expr.ipynb"), "--out", _out, "-p", p);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"workbook: params-expr: -p {p}: {message}", run.Stderr);
        Assert.DoesNotContain("starting", run.Stdout);
        Assert.False(Directory.Exists(Path.Combine(_out, "notebooks")), "nothing may run");
    }

    [Theory]
    [InlineData("help")]
    [InlineData("run", "--help")]
    public void Help_prints_the_usage_and_succeeds(params string[] args)
    {
        var run = RunnerHarness.Workbook(args);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.StartsWith("usage:", run.Stdout.TrimStart());
        Assert.Contains("-p name=value", run.Stdout);
        Assert.Equal("", run.Stderr.Trim());
    }

    [Fact]
    public void A_parameter_not_in_the_parameters_cell_is_a_clear_error()
    {
        var run = RunnerHarness.Workbook("run", Fixture("params.ipynb"), "--out", _out, "-p", "epochs=3");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("parameter 'epochs' is not assigned in the parameters cell", run.All);
        Assert.Contains("steps, lr, name, flag", run.All);
    }

    [Fact]
    public void A_failing_notebook_exits_non_zero_naming_notebook_cell_and_error()
    {
        var run = RunnerHarness.Workbook("run", Fixture("failing.ipynb"), "--out", _out);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("FAILED", run.Stderr);
        Assert.Contains("failing.ipynb", run.Stderr);
        Assert.Contains("failing.ipynb: InvalidOperationException in cell [2], line 2: deliberate failure", run.Stderr);
        Assert.Matches(@"failing\s+1/3\s+[\d.]+\s+error in cell \[2\]", run.Stdout);
        var ipynb = Path.Combine(_out, "notebooks", "failing.ipynb");
        RunnerHarness.AssertValidNotebook(ipynb);
        var code = CodeCells(Load(ipynb)).ToList();
        Assert.Equal("error", (string?)code[1]["outputs"]!.AsArray().Last()!["output_type"]);
        Assert.Empty(code[2]["outputs"]!.AsArray()); // execution stopped at the first error
        Assert.Contains("deliberate failure", File.ReadAllText(Path.Combine(_out, "html", "failing.html")));
    }

    [Fact]
    public void A_libtorch_error_is_reported_with_libtorchs_message_not_as_a_crash()
    {
        var run = RunnerHarness.Workbook("run", Fixture("torch-error.ipynb"), "--out", _out);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("ExternalException in cell [2], line 2: mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)", run.Stderr);
        Assert.DoesNotContain("exited with code", run.All);
        Assert.DoesNotContain("frame #", run.All);
        Assert.Matches(@"torch-error\s+1/3\s+[\d.]+\s+error in cell \[2\]", run.Stdout);
        var ipynb = Path.Combine(_out, "notebooks", "torch-error.ipynb");
        RunnerHarness.AssertValidNotebook(ipynb);
        var error = CodeCells(Load(ipynb)).ElementAt(1)["outputs"]!.AsArray().Last()!;
        Assert.Equal("ExternalException", (string?)error["ename"]);
    }

    [Fact]
    public void A_notebook_over_its_timeout_is_stopped_and_reported()
    {
        var run = RunnerHarness.Workbook("run", Fixture("slow.ipynb"), "--out", _out, "--timeout", "4");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("timed out", run.All);
        Assert.Contains("slow.ipynb", run.Stderr);
        var nb = Load(Path.Combine(_out, "notebooks", "slow.ipynb"));
        // On a loaded machine the timeout can fire while the first cell is still compiling, so accept the Timeout
        // error on whichever cell was running.
        Assert.Contains(CodeCells(nb), c => c["outputs"]!.AsArray().Any(o => (string?)o!["ename"] == "Timeout"));
    }

    [Fact]
    public void The_output_folder_may_never_overwrite_the_source()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_out, "notebooks")).FullName;
        var copy = Path.Combine(dir, "params.ipynb");
        File.Copy(Fixture("params.ipynb"), copy);
        var before = File.ReadAllText(copy);
        var run = RunnerHarness.Workbook("run", copy, "--out", _out);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("would overwrite the source notebook", run.Stderr);
        Assert.Equal(before, File.ReadAllText(copy));
    }

    [Fact]
    public void Check_accepts_clean_fixtures()
    {
        var run = RunnerHarness.Workbook("check", Fixture("sample.ipynb"), Fixture("params.ipynb"));
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("all clean", run.Stdout);
    }

    [Fact]
    public void Check_flags_outputs_wrong_metadata_missing_parameters_and_markdown()
    {
        var path = Path.Combine(_out, "unclean.ipynb");
        File.Copy(Fixture("unclean.ipynb.json"), path);
        var run = RunnerHarness.Workbook("check", path);
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("cell 1 has 1 output(s)", run.Stderr);
        Assert.Contains("cell 1 has an execution_count", run.Stderr);
        Assert.Contains("metadata.kernelspec.name is \"python3\"; expected \".net-csharp\"", run.Stderr);
        Assert.Contains("metadata.language_info.name is \"python\"; expected \"C#\"", run.Stderr);
        Assert.Contains("cell 1 is a code cell not preceded by a markdown cell", run.Stderr);
        Assert.Contains("no code cell is tagged 'parameters'", run.Stderr);
    }

    [Fact]
    public void Two_at_a_time_every_notebook_runs_a_failure_stops_none_and_the_table_keeps_their_order()
    {
        var src = Directory.CreateDirectory(Path.Combine(_out, "src")).FullName;
        foreach (var f in new[] { "failing.ipynb", "params.ipynb", "sample.ipynb", "wait-policy.ipynb" }) File.Copy(Fixture(f), Path.Combine(src, f));
        var outDir = Path.Combine(_out, "o");
        var noPolicy = new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "" };
        var run = RunnerHarness.Workbook(noPolicy, "run", src, "--out", outDir, "-j", "2");
        Assert.Equal(1, run.ExitCode);
        Assert.Matches(@"failing\s+1/3\s+[\d.]+\s+error in cell \[2\]\s+params\s+2/2\s+[\d.]+\s+ok\s+sample\s+8/8\s+[\d.]+\s+ok\s+wait-policy\s+2/2\s+[\d.]+\s+ok", run.Stdout);
        // Side by side, what a notebook prints to the terminal (progress, errors) is named.
        Assert.Contains("    failing| InvalidOperationException: cell [2], line 2: deliberate failure", run.All);
        Assert.Contains("    sample|     demo: 3/3 (100 %)", run.All);
        foreach (var f in new[] { "failing", "params", "sample", "wait-policy" }) RunnerHarness.AssertValidNotebook(Path.Combine(outDir, "notebooks", f + ".ipynb"));
        Assert.Equal("policy: OMP_WAIT_POLICY=PASSIVE\n", Printed(outDir));  // idle OpenMP threads sleep, not spin

        // One at a time the policy is left alone; a policy the user set is kept side by side too.
        run = RunnerHarness.Workbook(noPolicy, "run", Fixture("wait-policy.ipynb"), "--out", outDir);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal("policy: OMP_WAIT_POLICY=unset\n", Printed(outDir));
        var pair = Directory.CreateDirectory(Path.Combine(_out, "pair")).FullName;
        foreach (var f in new[] { "params.ipynb", "wait-policy.ipynb" }) File.Copy(Fixture(f), Path.Combine(pair, f));
        run = RunnerHarness.Workbook(new Dictionary<string, string> { ["OMP_WAIT_POLICY"] = "ACTIVE" }, "run", pair, "--out", outDir, "-j", "2");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal("policy: OMP_WAIT_POLICY=ACTIVE\n", Printed(outDir));

        static string Printed(string dir) =>
            (string)CodeCells(Load(Path.Combine(dir, "notebooks", "wait-policy.ipynb"))).Last()["outputs"]!.AsArray().Single()!["text"]!;
    }

    [Fact]
    public void Side_by_side_the_longest_notebook_of_the_last_run_starts_first()
    {
        var src = Directory.CreateDirectory(Path.Combine(_out, "src")).FullName;
        foreach (var f in new[] { "params.ipynb", "params-expr.ipynb", "sample.ipynb" }) File.Copy(Fixture(f), Path.Combine(src, f));
        var outDir = Path.Combine(_out, "o");
        var times = Path.Combine(outDir, RunTimes.FileName);

        // No times yet: file order, and the finished notebooks' times are kept.
        var run = RunnerHarness.Workbook("run", src, "--out", outDir, "-j", "2");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.DoesNotContain("start order", run.Stdout);
        Assert.True(Before(run.Stdout, "params-expr: starting", "sample: starting"), run.Stdout);
        var kept = JsonNode.Parse(File.ReadAllText(times))!.AsObject();
        Assert.Equal(new[] { "params", "params-expr", "sample" }, kept.Select(t => t.Key).ToArray());
        Assert.All(kept, t => Assert.True((double)t.Value! > 0));

        // File order is params-expr, params, sample. With times that make the last one long and the first short, the last
        // starts before the first, which file order would not do.
        File.WriteAllText(times, """{ "params": 100, "params-expr": 1, "sample": 50, "other -p seed=1": 7 }""");
        run = RunnerHarness.Workbook("run", src, "--out", outDir, "-j", "2");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("params (100 s), sample (50 s), params-expr (1 s)", run.Stdout);
        Assert.True(Before(run.Stdout, "sample: starting", "params-expr: starting"), run.Stdout);
        Assert.Matches(@"params-expr\s+2/2\s+[\d.]+\s+ok\s+params\s+2/2\s+[\d.]+\s+ok\s+sample\s+8/8", run.Stdout);  // the table keeps file order
        kept = JsonNode.Parse(File.ReadAllText(times))!.AsObject();
        Assert.Equal(7.0, (double)kept["other -p seed=1"]!);  // another run's entry stays
        Assert.True((double)kept["params"]! < 100, "the new time replaces the old");

        // A file that is not a times object is named and ignored: file order again.
        File.WriteAllText(times, "[1, 2]");
        run = RunnerHarness.Workbook("run", src, "--out", outDir, "-j", "2");
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains($"ignoring {times}", run.Stderr);
        Assert.True(Before(run.Stdout, "params-expr: starting", "sample: starting"), run.Stdout);

        static bool Before(string text, string first, string second) =>
            text.IndexOf(first, StringComparison.Ordinal) is var i and >= 0 && i < text.IndexOf(second, StringComparison.Ordinal);
    }

    [Fact]
    public void Calibrate_measures_each_choice_once_and_later_calls_read_the_cache()
    {
        var cache = new Dictionary<string, string> { ["NOPRIOR_MATMUL_CACHE"] = Path.Combine(_out, "matmul-backend.json"), ["NOPRIOR_MATMUL"] = "" };
        var first = RunnerHarness.Workbook(cache, "calibrate");
        Assert.True(first.ExitCode == 0, first.All);
        var lines = first.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // float64 and float32, large and small products, at one thread and at libtorch's count (one line each when that count is 1).
        Assert.Contains(lines.Length, new[] { 4, 8 });
        Assert.Contains(lines, l => l.StartsWith("matrix products at 1 thread, float64: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("matrix products at 1 thread, float32: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("matrix products at 1 thread, float64 small products: ", StringComparison.Ordinal));
        bool measures = !first.Stdout.Contains("no kernel", StringComparison.OrdinalIgnoreCase) && File.Exists(Path.Combine(_out, "matmul-backend.json"));
        var second = RunnerHarness.Workbook(cache, "calibrate");
        Assert.True(second.ExitCode == 0, second.All);
        if (measures)
        {
            Assert.All(lines, l => Assert.Contains("measured now", l));
            Assert.All(second.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Contains("cached in", l));
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("two")]
    public void A_job_count_that_is_not_a_positive_whole_number_is_named(string j)
    {
        var run = RunnerHarness.Workbook("run", Fixture("params.ipynb"), "--out", _out, "-j", j);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"-j expects a whole number of notebooks at once (1 or more), got '{j}'", run.Stderr);
    }

    [Fact]
    public void Unknown_command_and_option_are_usage_errors()
    {
        var a = RunnerHarness.Workbook("frobnicate");
        Assert.Equal(2, a.ExitCode);
        Assert.Contains("unknown command 'frobnicate'", a.Stderr);
        var b = RunnerHarness.Workbook("run", "--bogus");
        Assert.Equal(2, b.ExitCode);
        Assert.Contains("unknown option '--bogus'", b.Stderr);
    }
}
