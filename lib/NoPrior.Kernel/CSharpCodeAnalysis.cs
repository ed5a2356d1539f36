using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace NoPrior.Kernel;

/// <summary>
/// Syntax and symbol questions a front end asks while the user types: is this cell complete (is_complete_request),
/// and what can be typed here (complete_request). Completion compiles the cells executed so far plus the current
/// one as a single script and asks Roslyn's semantic model for the symbols in scope (or the members of the
/// expression before a dot) — the same answers Roslyn scripting would give, without Microsoft.CodeAnalysis.Features.
/// </summary>
public sealed class CSharpCodeAnalysis
{
    static readonly CSharpParseOptions ScriptParse = new(LanguageVersion.Latest, kind: SourceCodeKind.Script);
    readonly List<string> _history = [];
    readonly IReadOnlyList<string> _imports;
    readonly Type? _globalsType;
    readonly Func<IEnumerable<MetadataReference>> _references;

    /// <summary>Completion against the given references and imports.</summary>
    /// <param name="imports">Namespaces imported in every cell.</param>
    /// <param name="globalsType">The script globals type (its members are in scope as bare names), or null.</param>
    /// <param name="references">References of the session; called per request because <c>#r</c> adds some.</param>
    public CSharpCodeAnalysis(IReadOnlyList<string> imports, Type? globalsType, Func<IEnumerable<MetadataReference>> references)
    {
        _imports = imports; _globalsType = globalsType; _references = references;
    }

    /// <summary>References to every loaded assembly that has a file (what the running cells can see).</summary>
    public static IEnumerable<MetadataReference> LoadedAssemblyReferences()
    {
        // Loaded assemblies cover the framework the host uses plus anything #r brought in; the framework folder adds
        // the rest of the BCL, which the engine references as a whole.
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
            if (!a.IsDynamic && !string.IsNullOrEmpty(a.Location)) paths.Add(a.Location);
        string fx = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        foreach (var p in Directory.EnumerateFiles(fx, "System.*.dll")) paths.Add(p);
        foreach (var p in paths.Order(StringComparer.Ordinal))
        {
            MetadataReference? r = null;
            try { AssemblyName.GetAssemblyName(p); r = MetadataReference.CreateFromFile(p); }
            catch (BadImageFormatException) { }  // native images in the framework folder
            if (r is not null) yield return r;
        }
    }

    /// <summary>Remembers a cell that ran, so later completions see its declarations.</summary>
    public void RecordExecuted(string code)
    {
        lock (_history) _history.Add(StripDirectives(code));
    }

    /// <summary>
    /// "complete" when the cell can run as typed, "incomplete" when it is cut short (an open brace, string or
    /// statement), "invalid" when it is complete but has syntax errors.
    /// </summary>
    public static string IsComplete(string code)
    {
        if (string.IsNullOrWhiteSpace(code)) return "complete";
        var tree = CSharpSyntaxTree.ParseText(StripDirectives(code), ScriptParse);
        if (!SyntaxFactory.IsCompleteSubmission(tree)) return "incomplete";
        return tree.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error) ? "invalid" : "complete";
    }

    /// <summary>Candidates for the identifier that ends at the cursor: members after a dot, otherwise symbols and keywords in scope.</summary>
    public CompletionResult Complete(string code, int cursorPosition)
    {
        cursorPosition = Math.Clamp(cursorPosition, 0, code.Length);
        int start = cursorPosition;
        while (start > 0 && (char.IsLetterOrDigit(code[start - 1]) || code[start - 1] == '_')) start--;
        string prefix = code[start..cursorPosition];

        string history;
        lock (_history) history = string.Join("\n", _history);
        // Earlier cells first, then the current one; the cursor moves by the length of what precedes it.
        string prelude = history.Length == 0 ? "" : history + "\n";
        string source = prelude + StripDirectives(code);
        int position = prelude.Length + start;

        var tree = CSharpSyntaxTree.ParseText(source, ScriptParse);
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, usings: _imports);
        var compilation = CSharpCompilation.CreateScriptCompilation("completion", tree, _references(), options, globalsType: _globalsType);
        var model = compilation.GetSemanticModel(tree);

        IEnumerable<ISymbol> symbols;
        IEnumerable<string> keywords = [];
        var token = tree.GetRoot().FindToken(Math.Max(0, position - 1));
        if (token.IsKind(SyntaxKind.DotToken) && token.Parent is MemberAccessExpressionSyntax access)
        {
            var target = model.GetSymbolInfo(access.Expression).Symbol;
            if (target is INamespaceOrTypeSymbol container)
                symbols = model.LookupSymbols(position, container).Where(s => s.IsStatic || s is INamespaceOrTypeSymbol);
            else if (model.GetTypeInfo(access.Expression).Type is { } type)
                symbols = model.LookupSymbols(position, type, includeReducedExtensionMethods: true).Where(s => !s.IsStatic);
            else symbols = [];
        }
        else
        {
            symbols = model.LookupSymbols(position);
            // Keywords only once something is typed: an empty prefix would bury the cell's own names under ~100 keywords.
            if (prefix.Length > 0)
                keywords = SyntaxFacts.GetKeywordKinds().Concat(SyntaxFacts.GetContextualKeywordKinds()).Select(SyntaxFacts.GetText);
        }

        var matches = symbols
            .Where(s => s.CanBeReferencedByName)
            .Select(s => s.Name)
            .Concat(keywords)
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        return new CompletionResult(matches, start, cursorPosition);
    }

    /// <summary>Drops <c>#r</c>/<c>#!</c> directive lines (the engine resolves them; plain Roslyn would report errors), keeping line count.</summary>
    static string StripDirectives(string code) =>
        string.Join("\n", code.Split('\n').Select(l => l.TrimStart().StartsWith("#r ", StringComparison.Ordinal) || l.TrimStart().StartsWith("#!", StringComparison.Ordinal) ? "" : l));

}
