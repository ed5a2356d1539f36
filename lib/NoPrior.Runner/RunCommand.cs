using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace NoPrior.Runner;

/// <summary><c>workbook run</c>: executes notebooks one after another (or <c>-j N</c> at once), each in its own child process with a timeout
/// (a TorchSharp native error aborts the whole process, so isolation keeps one notebook from taking down the run).</summary>
static class RunCommand
{
    /// <summary>Command-line options of <c>run</c>. <c>StatusFile</c> (<c>--status-file</c>): where to write the outcome
    /// as JSON when the run ends, what <c>workbook sweep</c> reads to tell finished and failed runs apart.
    /// <c>CheckTypes</c> false (<c>--no-type-check</c>, which sweep passes after checking every value once): the -p names
    /// are still checked, a value's type only when the injected cell compiles (saves the checker's ~2 s of startup).
    /// <c>Jobs</c> (<c>-j</c>): notebooks at once, each still in its own process.</summary>
    public sealed record Options(IReadOnlyList<string> Paths, string Out, IReadOnlyList<KeyValuePair<string, string>> Parameters, TimeSpan Timeout,
        string? StatusFile = null, bool CheckTypes = true, int Jobs = 1)
    {
        public static Options Parse(string[] args)
        {
            var paths = new List<string>(); var ps = new List<KeyValuePair<string, string>>();
            string @out = "out"; double timeout = 1800; string? status = null; bool checkTypes = true; int jobs = 1;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "-h" or "--help": throw new HelpRequested();
                    case "--out" or "-o": @out = Next(); break;
                    case "-p" or "--parameter": ps.Add(NoPrior.Runner.Parameters.ParseArgument(Next())); break;
                    case "--status-file": status = Path.GetFullPath(Next()); break;
                    case "--no-type-check": checkTypes = false; break;
                    case "-j" or "--jobs":
                        var j = Next();
                        if (!int.TryParse(j, NumberStyles.None, CultureInfo.InvariantCulture, out jobs) || jobs < 1)
                            throw new ArgumentException($"-j expects a whole number of notebooks at once (1 or more), got '{j}'.");
                        break;
                    case "--timeout":
                        var t = Next();
                        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out timeout) || timeout <= 0)
                            throw new ArgumentException($"--timeout expects a positive number of seconds, got '{t}'.");
                        break;
                    case var a when a.StartsWith('-'): throw new ArgumentException($"unknown option '{a}'.");
                    default: paths.Add(args[i]); break;
                }
            }
            return new Options(paths, Path.GetFullPath(@out), ps, TimeSpan.FromSeconds(timeout), status, checkTypes, jobs);
        }
    }

    /// <summary><c>run --help</c>: print the usage and succeed.</summary>
    public sealed class HelpRequested : Exception;

    sealed record Outcome(string Name, string Source, int CellsRun, int CellsTotal, TimeSpan Elapsed, string Status, string? Failure);

    public static async Task<int> RunAsync(Options o)
    {
        var notebooks = NotebookFiles.Find(o.Paths);
        if (notebooks.Count == 0) { Console.WriteLine("no notebooks to run."); return 0; }
        foreach (var nb in notebooks) NotebookFiles.OutputPaths(o.Out, nb); // fail before running anything
        // -p values: every name assigned in each parameters cell, every value of the parameter's type, before any notebook starts.
        if (o.Parameters.Count > 0)
            foreach (var nb in notebooks) NoPrior.Runner.Parameters.Inject(Ipynb.Load(nb), o.Parameters, Path.GetFileNameWithoutExtension(nb), o.CheckTypes);
        Program.Calibrate(quiet: true);  // before any notebook loads the machine (see MatMul.ChooseAll)
        // -j N: N notebooks at once (the cells of most notebooks run on one thread), longest first by the times of the
        // last run in this output folder (RunTimes); the table keeps the notebooks' order.
        var keys = notebooks.Select(nb => RunTimes.Key(nb, o.Parameters)).ToList();
        var times = RunTimes.Read(o.Out, Console.Error);
        bool reorder = o.Jobs > 1 && notebooks.Count > o.Jobs;
        var order = reorder ? RunTimes.StartOrder(keys, times) : Enumerable.Range(0, notebooks.Count).ToArray();
        if (reorder && times.Count > 0)
            Console.WriteLine($"start order, longest first by the last run's times ({Path.Combine(o.Out, RunTimes.FileName)}): "
                + RunTimes.Describe(notebooks.Select(nb => Path.GetFileNameWithoutExtension(nb)).ToList(), keys, order, times));
        var outcomes = new Outcome[notebooks.Count];
        await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = o.Jobs },
            async (k, _) => outcomes[k] = await RunOneAsync(notebooks[k], k + 1, notebooks.Count, o));
        RunTimes.Write(o.Out, times, Enumerable.Range(0, notebooks.Count).Where(k => outcomes[k].Failure is null)
            .ToDictionary(k => keys[k], k => outcomes[k].Elapsed.TotalSeconds));

        Console.WriteLine();
        int w = Math.Max(8, outcomes.Max(x => x.Name.Length));
        Console.WriteLine($"{"notebook".PadRight(w)}  {"cells",7}  {"seconds",8}  status");
        foreach (var x in outcomes)
            Console.WriteLine($"{x.Name.PadRight(w)}  {$"{x.CellsRun}/{x.CellsTotal}",7}  {ExecProtocol.Seconds(x.Elapsed),8}  {x.Status}");
        Console.WriteLine($"outputs: {Path.Combine(o.Out, "notebooks")}, {Path.Combine(o.Out, "html")}");
        var failed = outcomes.Where(x => x.Failure is not null).ToList();
        foreach (var f in failed) Console.Error.WriteLine($"FAILED {Path.GetRelativePath(Directory.GetCurrentDirectory(), f.Source)}: {f.Failure}");
        if (o.StatusFile is not null) WriteStatus(o.StatusFile, outcomes);
        return failed.Count == 0 ? 0 : 1;
    }

    /// <summary>The outcome as JSON (<c>--status-file</c>), written whole or not at all: <c>status</c> is "ok" when
    /// every notebook finished, else "failed"; each notebook with its status, failure, cells run and seconds.</summary>
    static void WriteStatus(string path, IReadOnlyList<Outcome> outcomes)
    {
        var json = new JsonObject
        {
            ["status"] = outcomes.All(x => x.Failure is null) ? "ok" : "failed",
            ["seconds"] = Math.Round(outcomes.Sum(x => x.Elapsed.TotalSeconds), 1),
            ["notebooks"] = new JsonArray(outcomes.Select(x => (JsonNode)new JsonObject
            {
                ["notebook"] = x.Name,
                ["source"] = x.Source,
                ["status"] = x.Status,
                ["failure"] = x.Failure,
                ["cells"] = $"{x.CellsRun}/{x.CellsTotal}",
                ["seconds"] = Math.Round(x.Elapsed.TotalSeconds, 1),
            }).ToArray()),
        };
        AtomicFile.WriteAllText(path, json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    static async Task<Outcome> RunOneAsync(string source, int k, int n, Options o)
    {
        string name = Path.GetFileNameWithoutExtension(source);
        var psi = RunnerProcess.StartInfo();
        psi.ArgumentList.Add(ExecProtocol.Name);
        psi.ArgumentList.Add(source);
        psi.ArgumentList.Add(o.Out);
        foreach (var (key, value) in o.Parameters) psi.ArgumentList.Add($"{key}={value}");
        psi.Environment["WORKBOOK_OUTPUT"] = o.Out;
        RunnerProcess.ShareCores(psi, Math.Min(o.Jobs, n));
        psi.RedirectStandardOutput = true; psi.RedirectStandardError = true; psi.UseShellExecute = false;

        var clock = Stopwatch.StartNew();
        int cellIndex = 0, cellsTotal = 0, codeIndex = 0, codeTotal = 0, cellsDone = 0;
        string? error = null;
        var lastErr = new List<string>();
        var gate = new object();
        // A notebook's own output, indented under its progress lines; named too when notebooks run side by side.
        string indent = o.Jobs > 1 ? $"    {name}| " : "    ";
        Console.WriteLine($"[{k}/{n}] {name}: starting");

        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (gate)
            {
                if (!e.Data.StartsWith(ExecProtocol.Marker, StringComparison.Ordinal)) { Console.WriteLine($"{indent}{e.Data}"); return; }
                var parts = e.Data[ExecProtocol.Marker.Length..].Split(' ', 6);
                switch (parts[0])
                {
                    case "cell":
                        cellIndex = int.Parse(parts[1], CultureInfo.InvariantCulture); cellsTotal = int.Parse(parts[2], CultureInfo.InvariantCulture);
                        codeIndex = int.Parse(parts[3], CultureInfo.InvariantCulture); codeTotal = int.Parse(parts[4], CultureInfo.InvariantCulture);
                        Console.WriteLine($"[{k}/{n}] {name}: cell [{codeIndex}] of {codeTotal} [{Elapsed(clock)}]");
                        break;
                    case "done" when parts[2] == "ok": cellsDone++; break;
                    case "error":
                        error = e.Data[ExecProtocol.Marker.Length..].Split(' ', 4)[3];
                        break;
                }
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (gate)
            {
                Console.Error.WriteLine($"{indent}{e.Data}");
                lastErr.Add(e.Data); if (lastErr.Count > 20) lastErr.RemoveAt(0);
            }
        };
        p.Start();
        p.BeginOutputReadLine(); p.BeginErrorReadLine();

        using var cts = new CancellationTokenSource(o.Timeout);
        var heartbeat = Task.Run(async () =>
        {
            // A long cell is otherwise silent unless the library reports progress: say which cell is still running.
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), cts.Token);
                    lock (gate) Console.WriteLine($"[{k}/{n}] {name}: still in cell [{codeIndex}] [{Elapsed(clock)}]");
                }
            }
            catch (OperationCanceledException) { }
        });
        bool timedOut = false;
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            timedOut = true;
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        p.WaitForExit(); // drains the redirected streams
        cts.Cancel();
        await heartbeat;

        string status; string? failure = null;
        if (timedOut)
        {
            status = $"timed out in cell [{codeIndex}]";
            failure = $"timed out in cell [{codeIndex}] after {ExecProtocol.Seconds(o.Timeout)} s (--timeout)";
            Patch(source, o.Out, cellIndex, "Timeout", $"the notebook did not finish within {ExecProtocol.Seconds(o.Timeout)} s; stopped in this cell");
        }
        else if (p.ExitCode == 0) status = "ok";
        else if (error is not null) { status = $"error in cell [{codeIndex}]"; failure = error; }
        else if (cellIndex == 0)
        {
            status = "did not start";
            failure = string.Join(" ", lastErr.Where(l => l.StartsWith("workbook:", StringComparison.Ordinal)).DefaultIfEmpty($"exit code {p.ExitCode}"));
        }
        else
        {
            status = $"crashed in cell [{codeIndex}]";
            failure = $"crashed in cell [{codeIndex}]: the notebook process exited with code {p.ExitCode} (a native crash?); last output: {string.Join(" | ", lastErr.TakeLast(3))}";
            Patch(source, o.Out, cellIndex, "ProcessCrashed", $"the notebook process exited with code {p.ExitCode} while running this cell");
        }
        Console.WriteLine($"[{k}/{n}] {name}: {status} [{Elapsed(clock)}]");
        return new Outcome(name, source, cellsDone, codeTotal, clock.Elapsed, status, failure);
    }

    /// <summary>After a timeout or crash, record the error in the executed copy (written by the child up to the last
    /// finished cell) and render its HTML, so the failure is visible where the reader looks.</summary>
    static void Patch(string source, string outDir, int cellIndex, string ename, string message)
    {
        var (ipynb, html) = NotebookFiles.OutputPaths(outDir, source);
        if (!File.Exists(ipynb) || cellIndex <= 0) return;
        var nb = Ipynb.Load(ipynb);
        if (Ipynb.Cells(nb)[cellIndex - 1] is JsonObject cell && cell["outputs"] is JsonArray outs)
            outs.Add(Ipynb.ErrorOutput(ename, message, [message]));
        Ipynb.Save(nb, ipynb);
        NotebookTrust.TrySign(ipynb, Console.Error);
        Directory.CreateDirectory(Path.GetDirectoryName(html)!);
        HtmlRenderer.Write(nb, Path.GetFileNameWithoutExtension(source), html);
    }

    static string Elapsed(Stopwatch c) => c.Elapsed.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
