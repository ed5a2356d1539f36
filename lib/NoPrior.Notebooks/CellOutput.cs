namespace NoPrior.Notebooks;

/// <summary>The kinds of output a cell produces, named after Jupyter's messages and nbformat's output types.</summary>
public enum OutputKind
{
    /// <summary>Text written to standard output during the cell (stream "stdout").</summary>
    Stdout,
    /// <summary>Text written to standard error during the cell (stream "stderr").</summary>
    Stderr,
    /// <summary>A value shown with <c>display(...)</c> (or a progress display).</summary>
    DisplayData,
    /// <summary>A new rendering for an earlier display, identified by <see cref="CellOutput.DisplayId"/>.</summary>
    UpdateDisplayData,
    /// <summary>The value of the cell's trailing expression.</summary>
    ExecuteResult,
    /// <summary>A compile error, a rejected directive or a runtime exception; the cell failed.</summary>
    Error,
}

/// <summary>One output of a cell.</summary>
/// <param name="Kind">What kind of output this is.</param>
/// <param name="Text">Stream text for <see cref="OutputKind.Stdout"/> and <see cref="OutputKind.Stderr"/>.</param>
/// <param name="Data">Mime bundle (mime type → rendered text; <c>image/png</c> is base64) for display and results.</param>
/// <param name="DisplayId">Display id for displays and their updates (as in Jupyter's <c>transient.display_id</c>).</param>
/// <param name="ErrorName">Error class: "CompilationError", "DirectiveError" or the exception's type name.</param>
/// <param name="ErrorValue">The error message, prefixed with the cell number.</param>
/// <param name="Traceback">Error details, one line per entry.</param>
public sealed record CellOutput(
    OutputKind Kind,
    string? Text = null,
    IReadOnlyDictionary<string, string>? Data = null,
    string? DisplayId = null,
    string? ErrorName = null,
    string? ErrorValue = null,
    IReadOnlyList<string>? Traceback = null)
{
    /// <summary>The number of the cell (execution count) that produced this output.</summary>
    public int CellNumber { get; init; }

    /// <summary>The .NET value that was displayed, for in-process front ends (never serialised).</summary>
    public object? Value { get; init; }
}

/// <summary>The outcome of executing one cell.</summary>
/// <param name="CellNumber">Execution count of the cell (1 for the first cell run in the session).</param>
/// <param name="Success">False when the cell produced an error output.</param>
/// <param name="Outputs">All outputs in order (stream text merged into chunks).</param>
/// <param name="Elapsed">Wall time of the cell.</param>
public sealed record CellResult(int CellNumber, bool Success, IReadOnlyList<CellOutput> Outputs, TimeSpan Elapsed)
{
    /// <summary>The error output when <see cref="Success"/> is false.</summary>
    public CellOutput? Error => Outputs.LastOrDefault(o => o.Kind == OutputKind.Error);
}
