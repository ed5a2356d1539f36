using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NoPrior.Runner;

/// <summary>
/// Papermill's convention for C#: the code cell tagged <c>parameters</c> declares the tunable values; <c>-p name=value</c>
/// injects, right after it, a cell tagged <c>injected-parameters</c> that reassigns them.
/// </summary>
public static partial class Parameters
{
    /// <summary>The tag of the cell that declares parameters.</summary>
    public const string Tag = "parameters";
    /// <summary>The tag and id of the injected cell.</summary>
    public const string InjectedTag = "injected-parameters";

    /// <summary>Parses <c>name=value</c> (from <c>-p</c>); the message names the malformed argument.</summary>
    public static KeyValuePair<string, string> ParseArgument(string arg)
    {
        int eq = arg.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"-p expects name=value, got '{arg}'.");
        return new(arg[..eq].Trim(), arg[(eq + 1)..]);
    }

    /// <summary>Names assigned in a parameters cell, with their declared type (or null for <c>var</c> and plain assignments).</summary>
    public static IReadOnlyDictionary<string, string?> Declared(string code)
    {
        var root = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest, kind: SourceCodeKind.Script)).GetRoot();
        var names = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var decl in root.DescendantNodes().OfType<VariableDeclarationSyntax>())
        {
            string? type = decl.Type.IsVar ? null : decl.Type.ToString();
            foreach (var v in decl.Variables) names[v.Identifier.ValueText] = type;
        }
        foreach (var a in root.DescendantNodes().OfType<AssignmentExpressionSyntax>())
            if (a.Left is IdentifierNameSyntax id) names.TryAdd(id.Identifier.ValueText, null);
        return names;
    }

    /// <summary>The C# literal for a value: numbers (with C# suffixes) and booleans as written, other text as a string
    /// literal; a parameter declared <c>string</c> is always quoted.</summary>
    public static string Literal(string value, string? declaredType)
    {
        if (declaredType is "string" or "string?" or "String") return SymbolDisplay.FormatLiteral(value, quote: true);
        if (value is "true" or "false") return value;
        if (Number().IsMatch(value)) return value;
        return SymbolDisplay.FormatLiteral(value, quote: true);
    }

    [GeneratedRegex("^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?([fFdDmM]|[uU]?[lL]?|[lL][uU])?$")]
    private static partial Regex Number();

    /// <summary>
    /// Inserts the injected-parameters cell after the parameters cell. Throws with a message naming the notebook and
    /// the parameter when there is no parameters cell or a name is not assigned in it.
    /// </summary>
    public static void Inject(JsonObject notebook, IReadOnlyList<KeyValuePair<string, string>> values, string notebookName)
    {
        if (values.Count == 0) return;
        var cells = Ipynb.Cells(notebook);
        int index = -1;
        for (int i = 0; i < cells.Count; i++)
            if (Ipynb.CellType(cells[i]!) == "code" && Ipynb.Tags(cells[i]!).Contains(Tag)) { index = i; break; }
        if (index < 0) throw new ArgumentException($"{notebookName}: -p given but the notebook has no code cell tagged '{Tag}'.");
        var declared = Declared(Ipynb.Source(cells[index]!));
        var lines = new List<string> { "// Parameters injected by the workbook runner (-p)." };
        foreach (var (name, value) in values)
        {
            if (!declared.TryGetValue(name, out var type))
                throw new ArgumentException($"{notebookName}: parameter '{name}' is not assigned in the parameters cell; it assigns: {(declared.Count == 0 ? "nothing" : string.Join(", ", declared.Keys))}.");
            lines.Add($"{name} = {Literal(value, type)};");
        }
        var cell = new JsonObject
        {
            ["cell_type"] = "code",
            ["id"] = InjectedTag,
            ["metadata"] = new JsonObject { ["tags"] = new JsonArray(InjectedTag) },
            ["source"] = Ipynb.SourceLines(string.Join("\n", lines)),
            ["outputs"] = new JsonArray(),
            ["execution_count"] = null,
        };
        cells.Insert(index + 1, cell);
    }
}
