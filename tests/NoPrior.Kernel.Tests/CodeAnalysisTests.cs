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
}
