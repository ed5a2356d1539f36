using NoPrior.Runner;

namespace NoPrior.Notebooks.Tests;

/// <summary><c>workbook sweep</c>'s runs (<see cref="SweepPlan"/>), its options and its Slurm script, without running anything.</summary>
public sealed class SweepPlanTests
{
    static KeyValuePair<string, string> P(string name, string list) => new(name, list);

    [Theory]
    [InlineData("1,2,3", new[] { "1", "2", "3" })]
    [InlineData(" 0.1 , 1e-3", new[] { "0.1", "1e-3" })]
    [InlineData("new[] { 0.1, 1.0 },new[] { 10.0 }", new[] { "new[] { 0.1, 1.0 }", "new[] { 10.0 }" })]
    [InlineData("Math.Pow(2, 3),(1 << 4)", new[] { "Math.Pow(2, 3)", "(1 << 4)" })]
    [InlineData("\"a,b\",c", new[] { "\"a,b\"", "c" })]
    [InlineData("'x',\"say \\\"hi, you\\\"\"", new[] { "'x'", "\"say \\\"hi, you\\\"\"" })]
    [InlineData("hello\\, world,bye", new[] { "hello, world", "bye" })]
    [InlineData("single", new[] { "single" })]
    public void Value_lists_split_at_top_level_commas_only(string list, string[] values) =>
        Assert.Equal(values, SweepPlan.SplitValues("p", list));

    [Theory]
    [InlineData("1,,2", "-p p=1,,2: value 2 is empty")]
    [InlineData("1,2,", "value 3 is empty")]
    [InlineData("new[] { 1, 2", "'{' is not closed")]
    [InlineData("f(1)),2", "unbalanced ')' at position 5")]
    [InlineData("new[] { 1 ],2", "unbalanced ']'")]
    [InlineData("\"open,2", "the quote \" is not closed")]
    [InlineData("1,2,1", "the value '1' is listed twice")]
    public void A_malformed_list_is_rejected_naming_the_parameter_and_the_problem(string list, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => SweepPlan.SplitValues("p", list)).Message);

    [Fact]
    public void A_parameter_given_twice_is_rejected() =>
        Assert.Contains("-p x is given twice", Assert.Throws<ArgumentException>(() => SweepPlan.Axes([P("x", "1"), P("x", "2")])).Message);

    [Fact]
    public void The_grid_is_the_cartesian_product_last_axis_fastest_with_fixed_values_in_every_run()
    {
        var runs = SweepPlan.Expand(SweepPlan.Axes([P("lr", "0.1,0.5"), P("steps", "100"), P("seed", "0,1,2")]));
        Assert.Equal(6, runs.Count);
        Assert.Equal(Enumerable.Range(0, 6), runs.Select(r => r.Index));
        Assert.Equal(["0.1/0", "0.1/1", "0.1/2", "0.5/0", "0.5/1", "0.5/2"], runs.Select(r => $"{r["lr"]}/{r["seed"]}"));
        Assert.All(runs, r => Assert.Equal("100", r["steps"]));
        Assert.Equal(["lr", "steps", "seed"], runs[0].Parameters.Select(p => p.Key));
        Assert.Equal(6, runs.Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public void No_parameters_is_one_run()
    {
        var run = Assert.Single(SweepPlan.Expand([]));
        Assert.Empty(run.Parameters);
        Assert.Matches("^[0-9a-f]{8}$", run.Id);
    }

    [Fact]
    public void A_random_sample_is_distinct_points_of_the_grid_the_same_for_a_seed()
    {
        var axes = SweepPlan.Axes([P("a", "1,2,3,4,5,6,7,8,9,10"), P("b", "x,y,z"), P("c", "true,false")]);
        var first = SweepPlan.Expand(axes, random: 7, seed: 3);
        var again = SweepPlan.Expand(axes, random: 7, seed: 3);
        var other = SweepPlan.Expand(axes, random: 7, seed: 4);
        Assert.Equal(7, first.Count);
        Assert.Equal(first.Select(r => r.Id), again.Select(r => r.Id));
        Assert.NotEqual(first.Select(r => r.Id), other.Select(r => r.Id));
        Assert.Equal(7, first.Select(r => r.Id).Distinct().Count());
        var grid = SweepPlan.Expand(axes).Select(r => r.Id).ToHashSet();
        Assert.All(first, r => Assert.Contains(r.Id, grid));
        Assert.Equal(Enumerable.Range(0, 7), first.Select(r => r.Index));
    }

    [Fact]
    public void A_random_sample_at_least_as_large_as_the_grid_is_the_grid() =>
        Assert.Equal(SweepPlan.Expand(SweepPlan.Axes([P("a", "1,2"), P("b", "3,4")])).Select(r => r.Id),
            SweepPlan.Expand(SweepPlan.Axes([P("a", "1,2"), P("b", "3,4")]), random: 10, seed: 1).Select(r => r.Id));

    [Fact]
    public void A_huge_grid_must_be_sampled()
    {
        var axes = SweepPlan.Axes(Enumerable.Range(0, 6).Select(i => P($"p{i}", string.Join(',', Enumerable.Range(0, 10)))));
        Assert.Contains("sample it with --random K", Assert.Throws<ArgumentException>(() => SweepPlan.Expand(axes)).Message);
        Assert.Equal(5, SweepPlan.Expand(axes, random: 5).Count);
    }

    [Fact]
    public void Run_ids_are_readable_stable_and_change_with_any_value()
    {
        KeyValuePair<string, string>[] values = [new("radii", "new[] { 0.1, 1.0 }"), new("seed", "2"), new("steps", "500")];
        var swept = new HashSet<string> { "radii", "seed" };
        string id = SweepPlan.RunId(values, swept);
        Assert.Matches("^radii-new-0.1-1.0_seed-2-[0-9a-f]{8}$", id);
        // The hash does not depend on the order of the -p options (a restart adopts finished runs by their hash).
        Assert.Equal(SweepPlan.HashOf(id), SweepPlan.HashOf(SweepPlan.RunId(values.Reverse().ToArray(), swept)));
        Assert.NotEqual(id, SweepPlan.RunId([values[0], values[1], new("steps", "501")], swept)); // nor is a fixed value ignored
        Assert.Equal(SweepPlan.HashOf(id), SweepPlan.HashOf(SweepPlan.RunId(values, new HashSet<string> { "seed" })));
        Assert.True(SweepPlan.RunId([new("name", new string('x', 200))]).Length <= 48 + 9);
        Assert.DoesNotContain('/', SweepPlan.RunId([new("path", "a/b c\"d")]));
    }

    [Fact]
    public void The_definition_round_trips_through_sweep_json()
    {
        var runs = SweepPlan.Expand(SweepPlan.Axes([P("x", "1,\"a b\""), P("y", "new[] { 1, 2 }")]));
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, SweepPlan.ToJson("/nb/x.ipynb", runs, TimeSpan.FromSeconds(90)).ToJsonString());
            var (notebook, timeout, back) = SweepPlan.FromJson(path);
            Assert.Equal("/nb/x.ipynb", notebook);
            Assert.Equal(TimeSpan.FromSeconds(90), timeout);
            Assert.Equal(runs.Select(r => (r.Index, r.Id, string.Join("|", r.Parameters))), back.Select(r => (r.Index, r.Id, string.Join("|", r.Parameters))));
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData(new[] { "nb.ipynb", "--scheduler", "pbs" }, "--scheduler 'pbs' is not known; use local or slurm")]
    [InlineData(new[] { "nb.ipynb", "-j", "0" }, "-j expects an integer ≥ 1, got '0'")]
    [InlineData(new[] { "nb.ipynb", "--random", "x" }, "--random expects an integer ≥ 1, got 'x'")]
    [InlineData(new[] { "nb.ipynb", "--seed", "3" }, "--seed goes with --random K")]
    [InlineData(new[] { "-p", "x=1" }, "sweep needs a notebook")]
    [InlineData(new[] { "a.ipynb", "b.ipynb" }, "sweep takes one notebook, got 2")]
    [InlineData(new[] { "nb.ipynb", "--submit-only" }, "--submit-only and --script-only go with --scheduler slurm")]
    [InlineData(new[] { "nb.ipynb", "--collect", "dir" }, "--collect DIR summarises an existing sweep")]
    [InlineData(new[] { "nb.ipynb", "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "nb.ipynb", "-p", "novalue" }, "-p expects name=value, got 'novalue'")]
    public void Bad_options_are_rejected_naming_the_problem(string[] args, string message) =>
        Assert.Contains(message, Assert.Throws<ArgumentException>(() => SweepCommand.Options.Parse(args)).Message);

    [Fact]
    public async Task An_unknown_parameter_is_rejected_before_anything_runs_naming_it()
    {
        var o = SweepCommand.Options.Parse([Path.Combine(RunnerHarness.Fixtures, "sweep-tiny.ipynb"), "-p", "x=1,2", "-p", "nope=3", "--out", Path.Combine(Path.GetTempPath(), "never")]);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => SweepCommand.RunAsync(o));
        Assert.Contains("parameter 'nope' is not assigned in the parameters cell; it assigns: x, k", e.Message);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), "never")));
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_in_a_list_is_rejected_naming_it()
    {
        var o = SweepCommand.Options.Parse([Path.Combine(RunnerHarness.Fixtures, "sweep-tiny.ipynb"), "-p", "k=1,2.5", "--out", Path.Combine(Path.GetTempPath(), "never")]);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => SweepCommand.RunAsync(o));
        Assert.Contains("-p k=2.5: parameter 'k' is int", e.Message);
    }

    [Fact]
    public async Task Slurm_without_sbatch_on_the_path_is_an_error_that_says_how_to_get_it()
    {
        var dir = Directory.CreateTempSubdirectory("noprior-sweep-").FullName;
        var path = Environment.GetEnvironmentVariable("PATH");
        try
        {
            Environment.SetEnvironmentVariable("PATH", dir); // tests run one at a time (AssemblyInfo.cs)
            var o = SweepCommand.Options.Parse([Path.Combine(RunnerHarness.Fixtures, "sweep-tiny.ipynb"), "-p", "x=1,2", "--scheduler", "slurm", "--out", dir]);
            var e = await Assert.ThrowsAsync<SchedulerException>(() => SweepCommand.RunAsync(o));
            Assert.Contains("'sbatch' is not on PATH", e.Message);
            Assert.Contains("./workbook setup", e.Message);
            Assert.True(File.Exists(Path.Combine(dir, "sweep.sbatch"))); // written before submitting, for a look or a manual sbatch
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { 0, 1, 2, 3 }, 2, "0-3%2")]
    [InlineData(new[] { 5, 0, 1, 3 }, 1, "0-1,3,5%1")]
    [InlineData(new[] { 7 }, 4, "7%4")]
    [InlineData(new[] { 2, 3, 4 }, null, "2-4")]
    public void Array_specifications_compress_index_ranges(int[] indices, int? jobs, string spec) =>
        Assert.Equal(spec, SlurmSweep.ArraySpec(indices, jobs));

    [Theory]
    [InlineData("x=1", "x=1")]
    [InlineData("radii=new[] { 0.1, 1.0 }", "'radii=new[] { 0.1, 1.0 }'")]
    [InlineData("name=it's", "'name=it'\\''s'")]
    public void Shell_words_are_quoted_only_when_needed(string word, string quoted) =>
        Assert.Equal(quoted, SlurmSweep.ShellQuote(word));

    [Fact]
    public void The_slurm_script_runs_each_array_index_with_its_own_folder_and_values()
    {
        var runs = SweepPlan.Expand(SweepPlan.Axes([P("x", "1,2"), P("label", "\"a b\"")]));
        var script = SlurmSweep.Script("/s", "/nb/tiny.ipynb", runs, TimeSpan.FromSeconds(600), 2, ["/opt/workbook"]);
        Assert.StartsWith("#!/bin/bash\n", script);
        Assert.Contains("#SBATCH --output=/s/slurm/%A_%a.out", script);
        Assert.Contains("#SBATCH --time=15", script);
        Assert.Contains("sbatch --array=0-1%2 /s/sweep.sbatch", script);
        Assert.Contains($"  0) id={runs[0].Id}; params=(-p x=1 -p 'label=\"a b\"') ;;", script);
        Assert.Contains($"  1) id={runs[1].Id}; params=(-p x=2 -p 'label=\"a b\"') ;;", script);
        Assert.Contains("exec \"${workbook[@]}\" run \"$notebook\" --out \"$out\" --timeout 600 --status-file \"$out/status.json\" --no-type-check \"${params[@]}\"", script);
    }
}
