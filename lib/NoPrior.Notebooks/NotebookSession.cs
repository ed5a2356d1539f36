using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Microsoft.DotNet.Interactive.Formatting;
using NoPrior.Display;

namespace NoPrior.Notebooks;

/// <summary>
/// Executes the C# cells of one notebook in order, with the semantics of the .NET Interactive C# kernel: one Roslyn
/// scripting state for the whole notebook (variables and types carry over), default imports, top-level <c>await</c>,
/// the trailing expression as the cell's result, <c>display(x)</c> with in-place updates, <c>#r</c> directives,
/// per-cell capture of standard output and error. Not tied to any front end: the runner writes .ipynb/HTML from the
/// outputs, and a Jupyter kernel could forward <see cref="Output"/> as iopub messages.
/// </summary>
/// <remarks>
/// Console redirection, the current directory and <see cref="Progress.SinkFactory"/> are process-wide, so run one
/// session per process at a time (the runner runs each notebook in its own process).
/// </remarks>
public sealed class NotebookSession : IDisposable
{
    /// <summary>Namespaces imported in every cell, as in the .NET Interactive C# kernel.</summary>
    public static readonly IReadOnlyList<string> DefaultImports =
    [
        "System", "System.IO", "System.Collections.Generic", "System.Linq", "System.Net.Http", "System.Text",
        "System.Threading", "System.Threading.Tasks",
    ];

    readonly object _gate = new();
    readonly NotebookGlobals _globals;
    readonly Func<string, long, IProgressSink> _previousSinkFactory;
    ScriptOptions _options;
    ScriptState<object?>? _state;
    List<CellOutput>? _current;
    int _displayCounter;
    bool _disposed;

    /// <summary>Starts a session for a notebook stored in <paramref name="notebookDirectory"/>.</summary>
    /// <param name="notebookDirectory">The notebook's folder: the current directory while cells run, and the base of relative <c>#r</c> paths.</param>
    public NotebookSession(string notebookDirectory)
    {
        NotebookDirectory = Path.GetFullPath(notebookDirectory);
        if (!Directory.Exists(NotebookDirectory)) throw new DirectoryNotFoundException($"Notebook folder '{NotebookDirectory}' does not exist.");
        TorchNativeErrors.Install();   // before any cell binds a TorchSharp P/Invoke: libtorch errors become exceptions
        _globals = new NotebookGlobals(this);
        NotebookFormatters.Register();
        NotebookHtml.BeginNotebook();
        RegisterEngineFormatters();
        _options = ScriptOptions.Default
            .WithReferences(FrameworkReferences().Append(MetadataReference.CreateFromFile(typeof(NotebookGlobals).Assembly.Location)))
            .WithImports(DefaultImports)
            .WithLanguageVersion(LanguageVersion.Latest)
            .WithOptimizationLevel(OptimizationLevel.Release)
            .WithEmitDebugInformation(true)   // line numbers of the cell in exception stack traces
            .WithAllowUnsafe(true);
        _previousSinkFactory = Progress.SinkFactory;
        Progress.SinkFactory = (title, total) => new DisplayProgressSink(this, title, total);
    }

    /// <summary>How long an interrupted cell may take to stop (a library loop checks once per step) before the cell returns anyway.</summary>
    public static TimeSpan InterruptGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The notebook's folder.</summary>
    public string NotebookDirectory { get; }

    /// <summary>Number of cells executed so far (the last cell's execution count).</summary>
    public int ExecutionCount { get; private set; }

    /// <summary>Raised for every output as it happens (stream text line by line), also from background threads.</summary>
    public event Action<CellOutput>? Output;

    /// <summary>Runs one cell and returns its outputs. A failed cell leaves earlier state intact.</summary>
    /// <param name="code">The cell's source.</param>
    /// <param name="cancellationToken">Stops the cell between statements (Roslyn checks it at await and statement boundaries).</param>
    public async Task<CellResult> ExecuteCellAsync(string code, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int cell = ++ExecutionCount;
        var outputs = new List<CellOutput>();
        var clock = Stopwatch.StartNew();
        var (oldOut, oldErr, oldDir) = (Console.Out, Console.Error, Directory.GetCurrentDirectory());
        using var stdout = new StreamCapture(this, OutputKind.Stdout);
        using var stderr = new StreamCapture(this, OutputKind.Stderr);
        lock (_gate) _current = outputs;
        Console.SetOut(stdout); Console.SetError(stderr);
        Directory.SetCurrentDirectory(NotebookDirectory);
        try
        {
            await RunAsync(cell, code, cancellationToken);
        }
        finally
        {
            stdout.Flush(); stderr.Flush();
            Console.SetOut(oldOut); Console.SetError(oldErr);
            Directory.SetCurrentDirectory(oldDir);
            lock (_gate) _current = null;
        }
        bool ok = outputs.All(o => o.Kind != OutputKind.Error);
        return new CellResult(cell, ok, MergeStreams(outputs), clock.Elapsed);
    }

    async Task RunAsync(int cell, string code, CancellationToken ct)
    {
        CellPreprocessor.Result pre;
        try { pre = CellPreprocessor.Process(code, NotebookDirectory); }
        catch (CellPreprocessor.DirectiveException e) { EmitError(cell, "DirectiveError", e.Message, [e.Message]); return; }
        if (pre.References.Count > 0) _options = _options.AddReferences(pre.References);

        // #load-ed files run first, each as a submission of its own, so their usings carry over like a cell's.
        foreach (var loaded in pre.Loaded)
            if (await SubmitAsync(cell, loaded.Code, $"{Path.GetFileName(loaded.Path)}: ", ct) is null) return;
        if (await SubmitAsync(cell, pre.Code, "", ct) is not { } next) return;

        if (HasTrailingValue(next.Script.GetCompilation()))
            Emit(new CellOutput(OutputKind.ExecuteResult, Data: Render(next.ReturnValue, null)) { Value = next.ReturnValue });
    }

    /// <summary>Compiles and runs one submission; null (with the error emitted) when it did not compile, was cancelled or
    /// threw. <c>source</c> prefixes error messages with a loaded file's name (empty for the cell itself).</summary>
    async Task<ScriptState<object?>?> SubmitAsync(int cell, string code, string source, CancellationToken ct)
    {
        ScriptState<object?> next;
        Task<ScriptState<object?>>? run = null;
        try
        {
            // The library's loops (training, the attack, anything reporting progress) observe this token once per step.
            // Async-local: it flows into the cell's code, and an interrupted cell keeps its cancelled token.
            Interrupt.Token = ct;
            // Roslyn runs a submission synchronously up to its first await, so the cell starts on a pool thread: an
            // interrupt then returns control even while the cell's own synchronous code (Thread.Sleep, a tight loop)
            // keeps running, which .NET cannot abort. Roslyn itself checks the token only between submissions.
            var (state, options) = (_state, _options);
            run = Task.Run(() => state is null
                ? CSharpScript.Create<object?>(code, options, typeof(NotebookGlobals)).RunAsync(_globals, _ => true, ct)
                : state.ContinueWithAsync<object?>(code, options, _ => true, ct));
            next = await run.WaitAsync(ct);
        }
        catch (CompilationErrorException e)
        {
            // Every error diagnostic, "(line,column): error CSxxxx: …" with lines counted within the cell.
            var lines = e.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => source + d).ToList();
            string label = lines.Count == 1 ? "compile error" : $"{lines.Count} compile errors";
            EmitError(cell, "CompilationError", $"{label}:\n{string.Join("\n", lines)}", [$"{label} in cell [{cell}]:", .. lines]);
            return null;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Give a loop that checks NoPrior.Interrupt the time of one step to end with its "interrupted at step k";
            // anything else (Thread.Sleep, a tight loop of the cell's own) cannot be stopped and keeps running.
            if (run is not null && await Task.WhenAny(run, Task.Delay(InterruptGrace)) == run && run.IsCompletedSuccessfully)
                next = run.Result;
            else
            {
                string message = run is null || run.IsCompleted
                    ? "the cell was interrupted"
                    : $"the cell was interrupted, but its code did not stop within {InterruptGrace.TotalSeconds:0.#} s and keeps running in the background "
                      + "(only the library's loops and code that calls NoPrior.Interrupt.ThrowIfRequested can be stopped; restart the kernel to end it)";
                EmitError(cell, "Interrupted", message, [message]);
                return null;
            }
        }

        // With catchException the state advances even when the cell throws, so later cells still see the
        // variables assigned before the exception (as in .NET Interactive).
        _state = next;
        if (next.Exception is { } ex)
        {
            ex = Unwrap(ex);
            // libtorch's messages carry its C++ backtrace ("Exception raised from …", "frame #k: …"): dropped here.
            var trace = ex.ToString().Split('\n').Select(l => l.TrimEnd('\r'))
                .Where(l => !l.Contains("Microsoft.CodeAnalysis.Scripting", StringComparison.Ordinal) && !IsNativeFrameLine(l)).ToList();
            EmitError(cell, ex.GetType().Name, source + TrimNativeFrames(ex.Message), trace, CellLine(ex));
            return null;
        }
        return next;
    }

    /// <summary>True when the cell ends in an expression without a semicolon whose type is not void (its value is the result).</summary>
    static bool HasTrailingValue(Compilation compilation)
    {
        var tree = compilation.SyntaxTrees.LastOrDefault();
        if (tree?.GetRoot() is not Microsoft.CodeAnalysis.CSharp.Syntax.CompilationUnitSyntax root) return false;
        if (root.Members.LastOrDefault() is not Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax
            { Statement: Microsoft.CodeAnalysis.CSharp.Syntax.ExpressionStatementSyntax { SemicolonToken.IsMissing: true } statement })
            return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
            e = e.InnerException!;
        return e;
    }

    /// <summary>Error values name the cell as Jupyter shows it, "cell [n]" (its execution count; in <c>./workbook run</c>
    /// the n-th code cell), and for exceptions the line within the cell: "cell [4], line 2: message".</summary>
    void EmitError(int cell, string name, string message, IReadOnlyList<string> traceback, int? line = null) =>
        Emit(new CellOutput(OutputKind.Error, ErrorName: name,
            ErrorValue: $"cell [{cell}]{(line is { } l ? $", line {l}" : "")}: {message}", Traceback: traceback));

    static bool IsNativeFrameLine(string line) =>
        line.StartsWith("Exception raised from ", StringComparison.Ordinal) || line.StartsWith("frame #", StringComparison.Ordinal);

    /// <summary>A message without libtorch's C++ backtrace lines.</summary>
    public static string TrimNativeFrames(string message) =>
        string.Join("\n", message.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => !IsNativeFrameLine(l))).TrimEnd();

    /// <summary>The line within the cell where the exception left the cell's own code (the innermost frame of a
    /// script submission), from the submission's debug information; null when unknown.</summary>
    static int? CellLine(Exception ex)
    {
        foreach (var frame in new StackTrace(ex, fNeedFileInfo: true).GetFrames())
        {
            var type = frame.GetMethod()?.DeclaringType;
            while (type?.DeclaringType is not null) type = type.DeclaringType;   // lambdas, local functions, state machines
            if (type is null || !type.Name.StartsWith("Submission#", StringComparison.Ordinal)) continue;
            int line = frame.GetFileLineNumber();
            if (line > 0) return line;
        }
        return null;
    }

    internal DisplayHandle Display(object? value, string? mimeType)
    {
        string id;
        lock (_gate) id = $"display-{++_displayCounter}";
        Emit(new CellOutput(OutputKind.DisplayData, Data: Render(value, mimeType), DisplayId: id) { Value = value });
        return new DisplayHandle(this, id, mimeType);
    }

    internal void UpdateDisplay(string displayId, object? value, string? mimeType) =>
        Emit(new CellOutput(OutputKind.UpdateDisplayData, Data: Render(value, mimeType), DisplayId: displayId) { Value = value });

    internal void Emit(CellOutput output)
    {
        Action<CellOutput>? handler;
        lock (_gate)
        {
            output = output with { CellNumber = ExecutionCount };
            _current?.Add(output);
            handler = Output;
        }
        handler?.Invoke(output);
    }

    /// <summary>
    /// The mime bundle for a value: the requested mime type only, or the type's preferred mime types plus text/plain.
    /// Strings and primitive values are text/plain only.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Render(object? value, string? mimeType)
    {
        var data = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (value is null) { data["text/plain"] = "<null>"; return data; }
        if (mimeType is not null) { data[mimeType] = value.ToDisplayString(mimeType); return data; }
        var type = value.GetType();
        if (value is string s) { data["text/plain"] = s; return data; }
        if (type.IsPrimitive || value is decimal || type.IsEnum) { data["text/plain"] = value.ToDisplayString("text/plain"); return data; }
        foreach (var mime in Formatter.GetPreferredMimeTypesFor(type).Append("text/plain"))
            if (!data.ContainsKey(mime)) data[mime] = value.ToDisplayString(mime);
        return data;
    }

    static List<CellOutput> MergeStreams(List<CellOutput> outputs)
    {
        var merged = new List<CellOutput>();
        foreach (var o in outputs)
        {
            if (o.Kind is OutputKind.Stdout or OutputKind.Stderr && merged.Count > 0 && merged[^1].Kind == o.Kind)
                merged[^1] = merged[^1] with { Text = merged[^1].Text + o.Text };
            else merged.Add(o);
        }
        return merged;
    }

    static IEnumerable<MetadataReference> FrameworkReferences()
    {
        // The whole shared framework, as in .NET Interactive, so any BCL type is usable without #r.
        string dir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return Directory.EnumerateFiles(dir, "*.dll")
            .Where(p => Path.GetFileName(p) is var f && (f.StartsWith("System.", StringComparison.Ordinal) || f is "mscorlib.dll" or "netstandard.dll" or "Microsoft.CSharp.dll" or "Microsoft.VisualBasic.dll" or "Microsoft.Win32.Primitives.dll"))
            .Where(IsManaged)
            .Order(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p));
    }

    static bool IsManaged(string path)
    {
        try { System.Reflection.AssemblyName.GetAssemblyName(path); return true; }
        catch (BadImageFormatException) { return false; }
    }

    static bool _engineFormattersRegistered;
    static void RegisterEngineFormatters()
    {
        if (_engineFormattersRegistered) return;
        _engineFormattersRegistered = true;
        Formatter.Register<ProgressView>(p => p.ToString(), "text/plain");
        Formatter.Register<ProgressView>(p =>
            $"<div><progress value=\"{Math.Max(0, p.Done)}\" max=\"{Math.Max(1, p.Total)}\"></progress> <code>{WebUtility.HtmlEncode(p.ToString())}</code></div>", "text/html");
        Formatter.SetPreferredMimeTypesFor(typeof(ProgressView), "text/html", "text/plain");
    }

    /// <summary>Restores the previous progress sink factory.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Progress.SinkFactory = _previousSinkFactory;
    }


    /// <summary>Shows library progress as one display that is updated in place.</summary>
    sealed class DisplayProgressSink : IProgressSink
    {
        readonly NotebookSession _session; readonly string _title; readonly long _total;
        readonly Stopwatch _clock = Stopwatch.StartNew();
        readonly DisplayHandle _handle;
        TimeSpan _last = TimeSpan.Zero;
        long _done; string _message = "";

        public DisplayProgressSink(NotebookSession session, string title, long total)
        {
            _session = session; _title = title; _total = total;
            _handle = session.Display(View(), null);
        }

        ProgressView View() => new(_title, _done, _total, _message, _clock.Elapsed);

        public void Report(long done, string message)
        {
            _done = done; _message = message;
            if (_clock.Elapsed - _last < Progress.Interval && done < _total) return;
            _last = _clock.Elapsed;
            _handle.Update(View());
        }

        public void Dispose() => _handle.Update(View());
    }

    /// <summary>Turns writes to Console.Out/Error into stream outputs, one per completed line (the rest on flush).</summary>
    sealed class StreamCapture(NotebookSession session, OutputKind kind) : TextWriter
    {
        readonly StringBuilder _buffer = new();
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            string? line = null;
            lock (_buffer)
            {
                _buffer.Append(value);
                if (value == '\n') { line = _buffer.ToString(); _buffer.Clear(); }
            }
            if (line is not null) session.Emit(new CellOutput(kind, Text: line));
        }

        public override void Write(string? value)
        {
            if (string.IsNullOrEmpty(value)) return;
            string? lines = null;
            lock (_buffer)
            {
                _buffer.Append(value);
                int nl = LastNewline(_buffer);
                if (nl >= 0) { lines = _buffer.ToString(0, nl + 1); _buffer.Remove(0, nl + 1); }
            }
            if (lines is not null) session.Emit(new CellOutput(kind, Text: lines));
        }

        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

        static int LastNewline(StringBuilder sb)
        {
            for (int i = sb.Length - 1; i >= 0; i--) if (sb[i] == '\n') return i;
            return -1;
        }

        public override void Flush()
        {
            string? rest = null;
            lock (_buffer) { if (_buffer.Length > 0) { rest = _buffer.ToString(); _buffer.Clear(); } }
            if (rest is not null) session.Emit(new CellOutput(kind, Text: rest));
        }
    }
}
