using NoPrior.Notebooks;
namespace NoPrior.Kernel.Tests;

/// <summary>
/// A stand-in engine with a tiny command language, so the protocol layer is tested without Roslyn or TorchSharp:
/// <c>print X</c>, <c>eprint X</c>, <c>display X</c> (then updates it), <c>value X</c>, <c>fail X</c>, <c>hang</c> (until cancelled).
/// </summary>
sealed class FakeExecutor : ICellExecutor
{
    readonly CSharpCodeAnalysis _analysis = new(["System"], null, CSharpCodeAnalysis.LoadedAssemblyReferences);
    public int ExecutionCount { get; private set; }
    public bool Disposed { get; private set; }

    public async Task<int> ExecuteAsync(string code, Action<CellOutput> output, CancellationToken cancellationToken)
    {
        int count = ++ExecutionCount;
        foreach (var line in code.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var (verb, arg) = line.IndexOf(' ') is var i and >= 0 ? (line[..i], line[(i + 1)..]) : (line, "");
            switch (verb)
            {
                case "print": output(new CellOutput(OutputKind.Stdout, Text: arg + "\n")); break;
                case "eprint": output(new CellOutput(OutputKind.Stderr, Text: arg + "\n")); break;
                case "display":
                    output(new CellOutput(OutputKind.DisplayData, Data: new Dictionary<string, string> { ["text/plain"] = arg, ["text/html"] = $"<b>{arg}</b>" }, DisplayId: "d1"));
                    output(new CellOutput(OutputKind.UpdateDisplayData, Data: new Dictionary<string, string> { ["text/plain"] = arg + "!" }, DisplayId: "d1"));
                    break;
                case "value": output(new CellOutput(OutputKind.ExecuteResult, Data: new Dictionary<string, string> { ["text/plain"] = arg, ["application/json"] = "{\"v\": 1}" })); break;
                case "fail": output(new CellOutput(OutputKind.Error, ErrorName: "FakeError", ErrorValue: arg, Traceback: ["at fake", arg])); return count;
                case "hang":
                    try { await Task.Delay(Timeout.Infinite, cancellationToken); }
                    catch (OperationCanceledException) { output(new CellOutput(OutputKind.Error, ErrorName: "OperationCanceledException", ErrorValue: "the cell was cancelled", Traceback: [])); return count; }
                    break;
                default: _analysis.RecordExecuted(line); break;
            }
        }
        return count;
    }

    public CompletionResult Complete(string code, int cursorPosition) => _analysis.Complete(code, cursorPosition);

    public void Dispose() => Disposed = true;
}
