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

    /// <summary>
    /// What Shift-Tab shows (inspect_request): the symbol at or just before the cursor — inside a call's parentheses,
    /// the method called — with its signature (every overload of a method group), its type for a variable, and the
    /// summary of its XML documentation when the assembly ships one (NoPrior.xml does). Null when nothing is there.
    /// </summary>
    public string? Inspect(string code, int cursorPosition)
    {
        cursorPosition = Math.Clamp(cursorPosition, 0, code.Length);
        string history;
        lock (_history) history = string.Join("\n", _history);
        string prelude = history.Length == 0 ? "" : history + "\n";
        var tree = CSharpSyntaxTree.ParseText(prelude + StripDirectives(code), ScriptParse);
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, usings: _imports);
        var references = _references().Select(WithDocumentation).ToList();
        var compilation = CSharpCompilation.CreateScriptCompilation("inspection", tree, references, options, globalsType: _globalsType);
        var model = compilation.GetSemanticModel(tree);
        int position = prelude.Length + cursorPosition;
        var root = tree.GetRoot();

        // The identifier under the cursor, else the one just before it, else the call whose argument list holds the cursor.
        SyntaxNode? node = null;
        foreach (int at in new[] { position, position - 1 })
        {
            if (at < prelude.Length || at >= root.FullSpan.End) continue;
            var token = root.FindToken(at);
            if (token.IsKind(SyntaxKind.IdentifierToken) && token.Parent is { } parent) { node = parent; break; }
        }
        if (node is null && root.FindToken(Math.Max(prelude.Length, position - 1)).Parent?.AncestorsAndSelf().OfType<ArgumentListSyntax>().FirstOrDefault() is { Parent: InvocationExpressionSyntax call })
            node = call.Expression is MemberAccessExpressionSyntax m ? m.Name : call.Expression;
        if (node is null) return null;
        if (node.Parent is MemberAccessExpressionSyntax ma && ma.Name == node) node = ma;

        var info = model.GetSymbolInfo(node);
        var symbols = info.Symbol is { } one ? [one] : info.CandidateSymbols.ToList();
        if (symbols.Count == 0 && model.GetDeclaredSymbol(node) is { } declared) symbols = [declared];
        if (symbols.Count == 0) return null;
        // A call resolved to one overload: show every overload of the group, as Jupyter users expect from Shift-Tab.
        if (symbols[0] is IMethodSymbol { MethodKind: MethodKind.Ordinary } method && model.GetMemberGroup(node) is { Length: > 1 } group)
            symbols = [method, .. group.Where(g => !SymbolEqualityComparer.Default.Equals(g, method))];

        var lines = new List<string>();
        foreach (var symbol in symbols.Take(12))
            lines.Add(symbol switch
            {
                ILocalSymbol l => $"{l.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)} {l.Name}",
                IFieldSymbol f when f.ContainingType?.IsScriptClass == true => $"{f.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)} {f.Name}",
                _ => symbol.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat),
            });
        if (symbols.Count > 12) lines.Add($"(+{symbols.Count - 12} more overloads)");
        if (Summary(symbols[0]) is { } summary) { lines.Add(""); lines.Add(summary); }
        return string.Join("\n", lines);
    }

    /// <summary>The &lt;summary&gt; of a symbol's XML documentation, as plain text.</summary>
    static string? Summary(ISymbol symbol)
    {
        string? xml = (symbol is IMethodSymbol { ReducedFrom: { } from } ? from : symbol).GetDocumentationCommentXml();
        if (string.IsNullOrWhiteSpace(xml)) return null;
        try
        {
            var doc = System.Xml.Linq.XElement.Parse(xml.StartsWith("<member", StringComparison.Ordinal) ? xml : $"<member>{xml}</member>");
            var summary = doc.Element("summary");
            if (summary is null) return null;
            foreach (var r in summary.Descendants().Where(e => e.Name == "see" || e.Name == "paramref" || e.Name == "typeparamref").ToList())
            {
                string? target = (string?)r.Attribute("cref") ?? (string?)r.Attribute("name") ?? (string?)r.Attribute("langword");
                r.ReplaceWith(target is null ? "" : ShortCref(target));
            }
            return string.Join(" ", summary.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
        catch (System.Xml.XmlException) { return null; }
    }

    /// <summary>"T:NoPrior.InterruptedException" → "InterruptedException", "M:A.B.C(System.Int32)" → "C".</summary>
    static string ShortCref(string cref)
    {
        string name = cref.Length > 2 && cref[1] == ':' ? cref[2..] : cref;
        int paren = name.IndexOf('(');
        if (paren >= 0) name = name[..paren];
        return name[(name.LastIndexOf('.') + 1)..];
    }

    /// <summary>The same reference with its XML documentation file (next to the assembly) when there is one.</summary>
    static MetadataReference WithDocumentation(MetadataReference reference)
    {
        if (reference is not PortableExecutableReference { FilePath: { } path }) return reference;
        string xml = Path.ChangeExtension(path, ".xml");
        return File.Exists(xml) ? MetadataReference.CreateFromFile(path, documentation: XmlDocs.For(xml)) : reference;
    }

    /// <summary>An assembly's XML documentation file, read once, by documentation id ("M:NoPrior.Interrupt.ThrowIfRequested(System.String,System.Int64)").</summary>
    sealed class XmlDocs : DocumentationProvider
    {
        static readonly System.Collections.Concurrent.ConcurrentDictionary<string, XmlDocs> Cache = new(StringComparer.Ordinal);
        readonly string _path;
        readonly Lazy<Dictionary<string, string>> _members;

        XmlDocs(string path)
        {
            _path = path;
            _members = new(() =>
            {
                var map = new Dictionary<string, string>(StringComparer.Ordinal);
                try
                {
                    foreach (var m in System.Xml.Linq.XDocument.Load(path).Descendants("member"))
                        if ((string?)m.Attribute("name") is { } name) map[name] = m.ToString();
                }
                catch (Exception e) when (e is System.Xml.XmlException or IOException) { }
                return map;
            });
        }

        public static XmlDocs For(string path) => Cache.GetOrAdd(path, p => new XmlDocs(p));

        protected override string GetDocumentationForSymbol(string documentationMemberID, System.Globalization.CultureInfo preferredCulture, CancellationToken cancellationToken = default) =>
            _members.Value.TryGetValue(documentationMemberID, out var xml) ? xml : "";

        public override bool Equals(object? obj) => obj is XmlDocs other && other._path == _path;

        public override int GetHashCode() => _path.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>Drops <c>#r</c>/<c>#!</c> directive lines (the engine resolves them; plain Roslyn would report errors), keeping line count.</summary>
    static string StripDirectives(string code) =>
        string.Join("\n", code.Split('\n').Select(l => l.TrimStart().StartsWith("#r ", StringComparison.Ordinal) || l.TrimStart().StartsWith("#!", StringComparison.Ordinal) ? "" : l));

}
