using NoPrior.Notebooks;

namespace NoPrior.Notebooks.Tests;

/// <summary>The engine's semantics, in process. Sessions change process-wide state (console, current directory), so
/// tests that use them run one at a time (one collection).</summary>
[Collection(EngineCollection.Name)]
public sealed class EngineTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-engine-").FullName;
    readonly NotebookSession _session;

    public EngineTests() => _session = new NotebookSession(_dir);

    public void Dispose() { _session.Dispose(); Directory.Delete(_dir, recursive: true); }

    Task<CellResult> Run(string code) => _session.ExecuteCellAsync(code);

    static string Plain(CellOutput o) => o.Data!["text/plain"];

    [Fact]
    public async Task State_carries_over_between_cells_and_trailing_expression_is_the_result()
    {
        Assert.True((await Run("var x = 20;")).Success);
        var r = await Run("x + 22");
        Assert.True(r.Success);
        var result = Assert.Single(r.Outputs);
        Assert.Equal(OutputKind.ExecuteResult, result.Kind);
        Assert.Equal("42", Plain(result));
        Assert.Equal(2, r.CellNumber);
    }

    [Fact]
    public async Task Statements_and_void_calls_give_no_result()
    {
        Assert.Empty((await Run("var y = 1;")).Outputs);
        var r = await Run("Console.Write(\"\")");
        Assert.DoesNotContain(r.Outputs, o => o.Kind == OutputKind.ExecuteResult);
    }

    [Fact]
    public async Task Default_imports_match_the_dotnet_interactive_kernel()
    {
        var r = await Run("new List<int> { 3, 1, 2 }.OrderBy(v => v).Select(v => v.ToString()).Aggregate(new StringBuilder(), (sb, s) => sb.Append(s)).ToString() + Path.GetFileName(\"a/b.txt\")");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal("123b.txt", Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Top_level_await_works()
    {
        var r = await Run("await Task.Delay(10);\nawait Task.FromResult(7)");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal("7", Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Stdout_and_stderr_are_captured_per_cell()
    {
        var r = await Run("Console.WriteLine(\"out 1\"); Console.Error.WriteLine(\"err\"); Console.Write(\"out 2\");");
        Assert.Equal(["out 1\n", "err\n", "out 2"], r.Outputs.Select(o => o.Text!).ToArray());
        Assert.Equal([OutputKind.Stdout, OutputKind.Stderr, OutputKind.Stdout], r.Outputs.Select(o => o.Kind).ToArray());
        var next = await Run("1");
        Assert.DoesNotContain(next.Outputs, o => o.Kind == OutputKind.Stdout);
    }

    [Fact]
    public async Task Display_and_update_share_a_display_id()
    {
        var seen = new List<CellOutput>();
        _session.Output += seen.Add;
        var r = await Run("var h = display(\"first\");\nh.Update(\"second\");");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal([OutputKind.DisplayData, OutputKind.UpdateDisplayData], r.Outputs.Select(o => o.Kind).ToArray());
        Assert.Equal("first", Plain(r.Outputs[0]));
        Assert.Equal("second", Plain(r.Outputs[1]));
        Assert.NotNull(r.Outputs[0].DisplayId);
        Assert.Equal(r.Outputs[0].DisplayId, r.Outputs[1].DisplayId);
        Assert.Equal(r.Outputs, seen);
    }

    [Fact]
    public async Task Display_with_explicit_mime_type_renders_only_that_type()
    {
        var r = await Run("display(\"<b>hi</b>\", \"text/html\");");
        Assert.Equal(["text/html"], r.Outputs.Single().Data!.Keys.ToArray());
    }

    [Fact]
    public async Task Compile_error_names_the_cell_and_the_diagnostic_and_keeps_state()
    {
        await Run("var kept = 5;");
        var r = await Run("var z = undefinedName;");
        Assert.False(r.Success);
        Assert.Equal("CompilationError", r.Error!.ErrorName);
        Assert.StartsWith("cell [2]: compile error:\n(1,9): error CS0103", r.Error.ErrorValue);
        Assert.Contains("CS0103", r.Error.ErrorValue);
        Assert.Contains("undefinedName", r.Error.ErrorValue);
        Assert.Equal("5", Plain((await Run("kept")).Outputs.Single()));
    }

    [Fact]
    public async Task Runtime_exception_becomes_an_error_with_type_and_message()
    {
        var r = await Run("Console.WriteLine(\"before\");\nthrow new InvalidOperationException(\"boom\");");
        Assert.False(r.Success);
        Assert.Equal("before\n", r.Outputs[0].Text);
        Assert.Equal("InvalidOperationException", r.Error!.ErrorName);
        Assert.Equal("cell [1], line 2: boom", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Runtime_exception_names_the_line_within_the_cell_also_from_a_lambda()
    {
        var r = await Run("int F(int k) => k > 0 ? 1 : throw new ArgumentException(\"k\");\nvar a = 1;\n\nvar b = new[] { 1, 0 }.Select(F).ToList();");
        Assert.Equal("ArgumentException", r.Error!.ErrorName);
        Assert.StartsWith("cell [1], line 1: k", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Every_compile_error_is_listed_and_labelled()
    {
        var r = await Run("var a = missingOne;\nvar b = missingTwo;");
        Assert.Equal("CompilationError", r.Error!.ErrorName);
        Assert.StartsWith("cell [1]: 2 compile errors:\n", r.Error.ErrorValue);
        Assert.Contains("(1,9): error CS0103: The name 'missingOne'", r.Error.ErrorValue);
        Assert.Contains("(2,9): error CS0103: The name 'missingTwo'", r.Error.ErrorValue);
    }

    [Fact]
    public async Task A_libtorch_error_is_an_exception_with_libtorchs_message_without_cpp_frames_and_the_session_lives_on()
    {
        await Run("#r \"nuget: TorchSharp-cpu, 0.107.0\"\nusing static TorchSharp.torch;\nvar kept = 7;");
        var r = await Run("var a = zeros(3, 4);\nvar p = a.matmul(zeros(5, 6));");
        Assert.Equal("ExternalException", r.Error!.ErrorName);
        Assert.Equal("cell [2], line 2: mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)", r.Error.ErrorValue);
        Assert.DoesNotContain(r.Error.Traceback!, l => l.Contains("frame #") || l.Contains("Exception raised from"));
        Assert.Equal("8", Plain((await Run("kept + 1")).Outputs.Single()));
    }

    [Theory]
    [InlineData("#!fsharp\nlet x = 1", "#!fsharp")]
    [InlineData("#!pwsh\nls", "#!pwsh")]
    [InlineData("#!time\n1", "#!time")]
    [InlineData("%%bash\necho hi", "%%bash")]
    [InlineData("%time 1", "%time")]
    public async Task Other_magics_are_rejected_by_name(string code, string magic)
    {
        var r = await Run(code);
        Assert.False(r.Success);
        Assert.Equal("DirectiveError", r.Error!.ErrorName);
        Assert.Contains($"'{magic}'", r.Error.ErrorValue);
        Assert.Contains("line 1", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Csharp_magic_is_accepted_and_line_numbers_are_kept()
    {
        var ok = await Run("#!csharp\n1 + 1");
        Assert.Equal("2", Plain(ok.Outputs.Single()));
        var bad = await Run("#!csharp\n\nnope()");
        Assert.Contains("(3,1)", bad.Error!.ErrorValue);
    }

    [Fact]
    public async Task Nuget_reference_maps_to_the_host_package()
    {
        var r = await Run("#r \"nuget: Microsoft.Data.Analysis, 0.23.1\"\nusing Microsoft.Data.Analysis;\nnew DataFrame(new PrimitiveDataFrameColumn<int>(\"n\", new[] { 1, 2 })).Rows.Count");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal("2", Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Unknown_nuget_package_is_a_clear_error_naming_the_line()
    {
        var r = await Run("// packages\n#r \"nuget: Newtonsoft.Json, 13.0.3\"");
        Assert.Equal("DirectiveError", r.Error!.ErrorName);
        Assert.Contains("line 2", r.Error.ErrorValue);
        Assert.Contains("'Newtonsoft.Json' is not available", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Mismatched_nuget_version_is_a_clear_error_naming_the_right_version()
    {
        var r = await Run("#r \"nuget: TorchSharp-cpu, 0.105.0\"");
        Assert.Equal("DirectiveError", r.Error!.ErrorName);
        Assert.Contains("line 1", r.Error.ErrorValue);
        Assert.Contains("TorchSharp-cpu 0.107.0 only, not 0.105.0", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Missing_dll_is_a_clear_error_with_the_resolved_path()
    {
        var r = await Run("#r \"lib/NotThere.dll\"");
        Assert.Equal("DirectiveError", r.Error!.ErrorName);
        Assert.Contains(Path.Combine(_dir, "lib", "NotThere.dll"), r.Error.ErrorValue);
    }

    [Fact]
    public async Task Relative_dll_reference_resolves_from_the_notebook_folder()
    {
        // An assembly the host does not carry, compiled next to the "notebook".
        Directory.CreateDirectory(Path.Combine(_dir, "libs"));
        var probe = Path.Combine(_dir, "libs", "Probe.dll");
        var compilation = Microsoft.CodeAnalysis.CSharp.CSharpCompilation.Create("Probe",
            [Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText("namespace ProbeNs { public static class P { public static int Answer => 41 + 1; } }")],
            [Microsoft.CodeAnalysis.MetadataReference.CreateFromFile(typeof(object).Assembly.Location)],
            new(Microsoft.CodeAnalysis.OutputKind.DynamicallyLinkedLibrary));
        using (var file = File.Create(probe)) Assert.True(compilation.Emit(file).Success);
        var r = await Run("#r \"libs/Probe.dll\"\nProbeNs.P.Answer");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal("42", Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Dll_already_loaded_in_the_host_is_used_even_from_another_path()
    {
        var r = await Run("#r \"../somewhere/else/NoPrior.dll\"\ntypeof(NoPrior.Progress).Assembly.Location");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal(typeof(NoPrior.Progress).Assembly.Location, Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Load_runs_a_script_file_whose_usings_and_references_carry_over_to_later_cells()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllText(Path.Combine(_dir, "sub", "inner.csx"), "using System.Globalization;\nvar loadedValue = 40;");
        File.WriteAllText(Path.Combine(_dir, "setup.csx"), "// setup\n#r \"../x/NoPrior.dll\"\n#load \"sub/inner.csx\"\nusing NoPrior;\nusing static System.Math;");
        var load = await Run("#load \"setup.csx\"");
        Assert.True(load.Success, load.Error?.ErrorValue);
        Assert.Empty(load.Outputs);
        var r = await Run("Max(loadedValue, 2) + typeof(Progress).Name.Length - CultureInfo.InvariantCulture.Name.Length");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal("48", Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Load_then_code_in_the_same_cell_gives_the_cell_its_own_value_and_line_numbers()
    {
        File.WriteAllText(Path.Combine(_dir, "setup.csx"), "using static System.Math;");
        var r = await Run("#load \"setup.csx\"\nAbs(-3)");
        Assert.True(r.Success, r.Error?.ErrorValue);
        Assert.Equal("3", Plain(r.Outputs.Single()));
        var bad = await Run("#load \"setup.csx\"\nvar q = ;");
        Assert.Equal("CompilationError", bad.Error!.ErrorName);
        Assert.Contains("(2,9)", bad.Error.ErrorValue);
    }

    [Theory]
    [InlineData("#load \"missing.csx\"", "script not found at")]
    [InlineData("var a = 1;\n#load \"setup.csx\"", "must come before any code")]
    [InlineData("#load setup.csx", "malformed directive")]
    [InlineData("#load \"loop.csx\"", "loads itself")]
    public async Task Load_errors_name_the_line_and_the_problem(string cell, string expected)
    {
        File.WriteAllText(Path.Combine(_dir, "setup.csx"), "var s = 1;");
        File.WriteAllText(Path.Combine(_dir, "loop.csx"), "#load \"loop.csx\"");
        var r = await Run(cell);
        Assert.Equal("DirectiveError", r.Error!.ErrorName);
        Assert.Contains(expected, r.Error.ErrorValue);
    }

    [Fact]
    public async Task An_error_in_a_loaded_file_names_the_file()
    {
        File.WriteAllText(Path.Combine(_dir, "broken.csx"), "using Not.A.Namespace;");
        var r = await Run("#load \"broken.csx\"");
        Assert.Equal("CompilationError", r.Error!.ErrorName);
        Assert.Contains("broken.csx: (1,", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Current_directory_is_the_notebook_folder_during_a_cell()
    {
        var r = await Run("Directory.GetCurrentDirectory()");
        Assert.Equal(_dir, Plain(r.Outputs.Single()));
    }

    [Fact]
    public async Task Library_progress_is_a_display_updated_in_place()
    {
        var old = NoPrior.Progress.Interval;
        NoPrior.Progress.Interval = TimeSpan.Zero;
        try
        {
            var r = await Run("#r \"../x/NoPrior.dll\"\nusing (var p = NoPrior.Progress.Start(\"train\", 2)) { p.Report(1, \"a\"); p.Report(2, \"b\"); }");
            Assert.True(r.Success, r.Error?.ErrorValue);
            Assert.Equal(OutputKind.DisplayData, r.Outputs[0].Kind);
            Assert.All(r.Outputs.Skip(1), o => Assert.Equal((OutputKind.UpdateDisplayData, r.Outputs[0].DisplayId), (o.Kind, o.DisplayId)));
            Assert.StartsWith("train: 2/2 (", Plain(r.Outputs[^1]));
            Assert.Contains(") b [", Plain(r.Outputs[^1]));
            Assert.Contains("<progress", r.Outputs[^1].Data!["text/html"]);
        }
        finally { NoPrior.Progress.Interval = old; }
    }

    [Fact]
    public async Task Cancellation_stops_a_cell_with_an_error()
    {
        // Cancelled once the cell's code runs (a fixed delay could fire during compilation, which stops cleanly).
        using var cts = new CancellationTokenSource();
        _session.Output += o => { if (o.Text?.Contains("sleeping") == true) cts.Cancel(); };
        var r = await _session.ExecuteCellAsync("Console.WriteLine(\"sleeping\"); System.Threading.Thread.Sleep(4000);", cts.Token);
        Assert.False(r.Success);
        Assert.Equal("Interrupted", r.Error!.ErrorName);
        Assert.Contains("did not stop within 2 s and keeps running in the background", r.Error.ErrorValue);
    }

    [Fact]
    public async Task Cancellation_stops_a_library_training_loop_at_a_step_and_the_session_lives_on()
    {
        var setup = await Run($"#r \"nuget: TorchSharp-cpu, 0.107.0\"\n#r \"{typeof(NoPrior.Interrupt).Assembly.Location}\"\n"
            + "using NoPrior; using NoPrior.Data; using NoPrior.Networks; using NoPrior.Training;\n"
            + "var net = HomogeneousMlp.Create(new[] { 20, 50, 1 }, 0);\nvar data = Synthetic.Sphere(40, 20, 0);");
        Assert.True(setup.Success, setup.Error?.ErrorValue);
        // Measured from the interrupt, not from the cell's start: compiling the cell is not part of the claim, and on a
        // loaded 2-core machine it alone took over a second (a CI run measured 3.3 s from start to return).
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cancelledAt = TimeSpan.Zero;
        using var registration = cts.Token.Register(() => cancelledAt = clock.Elapsed);
        var r = await _session.ExecuteCellAsync("var run = GradientDescent.Train(net, data, new TrainingSettings(5_000_000, 0.1));", cts.Token);
        Assert.True(clock.Elapsed - cancelledAt < TimeSpan.FromSeconds(1), $"returned {clock.Elapsed - cancelledAt} after the interrupt");
        Assert.Equal("InterruptedException", r.Error!.ErrorName);
        Assert.Matches(@"^cell \[2\], line 1: training interrupted at step [1-9]\d*$", r.Error.ErrorValue);
        Assert.Equal("3", Plain((await Run("net.Widths.Length")).Outputs.Single()));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EngineCollection { public const string Name = "engine (process-wide console and current directory)"; }
