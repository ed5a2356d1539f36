using System.Text.Json.Nodes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NoPrior.Runner;

/// <summary>The "clean notebook" rules for committed notebooks (nbdev-style): no outputs, the C# kernel metadata, a
/// parameters cell, and a markdown cell before every code cell; and the thin-notebook rules: no method, local
/// function or type declarations in cells (algorithms live in <c>lib/</c>), no code cell over
/// <see cref="MaxCodeLines"/> lines, and a parameters cell of literal assignments only.</summary>
public static class Checker
{
    /// <summary>The most lines a code cell may have (trailing blank lines not counted).</summary>
    public const int MaxCodeLines = 15;

    /// <summary>Problems found in one notebook, each a sentence naming the cell; empty when clean.</summary>
    public static IReadOnlyList<string> Check(string path)
    {
        var problems = new List<string>();
        JsonObject nb;
        try { nb = Ipynb.Load(path); }
        catch (InvalidDataException e) { return [e.Message]; }

        var meta = nb["metadata"];
        Expect(problems, (string?)meta?["kernelspec"]?["name"], ".net-csharp", "metadata.kernelspec.name");
        Expect(problems, (string?)meta?["kernelspec"]?["language"], "C#", "metadata.kernelspec.language");
        Expect(problems, (string?)meta?["language_info"]?["name"], "C#", "metadata.language_info.name");

        var cells = Ipynb.Cells(nb);
        bool hasParameters = false;
        problems.AddRange(SetupProblems(path, cells));
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = cells[i]!;
            string where = $"cell {i + 1}";
            if (Ipynb.CellType(cell) == "markdown") problems.AddRange(MarkdownProblems(Ipynb.Source(cell), where));
            if (Ipynb.CellType(cell) != "code") continue;
            if (cell["outputs"] is JsonArray { Count: > 0 } outs) problems.Add($"{where} has {outs.Count} output(s); commit notebooks without outputs.");
            if (cell["execution_count"] is JsonValue) problems.Add($"{where} has an execution_count; clear it before committing.");
            if (Ipynb.Tags(cell).Contains(Parameters.Tag)) hasParameters = true;
            if (Ipynb.Tags(cell).Contains(Parameters.InjectedTag)) problems.Add($"{where} is an injected-parameters cell from an executed copy.");
            if (i == 0 || Ipynb.CellType(cells[i - 1]!) != "markdown") problems.Add($"{where} is a code cell not preceded by a markdown cell.");
            problems.AddRange(ThinCellProblems(Ipynb.Source(cell), Ipynb.Tags(cell).Contains(Parameters.Tag), where));
        }
        if (!hasParameters) problems.Add($"no code cell is tagged '{Parameters.Tag}' (metadata.tags).");
        return problems;
    }

    /// <summary>Control characters (tab, backspace, form feed, carriage return…) in a markdown cell. They are almost always
    /// a LaTeX command whose backslash a generator read as an escape: "\text", "\theta", "\to" become a tab and
    /// "ext", "heta", "o", and MathJax renders garbage without an error.</summary>
    public static IEnumerable<string> MarkdownProblems(string source, string where)
    {
        int at = source.IndexOfAny(['\t', '\b', '\f', '\r', '\v', '\a']);
        if (at < 0) yield break;
        string after = new string(source.Skip(at + 1).TakeWhile(char.IsLetter).ToArray());
        yield return $"{where} (markdown) holds the control character U+{(int)source[at]:X4} before '{after}': probably a lost backslash (\\t of \\text or \\theta); write the backslash twice in the generator or fix the cell.";
    }

    /// <summary>The setup line written exactly as notebooks must start.</summary>
    public const string SetupLine = "#load \"" + SetupFile + "\"";
    /// <summary>The shared setup script next to the notebooks.</summary>
    public const string SetupFile = "setup.csx";

    /// <summary>Where a <see cref="SetupFile"/> sits next to the notebook, the first code cell is exactly
    /// <see cref="SetupLine"/> and no other cell references assemblies (#r belongs in the setup file).</summary>
    static IEnumerable<string> SetupProblems(string path, JsonArray cells)
    {
        if (!File.Exists(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, SetupFile))) yield break;
        bool first = true;
        for (int i = 0; i < cells.Count; i++)
        {
            if (Ipynb.CellType(cells[i]!) != "code") continue;
            string code = Ipynb.Source(cells[i]!).Trim();
            if (first && code != SetupLine)
                yield return $"cell {i + 1} is the first code cell and must be exactly {SetupLine} (the shared setup; see notebooks/README.md).";
            else if (!first && code.Split('\n').Any(l => l.TrimStart().StartsWith("#r ", StringComparison.Ordinal)))
                yield return $"cell {i + 1} references an assembly with #r: references belong in {SetupFile}.";
            first = false;
        }
    }

    /// <summary>The thin-notebook rules for one code cell: no declarations, at most <see cref="MaxCodeLines"/> lines,
    /// and, for the parameters cell, nothing but literal assignments.</summary>
    public static IEnumerable<string> ThinCellProblems(string code, bool isParameters, string where)
    {
        int lines = code.TrimEnd().Split('\n').Length;
        if (lines > MaxCodeLines)
            yield return $"{where} has {lines} lines (at most {MaxCodeLines}): split it, each part after a markdown cell, or move the computation into lib/.";
        var root = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest, kind: SourceCodeKind.Script)).GetRoot();
        foreach (var node in root.DescendantNodes())
            if (Declaration(node) is { } what)
                yield return $"{where} declares {what}: algorithms, helpers and types live in lib/ (with a test), not in a notebook.";
        if (!isParameters) yield break;
        foreach (var member in ((CompilationUnitSyntax)root).Members)
            if (VariablesOf(member) is not { } variables || variables.Any(v => v.Initializer is null || !IsLiteral(v.Initializer.Value)))
                yield return $"{where} (parameters) holds '{Shorten(member.ToString())}': the parameters cell holds literal assignments only " +
                             "(var name = 3; arrays of literals); derived values go to the next cell.";
    }

    /// <summary>The declared variables of a top-level declaration (a script field or a local), else null.</summary>
    static SeparatedSyntaxList<VariableDeclaratorSyntax>? VariablesOf(MemberDeclarationSyntax member) => member switch
    {
        FieldDeclarationSyntax f => f.Declaration.Variables,
        GlobalStatementSyntax { Statement: LocalDeclarationStatementSyntax l } => l.Declaration.Variables,
        _ => null,
    };

    static string? Declaration(SyntaxNode node) => node switch
    {
        MethodDeclarationSyntax m => $"the method '{m.Identifier.ValueText}'",
        LocalFunctionStatementSyntax f => $"the local function '{f.Identifier.ValueText}'",
        RecordDeclarationSyntax r => $"the record '{r.Identifier.ValueText}'",
        TypeDeclarationSyntax t => $"the {t.Keyword.ValueText} '{t.Identifier.ValueText}'",
        EnumDeclarationSyntax e => $"the enum '{e.Identifier.ValueText}'",
        DelegateDeclarationSyntax d => $"the delegate '{d.Identifier.ValueText}'",
        _ => null,
    };

    /// <summary>A literal, a negated numeric literal, or an array of such (<c>new[] { 1, 2 }</c>, <c>new double[] { … }</c>).</summary>
    static bool IsLiteral(ExpressionSyntax e) => e switch
    {
        LiteralExpressionSyntax => true,
        PrefixUnaryExpressionSyntax { OperatorToken.ValueText: "-" or "+", Operand: LiteralExpressionSyntax } => true,
        ImplicitArrayCreationExpressionSyntax a => a.Initializer.Expressions.All(IsLiteral),
        ArrayCreationExpressionSyntax { Initializer: { } init } => init.Expressions.All(IsLiteral),
        CollectionExpressionSyntax c => c.Elements.All(x => x is ExpressionElementSyntax { Expression: var v } && IsLiteral(v)),
        _ => false,
    };

    static string Shorten(string s)
    {
        s = s.ReplaceLineEndings(" ").Trim();
        return s.Length <= 60 ? s : s[..57] + "…";
    }

    static void Expect(List<string> problems, string? actual, string expected, string field)
    {
        if (actual != expected) problems.Add($"{field} is {(actual is null ? "missing" : $"\"{actual}\"")}; expected \"{expected}\".");
    }
}
