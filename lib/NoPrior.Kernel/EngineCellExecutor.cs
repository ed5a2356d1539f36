using NoPrior.Notebooks;

namespace NoPrior.Kernel;

/// <summary>
/// Runs cells on the workbook's notebook engine (<see cref="NotebookSession"/>: Roslyn scripting with the .NET
/// Interactive C# kernel's semantics), so interactive use and <c>./workbook run</c> execute notebooks identically.
/// </summary>
public sealed class EngineCellExecutor : ICellExecutor
{
    readonly NotebookSession _session;
    readonly CSharpCodeAnalysis _analysis;
    readonly object _gate = new();
    Action<CellOutput>? _sink;

    /// <summary>A fresh session whose cells run in <paramref name="notebookDirectory"/> (the base of relative <c>#r</c> paths).</summary>
    public EngineCellExecutor(string notebookDirectory)
    {
        _session = new NotebookSession(notebookDirectory);
        _session.Output += output =>
        {
            Action<CellOutput>? sink;
            lock (_gate) sink = _sink;
            sink?.Invoke(output);
        };
        _analysis = new CSharpCodeAnalysis(NotebookSession.DefaultImports, typeof(NotebookGlobals), CSharpCodeAnalysis.LoadedAssemblyReferences);
    }

    /// <inheritdoc />
    public int ExecutionCount => _session.ExecutionCount;

    /// <inheritdoc />
    public async Task<int> ExecuteAsync(string code, Action<CellOutput> output, CancellationToken cancellationToken)
    {
        // The sink is kept after the cell ends: output from work the cell left running (a timer, an interrupted
        // loop) still reaches the front end, attributed to the last request.
        lock (_gate) _sink = output;
        var result = await _session.ExecuteCellAsync(code, cancellationToken);
        // A cell that threw at run time still declared what ran before the throw (the engine keeps that state);
        // one that did not compile declared nothing.
        if (result.Success || result.Error?.ErrorName is not ("CompilationError" or "DirectiveError" or "Interrupted"))
            _analysis.RecordExecuted(code);
        return result.CellNumber;
    }

    /// <inheritdoc />
    public CompletionResult Complete(string code, int cursorPosition) => _analysis.Complete(code, cursorPosition);

    /// <inheritdoc />
    public string? Inspect(string code, int cursorPosition) => _analysis.Inspect(code, cursorPosition);


    /// <summary>Ends the session.</summary>
    public void Dispose() => _session.Dispose();
}
