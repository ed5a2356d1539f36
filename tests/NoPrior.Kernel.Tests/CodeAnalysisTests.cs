namespace NoPrior.Kernel.Tests;

public class CodeAnalysisTests
{
    [Theory]
    [InlineData("var x = 1;", "complete")]
    [InlineData("x + 1", "complete")]
    [InlineData("", "complete")]
    [InlineData("if (true) {", "incomplete")]
    [InlineData("var s = \"abc", "incomplete")]
    [InlineData("var x = ;", "invalid")]
    public void Is_complete_distinguishes_complete_incomplete_and_invalid_cells(string code, string expected) =>
        Assert.Equal(expected, CSharpCodeAnalysis.IsComplete(code));

    static CSharpCodeAnalysis NewAnalysis() =>
        new(["System", "System.Linq"], globalsType: null, CSharpCodeAnalysis.LoadedAssemblyReferences);

    [Fact]
    public void Completes_names_declared_in_earlier_cells()
    {
        var a = NewAnalysis();
        a.RecordExecuted("var alpha = 1;\nvar alphabet = \"abc\";");
        var r = a.Complete("var y = alp", 11);
        Assert.Equal(["alpha", "alphabet"], r.Matches);
        Assert.Equal((8, 11), (r.CursorStart, r.CursorEnd));
    }

    [Fact]
    public void Completes_members_after_a_dot_for_variables_and_types()
    {
        var a = NewAnalysis();
        a.RecordExecuted("var word = \"abc\";");
        Assert.Contains("Length", a.Complete("word.Le", 7).Matches);
        var math = a.Complete("Math.Sq", 7);
        Assert.Equal(["Sqrt"], math.Matches);
        Assert.Equal(5, math.CursorStart);
    }

    [Fact]
    public void Completes_keywords_once_a_prefix_is_typed()
    {
        Assert.Contains("foreach", NewAnalysis().Complete("forea", 5).Matches);
    }

    [Fact]
    public void Inspect_shows_every_overload_of_the_method_being_called_with_its_summary()
    {
        var a = NewAnalysis();
        string code = "var r = Math.Round(";
        var text = a.Inspect(code, code.Length);
        Assert.NotNull(text);
        Assert.Contains("Math.Round(double)", text);
        Assert.Contains("Math.Round(decimal, int)", text);
    }

    [Fact]
    public void Inspect_shows_the_type_of_a_variable_from_an_earlier_cell_and_nothing_on_blank_space()
    {
        var a = NewAnalysis();
        a.RecordExecuted("var weights = new double[] { 1, 2 };");
        Assert.Equal("double[] weights", a.Inspect("weights.Length", 3));
        Assert.Null(a.Inspect("   ", 1));
    }

    [Fact]
    public void Inspect_includes_the_xml_summary_of_a_library_method()
    {
        var a = NewAnalysis();
        _ = typeof(NoPrior.Interrupt);   // loaded, so its assembly is among the references
        string code = "NoPrior.Interrupt.ThrowIfRequested(";
        var text = a.Inspect(code, code.Length);
        Assert.NotNull(text);
        Assert.Contains("Interrupt.ThrowIfRequested(string, long)", text);
        Assert.Contains("Throws InterruptedException", text);
    }
}
