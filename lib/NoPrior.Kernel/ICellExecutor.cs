using NoPrior.Notebooks;

namespace NoPrior.Kernel;

/// <summary>
/// What the protocol layer needs from a C# engine: run one cell at a time in a persistent state, reporting outputs
/// as they happen. Lets the protocol be tested without Roslyn or TorchSharp (with a fake) and keeps the kernel
/// independent of how cells are executed.
/// </summary>
public interface ICellExecutor : IDisposable
{
    /// <summary>Execution count of the last executed cell (0 before the first).</summary>
    int ExecutionCount { get; }

    /// <summary>Runs a cell. Never throws for a failing cell: failures are reported as an <see cref="OutputKind.Error"/> output.</summary>
    /// <param name="code">The cell's source.</param>
    /// <param name="output">Called for every output, in order, possibly from other threads.</param>
    /// <param name="cancellationToken">Cancelled by an interrupt_request; the cell should end with an error output.</param>
    /// <returns>The cell's execution count.</returns>
    Task<int> ExecuteAsync(string code, Action<CellOutput> output, CancellationToken cancellationToken);

    /// <summary>Completion candidates at a cursor position, given everything executed so far.</summary>
    /// <param name="code">The cell being edited.</param>
    /// <param name="cursorPosition">Cursor offset in UTF-16 code units (protocol 5.2+ counts unicode code points; equal for BMP text).</param>
    CompletionResult Complete(string code, int cursorPosition);

    /// <summary>Plain-text help for the symbol at a cursor position (Shift-Tab), or null when there is none.</summary>
    string? Inspect(string code, int cursorPosition) => null;
}

/// <summary>Completion candidates that replace <c>code[CursorStart..CursorEnd]</c>.</summary>
/// <param name="Matches">Candidate texts, sorted.</param>
/// <param name="CursorStart">Start of the text the candidates replace.</param>
/// <param name="CursorEnd">End of the text the candidates replace.</param>
public sealed record CompletionResult(IReadOnlyList<string> Matches, int CursorStart, int CursorEnd);
