namespace NoPrior.Kernel;

/// <summary>The kinds of output a cell produces; each maps to one iopub message type.</summary>
public enum KernelOutputKind
{
    /// <summary>iopub <c>stream</c> with name "stdout".</summary>
    Stdout,
    /// <summary>iopub <c>stream</c> with name "stderr".</summary>
    Stderr,
    /// <summary>iopub <c>display_data</c> (with <c>transient.display_id</c> when the display can be updated).</summary>
    DisplayData,
    /// <summary>iopub <c>update_display_data</c> for an earlier display with the same display id.</summary>
    UpdateDisplayData,
    /// <summary>iopub <c>execute_result</c>: the cell's trailing expression.</summary>
    ExecuteResult,
    /// <summary>iopub <c>error</c>; the cell failed and its execute_reply carries the same fields.</summary>
    Error,
}

/// <summary>One output of a running cell, as the protocol layer forwards it to iopub.</summary>
/// <param name="Kind">Which iopub message this becomes.</param>
/// <param name="Text">Stream text.</param>
/// <param name="Data">Mime bundle (mime type → text; JSON mime types hold JSON text; images are base64).</param>
/// <param name="DisplayId">Display id of a display or of the display an update replaces.</param>
/// <param name="ErrorName">ename of an error.</param>
/// <param name="ErrorValue">evalue of an error.</param>
/// <param name="Traceback">traceback lines of an error.</param>
public sealed record KernelOutput(
    KernelOutputKind Kind,
    string? Text = null,
    IReadOnlyDictionary<string, string>? Data = null,
    string? DisplayId = null,
    string? ErrorName = null,
    string? ErrorValue = null,
    IReadOnlyList<string>? Traceback = null);

/// <summary>
/// What the protocol layer needs from a C# engine: run one cell at a time in a persistent state, reporting outputs
/// as they happen. Lets the protocol be tested without Roslyn or TorchSharp (with a fake) and keeps the kernel
/// independent of how cells are executed.
/// </summary>
public interface ICellExecutor : IDisposable
{
    /// <summary>Execution count of the last executed cell (0 before the first).</summary>
    int ExecutionCount { get; }

    /// <summary>Runs a cell. Never throws for a failing cell: failures are reported as an <see cref="KernelOutputKind.Error"/> output.</summary>
    /// <param name="code">The cell's source.</param>
    /// <param name="output">Called for every output, in order, possibly from other threads.</param>
    /// <param name="cancellationToken">Cancelled by an interrupt_request; the cell should end with an error output.</param>
    /// <returns>The cell's execution count.</returns>
    Task<int> ExecuteAsync(string code, Action<KernelOutput> output, CancellationToken cancellationToken);

    /// <summary>Completion candidates at a cursor position, given everything executed so far.</summary>
    /// <param name="code">The cell being edited.</param>
    /// <param name="cursorPosition">Cursor offset in UTF-16 code units (protocol 5.2+ counts unicode code points; equal for BMP text).</param>
    CompletionResult Complete(string code, int cursorPosition);
}

/// <summary>Completion candidates that replace <c>code[CursorStart..CursorEnd]</c>.</summary>
/// <param name="Matches">Candidate texts, sorted.</param>
/// <param name="CursorStart">Start of the text the candidates replace.</param>
/// <param name="CursorEnd">End of the text the candidates replace.</param>
public sealed record CompletionResult(IReadOnlyList<string> Matches, int CursorStart, int CursorEnd);
