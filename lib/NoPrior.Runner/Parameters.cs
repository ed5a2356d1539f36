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

    /// <summary>The C# text injected for a value: a parameter declared (or initialised as) <c>string</c> gets a string
    /// literal; otherwise numbers, booleans and any complete C# expression (<c>new[] { 0.0, 0.5, 1 }</c>,
    /// <c>MarginLoss.Exponential</c>, <c>1 &lt;&lt; 20</c>) are injected as written, and other text as a string literal.</summary>
    public static string Literal(string value, string? declaredType)
    {
        if (declaredType is "string" or "string?" or "String" or "System.String")
            return IsStringLiteral(value) ? value : SymbolDisplay.FormatLiteral(value, quote: true);
        if (value is "true" or "false") return value;
        if (Number().IsMatch(value)) return value;
        if (IsExpression(value)) return value;
        return SymbolDisplay.FormatLiteral(value, quote: true);
    }

    static bool IsStringLiteral(string value) =>
        SyntaxFactory.ParseExpression(value) is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.StringLiteralExpression } e
        && e.FullSpan.Length == value.Length && !e.ContainsDiagnostics;

    /// <summary>A complete C# expression (no syntax errors, nothing left over) that is not a bare word: a single
    /// identifier such as <c>hello</c> is taken as text, since a parameter is never assigned another variable.</summary>
    static bool IsExpression(string value)
    {
        var e = SyntaxFactory.ParseExpression(value);
        return !e.ContainsDiagnostics && e.FullSpan.Length == value.Length && e is not IdentifierNameSyntax;
    }

    [GeneratedRegex("^[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?([fFdDmM]|[uU]?[lL]?|[lL][uU])?$")]
    private static partial Regex Number();

    /// <summary>Initialisers of the names declared in a parameters cell (<c>var x = …</c>, <c>T x = …</c>, <c>x = …</c>).</summary>
    static Dictionary<string, ExpressionSyntax> Initializers(string code)
    {
        var root = CSharpSyntaxTree.ParseText(code, ScriptParse).GetRoot();
        var found = new Dictionary<string, ExpressionSyntax>(StringComparer.Ordinal);
        foreach (var v in root.DescendantNodes().OfType<VariableDeclaratorSyntax>())
            if (v.Initializer is { } init) found[v.Identifier.ValueText] = init.Value;
        foreach (var a in root.DescendantNodes().OfType<AssignmentExpressionSyntax>())
            if (a.Left is IdentifierNameSyntax id) found.TryAdd(id.Identifier.ValueText, a.Right);
        return found;
    }

    static readonly CSharpParseOptions ScriptParse = new(LanguageVersion.Latest, kind: SourceCodeKind.Script);

    /// <summary>
    /// Checks an injected value against the parameter's type before anything runs: the declared type, or for
    /// <c>var</c> the type of the cell's initialiser (compiled on its own, with the notebook's using directives and
    /// the assemblies the runner carries). A parameter whose type cannot be worked out that way (its initialiser uses
    /// earlier cells' variables) is not checked here; the injected cell's compile error names it then.
    /// </summary>
    sealed class TypeChecker(IReadOnlyList<string> usings)
    {
        static readonly Lazy<IReadOnlyList<MetadataReference>> References = new(() =>
        {
            var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            var loaded = AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic && a.Location.Length > 0).Select(a => a.Location);
            var extra = new[] { typeof(NoPrior.Workbook).Assembly.Location, typeof(TorchSharp.torch).Assembly.Location };
            return paths.Concat(loaded).Concat(extra).Distinct().Where(File.Exists).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        });

        string Prelude => string.Concat(NoPrior.Notebooks.NotebookSession.DefaultImports.Select(u => $"using {u};\n").Concat(usings.Select(u => u + "\n")));

        (SemanticModel Model, SyntaxTree Tree, IReadOnlyList<Diagnostic> Errors) Compile(string statement)
        {
            var tree = CSharpSyntaxTree.ParseText(Prelude + statement, ScriptParse);
            var compilation = CSharpCompilation.CreateScriptCompilation("ParameterCheck", tree, References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            return (compilation.GetSemanticModel(tree), tree, errors);
        }

        /// <summary>The parameter's type as C# spells it, or null when it cannot be worked out in isolation.</summary>
        public string? TypeOf(string? declared, ExpressionSyntax? initializer)
        {
            if (declared is not null) return Compile($"{declared} __p = default!;").Errors.Count == 0 ? declared : null;
            if (initializer is null) return null;
            var (model, tree, errors) = Compile($"var __p = {initializer};");
            if (errors.Count > 0) return null;
            var v = tree.GetRoot().DescendantNodes().OfType<VariableDeclaratorSyntax>().Last();
            // A top-level script variable is a field of the script class.
            var type = model.GetDeclaredSymbol(v) switch { IFieldSymbol f => f.Type, ILocalSymbol l => l.Type, _ => null };
            return type?.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        }

        /// <summary>The first compile error of <c>T __p = value;</c>, or null when the value fits.</summary>
        public string? Mismatch(string type, string injected) =>
            Compile($"{type} __p = {injected};").Errors.FirstOrDefault() is { } d ? d.GetMessage(System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Using directives of the code cells up to and including the parameters cell (the checker compiles with them).</summary>
    static List<string> UsingsBefore(JsonArray cells, int parametersIndex)
    {
        var usings = new List<string>();
        for (int i = 0; i <= parametersIndex; i++)
        {
            if (Ipynb.CellType(cells[i]!) != "code") continue;
            var root = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(Ipynb.Source(cells[i]!), ScriptParse).GetRoot();
            usings.AddRange(root.Usings.Select(u => u.ToString()));
        }
        return usings;
    }

    /// <summary>
    /// Inserts the injected-parameters cell after the parameters cell. Throws with a message naming the notebook and
    /// the parameter when there is no parameters cell or a name is not assigned in it.
    /// </summary>
    /// <param name="notebook">The notebook (edited in place).</param>
    /// <param name="values">The -p values, in order.</param>
    /// <param name="notebookName">Names the notebook in messages.</param>
    /// <param name="checkTypes">Compile each value against the parameter's type and reject a mismatch naming the
    /// parameter (the runner does it once, before any notebook starts).</param>
    public static void Inject(JsonObject notebook, IReadOnlyList<KeyValuePair<string, string>> values, string notebookName, bool checkTypes = true)
    {
        if (values.Count == 0) return;
        var cells = Ipynb.Cells(notebook);
        int index = -1;
        for (int i = 0; i < cells.Count; i++)
            if (Ipynb.CellType(cells[i]!) == "code" && Ipynb.Tags(cells[i]!).Contains(Tag)) { index = i; break; }
        if (index < 0) throw new ArgumentException($"{notebookName}: -p given but the notebook has no code cell tagged '{Tag}'.");
        string source = Ipynb.Source(cells[index]!);
        var declared = Declared(source);
        var initializers = Initializers(source);
        var checker = checkTypes ? new TypeChecker(UsingsBefore(cells, index)) : null;
        var lines = new List<string> { "// Parameters injected by the workbook runner (-p)." };
        foreach (var (name, value) in values)
        {
            if (!declared.TryGetValue(name, out var declaredType))
                throw new ArgumentException($"{notebookName}: parameter '{name}' is not assigned in the parameters cell; it assigns: {(declared.Count == 0 ? "nothing" : string.Join(", ", declared.Keys))}.");
            initializers.TryGetValue(name, out var init);
            // A var initialised with a string literal is a string parameter: its value is always quoted.
            string? typeForLiteral = declaredType ?? (init is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.StringLiteralExpression } ? "string" : null);
            string injected = Literal(value, typeForLiteral);
            if (checker?.TypeOf(declaredType, init) is { } type && checker.Mismatch(type, injected) is { } why)
                throw new ArgumentException($"{notebookName}: -p {name}={value}: parameter '{name}' is {type} in the parameters cell, and {injected} is not of type {type} ({why}).");
            lines.Add($"{name} = {injected};");
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
