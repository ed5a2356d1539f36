using System.Diagnostics;
using System.Text.Json.Nodes;
using NoPrior.Notebooks;

namespace NoPrior.Runner;

/// <summary>
/// The child-process side of <c>run</c>: executes one notebook in this process and writes its executed copy after
/// every cell (so a native crash still leaves the cells before it) and its HTML at the end. Talks to the parent
/// through marker lines on standard output; library progress and errors go to standard error.
/// </summary>
static class ExecCommand
{
    /// <summary>args: notebook, out dir, then name=value parameters.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 2) throw new ArgumentException($"{ExecProtocol.Name} needs a notebook and an output folder.");
        string source = Path.GetFullPath(args[0]), outDir = Path.GetFullPath(args[1]);
        var parameters = args[2..].Select(Parameters.ParseArgument).ToList();
        string name = Path.GetFileNameWithoutExtension(source);
        var (ipynbPath, htmlPath) = NotebookFiles.OutputPaths(outDir, source);

        var nb = Ipynb.PrepareExecutedCopy(Ipynb.Load(source));
        Parameters.Inject(nb, parameters, name, checkTypes: false); // the parent checked the values' types before starting
        nb = Ipynb.PrepareExecutedCopy(nb); // gives the injected cell a place among the ids
        Ipynb.Save(nb, ipynbPath);

        var realOut = Console.Out; var realErr = Console.Error;
        var cells = Ipynb.Cells(nb);
        int totalCode = cells.Count(c => Ipynb.CellType(c!) == "code");
        var displays = new Dictionary<string, JsonObject>();
        int exit = 0, codeIndex = 0;
        using (var session = new NotebookSession(Path.GetDirectoryName(source)!))
        {
            // Library progress and errors reach the terminal live; everything else lands in the executed notebook.
            session.Output += o =>
            {
                if (o.Value is ProgressView p) realErr.WriteLine($"    {p}");
            };
            for (int i = 0; i < cells.Count; i++)
            {
                var cell = (JsonObject)cells[i]!;
                if (Ipynb.CellType(cell) != "code") continue;
                codeIndex++;
                realOut.WriteLine($"{ExecProtocol.Marker}cell {i + 1} {cells.Count} {codeIndex} {totalCode}");
                realOut.Flush();
                var result = await session.ExecuteCellAsync(Ipynb.Source(cell));
                cell["execution_count"] = result.CellNumber;
                Ipynb.AddOutputs(cell, result.Outputs, displays);
                Ipynb.Save(nb, ipynbPath);
                realOut.WriteLine($"{ExecProtocol.Marker}done {i + 1} {(result.Success ? "ok" : "error")} {ExecProtocol.Seconds(result.Elapsed)}");
                if (!result.Success)
                {
                    var e = result.Error!;
                    realErr.WriteLine($"{e.ErrorName}: {e.ErrorValue}");
                    // "ExternalException in cell [4], line 2: …": the engine's error value names the cell as Jupyter shows it.
                    realOut.WriteLine($"{ExecProtocol.Marker}error {i + 1} {result.CellNumber} {ExecProtocol.OneLine(e.ErrorName + " in " + e.ErrorValue)}");
                    exit = 1;
                    break;
                }
            }
        }
        realOut.Flush();
        // Static images of the charts for untrusted views, then the signature that makes ./workbook notebook trust the file.
        if (ChartFallbacks.Add(nb, realErr) > 0) Ipynb.Save(nb, ipynbPath);
        NotebookTrust.TrySign(ipynbPath, realErr);
        Directory.CreateDirectory(Path.GetDirectoryName(htmlPath)!);
        HtmlRenderer.Write(nb, name, htmlPath);
        return exit;
    }
}
