using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NoPrior.Runner;

/// <summary>
/// <c>workbook sweep</c>: one notebook run over a grid (or a seeded random sample) of parameter values, each run a
/// separate <c>workbook run</c> process with its own output folder <c>&lt;out&gt;/runs/&lt;id&gt;</c>, here (<c>-j N</c> at
/// once) or as a Slurm job array; finished runs are skipped on restart, and the runs' results JSON are collected into
/// <c>summary.csv</c> and <c>summary.html</c>.
/// </summary>
public static class SweepCommand
{
    /// <summary>Command-line options of <c>sweep</c>.</summary>
    public sealed record Options(
        string? Notebook, IReadOnlyList<KeyValuePair<string, string>> Parameters, int? Random, int Seed, string? Out,
        int? Jobs, TimeSpan Timeout, string Scheduler, bool SubmitOnly, bool ScriptOnly, string? Collect, string? Sort, TimeSpan Poll)
    {
        /// <summary>Parses the arguments after <c>sweep</c>; messages name the bad option or value.</summary>
        public static Options Parse(string[] args)
        {
            var paths = new List<string>(); var ps = new List<KeyValuePair<string, string>>();
            int? random = null, jobs = null; int seed = 0; string? @out = null, collect = null, sort = null;
            double timeout = 1800, poll = 5; string scheduler = "local"; bool submitOnly = false, scriptOnly = false;
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                int Int(string option, int min)
                {
                    var v = Next();
                    return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
                        ? n : throw new ArgumentException($"{option} expects an integer ≥ {min}, got '{v}'.");
                }
                double Seconds(string option)
                {
                    var v = Next();
                    return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0
                        ? s : throw new ArgumentException($"{option} expects a positive number of seconds, got '{v}'.");
                }
                switch (args[i])
                {
                    case "-h" or "--help": throw new HelpRequested();
                    case "-p" or "--parameter": ps.Add(NoPrior.Runner.Parameters.ParseArgument(Next())); break;
                    case "--random": random = Int("--random", 1); break;
                    case "--seed": seed = Int("--seed", 0); break;
                    case "--out" or "-o": @out = Next(); break;
                    case "-j" or "--jobs": jobs = Int(args[i], 1); break;
                    case "--timeout": timeout = Seconds("--timeout"); break;
                    case "--poll": poll = Seconds("--poll"); break;
                    case "--scheduler":
                        scheduler = Next();
                        if (scheduler is not ("local" or "slurm")) throw new ArgumentException($"--scheduler '{scheduler}' is not known; use local or slurm.");
                        break;
                    case "--submit-only": submitOnly = true; break;
                    case "--script-only": scriptOnly = true; break;
                    case "--collect": collect = Next(); break;
                    case "--sort": sort = Next(); break;
                    case var a when a.StartsWith('-') && a.Length > 1: throw new ArgumentException($"unknown option '{a}'.");
                    default: paths.Add(args[i]); break;
                }
            }
            if (collect is not null && (paths.Count > 0 || ps.Count > 0))
                throw new ArgumentException("--collect DIR summarises an existing sweep; it takes no notebook or -p values.");
            if (collect is null && paths.Count != 1)
                throw new ArgumentException(paths.Count == 0 ? "sweep needs a notebook: workbook sweep NOTEBOOK -p name=v1,v2 …" : $"sweep takes one notebook, got {paths.Count}: {string.Join(", ", paths)}.");
            if ((submitOnly || scriptOnly) && scheduler != "slurm") throw new ArgumentException("--submit-only and --script-only go with --scheduler slurm.");
            if (random is null && seed != 0) throw new ArgumentException("--seed goes with --random K.");
            return new Options(paths.FirstOrDefault(), ps, random, seed, @out, jobs, TimeSpan.FromSeconds(timeout), scheduler,
                submitOnly, scriptOnly, collect, sort, TimeSpan.FromSeconds(poll));
        }
    }

    /// <summary><c>sweep --help</c>: print the usage and succeed.</summary>
    public sealed class HelpRequested : Exception;

    /// <summary>Runs the command; 0 when every run finished, 1 when some failed or did not run, 2 for bad input (thrown).</summary>
    public static async Task<int> RunAsync(Options o)
    {
        if (o.Collect is not null)
        {
            string dir = Path.GetFullPath(o.Collect);
            var definition = Path.Combine(dir, "sweep.json");
            if (!File.Exists(definition)) throw new FileNotFoundException($"--collect {o.Collect}: no sweep.json there (not a sweep folder).");
            var (nb, _, saved) = SweepPlan.FromJson(definition);
            return Report(dir, Path.GetFileNameWithoutExtension(nb), saved, o.Sort);
        }

        var found = NotebookFiles.Find([o.Notebook!]);
        if (found.Count != 1) throw new ArgumentException($"sweep takes one notebook; '{o.Notebook}' holds {found.Count}.");
        string notebook = found[0], name = Path.GetFileNameWithoutExtension(notebook);
        var axes = SweepPlan.Axes(o.Parameters);
        var runs = SweepPlan.Expand(axes, o.Random, o.Seed);
        CheckTypes(notebook, axes, runs);

        string sweepDir = Path.GetFullPath(o.Out ?? Path.Combine("out", "sweeps", name));
        Directory.CreateDirectory(Path.Combine(sweepDir, "runs"));
        File.WriteAllText(Path.Combine(sweepDir, "sweep.json"), SweepPlan.ToJson(notebook, runs, o.Timeout).ToJsonString(SweepPlan.Indented));
        long grid = SweepPlan.GridSize(axes);
        string shape = axes.Count == 0 ? "no parameters" : string.Join(" × ", axes.Select(a => a.Range is { } r ? $"{a.Name} ({r.Text})" : $"{a.Name} ({a.Values.Count})"));
        Console.WriteLine(o.Random is { } k && axes.Any(a => a.Range is not null)
            ? $"sweep of {name}: {runs.Count} runs drawn from {shape} (--random {k} --seed {o.Seed}) → {sweepDir}"
            : o.Random is { } k2 && k2 < grid
            ? $"sweep of {name}: {runs.Count} runs drawn from the grid {shape} = {grid} points (--random {k2} --seed {o.Seed}) → {sweepDir}"
            : $"sweep of {name}: {runs.Count} runs, the grid {shape} → {sweepDir}");

        AdoptFinishedRuns(sweepDir, runs);
        var pending = runs.Where(r => RunStatus.Read(SweepSummary.RunDirectory(sweepDir, r)).State != "ok").ToList();
        if (pending.Count < runs.Count) Console.WriteLine($"{runs.Count - pending.Count} finished run(s) skipped (their status.json says ok); {pending.Count} to run.");

        if (o.Scheduler == "slurm")
        {
            var slurm = new SlurmSweep(sweepDir, notebook, runs, o.Timeout, o.Jobs, o.Poll); // no -j: as many at once as Slurm allows
            string script = slurm.WriteScript();
            Console.WriteLine($"Slurm script: {script}");
            if (o.ScriptOnly)
            {
                Console.WriteLine($"submit it with: {SlurmSweep.SubmitCommandLine(script, pending, o.Jobs)}");
                Console.WriteLine($"then summarise with: ./workbook sweep --collect {sweepDir}");
                return 0;
            }
            if (pending.Count > 0)
            {
                string job = await slurm.SubmitAsync(pending);
                if (o.SubmitOnly)
                {
                    Console.WriteLine($"submitted; follow it with squeue -j {job}, then summarise with: ./workbook sweep --collect {sweepDir}");
                    return 0;
                }
                await slurm.WaitAsync(job, pending);
            }
        }
        else if (pending.Count > 0)
        {
            Program.Calibrate(quiet: true);  // before the runs load the machine (see MatMul.ChooseAll)
            await RunLocallyAsync(sweepDir, notebook, runs.Count, pending, o);
        }

        return Report(sweepDir, name, runs, o.Sort);
    }

    /// <summary>
    /// Checks the values against the notebook's parameters cell before anything starts (as <c>run</c> does for one):
    /// every listed value, and for each range its smallest and largest values when it is an integer range, and
    /// the value its first run drew (all its draws are literals of one type, a double or an integer) (a <c>byte</c> or <c>int</c>
    /// parameter rejects constants outside its range). A rejected range value names the range it was drawn from.
    /// </summary>
    public static void CheckTypes(string notebook, IReadOnlyList<SweepAxis> axes, IReadOnlyList<SweepRun> runs)
    {
        string name = Path.GetFileNameWithoutExtension(notebook);
        var listed = axes.Where(a => a.Range is null).SelectMany(a => a.Values.Select(v => KeyValuePair.Create(a.Name, v))).ToList();
        if (listed.Count > 0) NoPrior.Runner.Parameters.Inject(Ipynb.Load(notebook), listed, name);
        foreach (var a in axes)
        {
            if (a.Range is not { } r) continue;
            var samples = new List<string>();
            if (r.IsInteger) samples.AddRange([((long)r.Low).ToString(CultureInfo.InvariantCulture), ((long)r.High - 1).ToString(CultureInfo.InvariantCulture)]);
            samples.Add(runs[0][a.Name]);
            foreach (var v in samples.Distinct())
            {
                try { NoPrior.Runner.Parameters.Inject(Ipynb.Load(notebook), [KeyValuePair.Create(a.Name, v)], name); }
                catch (ArgumentException e)
                {
                    string hint = r.IsInteger ? "" : "; int:LOW:HIGH and intlog:LOW:HIGH draw integers";
                    throw new ArgumentException($"{e.Message} The value {v} is drawn from -p {a.Name}={r.Text}{hint}.", e);
                }
            }
        }
    }

    /// <summary>
    /// A finished run whose folder has another name with the same hash (the same values, but a different set of swept
    /// parameters, e.g. one list shortened to a single value) is renamed to the run's id, so it is not run again.
    /// </summary>
    static void AdoptFinishedRuns(string sweepDir, IReadOnlyList<SweepRun> runs)
    {
        string root = Path.Combine(sweepDir, "runs");
        var existing = Directory.EnumerateDirectories(root).Select(d => Path.GetFileName(d)!).ToList();
        foreach (var r in runs)
        {
            if (Directory.Exists(Path.Combine(root, r.Id))) continue;
            var old = existing.FirstOrDefault(n => SweepPlan.HashOf(n) == SweepPlan.HashOf(r.Id) && RunStatus.Read(Path.Combine(root, n)).State == "ok");
            if (old is null) continue;
            Directory.Move(Path.Combine(root, old), Path.Combine(root, r.Id));
            existing.Remove(old);
        }
    }

    /// <summary>Writes the summary, prints it as a table with the failures, and returns the exit code.</summary>
    static int Report(string sweepDir, string notebook, IReadOnlyList<SweepRun> runs, string? sort)
    {
        var rows = SweepSummary.Write(sweepDir, notebook, runs, sort);
        var shown = new List<string> { "id", "status", "seconds" };
        if (sort is not null && !shown.Contains(sort.TrimStart('-'))) shown.Add(sort.TrimStart('-'));
        var table = rows.Select(r => shown.Select(c => SweepSummary.Value(r, c)?.Text ?? "").ToArray()).ToList();
        var widths = shown.Select((c, i) => Math.Max(c.Length, table.Select(t => t[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        Console.WriteLine();
        Console.WriteLine(string.Join("  ", shown.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        foreach (var t in table) Console.WriteLine(string.Join("  ", t.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        int ok = rows.Count(r => r.Status.State == "ok");
        Console.WriteLine($"{ok} ok, {rows.Count(r => r.Status.State == "failed")} failed, {rows.Count(r => r.Status.State == "not run")} not run, of {rows.Count}");
        Console.WriteLine($"summary: {Path.Combine(sweepDir, "summary.csv")}, {Path.Combine(sweepDir, "summary.html")}");
        foreach (var r in rows.Where(r => r.Status.State == "failed"))
            Console.Error.WriteLine($"FAILED {r.Run.Id}: {r.Status.Failure} (log: {Path.Combine(SweepSummary.RunDirectory(sweepDir, r.Run), "run.log")})");
        return ok == rows.Count ? 0 : 1;
    }

    /// <summary>The command line of one run: <c>workbook run NOTEBOOK --out runs/&lt;id&gt; --timeout T --status-file …
    /// --no-type-check -p …</c> (the sweep has type-checked every value once).</summary>
    public static IReadOnlyList<string> RunArguments(string notebook, string runDirectory, TimeSpan timeout, SweepRun run)
    {
        var args = new List<string> { "run", notebook, "--out", runDirectory, "--timeout", timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            "--status-file", Path.Combine(runDirectory, RunStatus.FileName), "--no-type-check" };
        foreach (var (key, value) in run.Parameters) { args.Add("-p"); args.Add($"{key}={value}"); }
        return args;
    }

    /// <summary>The runner itself as a command: its apphost, or <c>dotnet …/workbook.dll</c>.</summary>
    public static IReadOnlyList<string> Runner()
    {
        var psi = RunnerProcess.StartInfo();
        return [psi.FileName, .. psi.ArgumentList];
    }

    static async Task RunLocallyAsync(string sweepDir, string notebook, int total, IReadOnlyList<SweepRun> pending, Options o)
    {
        int skipped = total - pending.Count, done = 0, failed = 0;
        var running = new Dictionary<string, Stopwatch>();
        var gate = new object();
        string Counts() => $"[sweep: {skipped + done} done, {failed} failed, {running.Count} running, {total - skipped - done - failed - running.Count} queued, of {total}]";

        using var stop = new CancellationTokenSource();
        var heartbeat = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(60), stop.Token);
                    lock (gate) Console.WriteLine($"{Counts()} still running: {string.Join(", ", running.Select(r => $"{r.Key} ({r.Value.Elapsed:hh\\:mm\\:ss})"))}");
                }
            }
            catch (OperationCanceledException) { }
        });

        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = o.Jobs ?? 1 }, async (run, _) =>
        {
            string dir = SweepSummary.RunDirectory(sweepDir, run);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); // what an earlier, failed or interrupted attempt left
            Directory.CreateDirectory(dir);
            var clock = Stopwatch.StartNew();
            lock (gate) { running[run.Id] = clock; Console.WriteLine($"{Counts()} {run.Id}: starting"); }

            var runner = Runner();
            var psi = new ProcessStartInfo(runner[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in runner.Skip(1).Concat(RunArguments(notebook, dir, o.Timeout, run))) psi.ArgumentList.Add(a);
            RunnerProcess.ShareCores(psi, Math.Min(o.Jobs ?? 1, pending.Count));
            using var log = new StreamWriter(Path.Combine(dir, "run.log")) { AutoFlush = true };
            log.WriteLine($"$ {string.Join(' ', runner.Concat(RunArguments(notebook, dir, o.Timeout, run)).Select(SlurmSweep.ShellQuote))}");
            using var p = new Process { StartInfo = psi };
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
            p.Start();
            p.BeginOutputReadLine(); p.BeginErrorReadLine();
            await p.WaitForExitAsync();
            p.WaitForExit();

            var status = RunStatus.Read(dir);
            if (status.State == "not run")
            {
                // The run command stopped before writing its status (bad arguments, killed): its last lines say why.
                var tail = File.ReadLines(Path.Combine(dir, "run.log")).Where(l => l.Length > 0).TakeLast(3);
                RunStatus.WriteFailure(dir, $"{Path.GetFileName(notebook)}: workbook run exited with code {p.ExitCode} without a status: {string.Join(" | ", tail)}", clock.Elapsed.TotalSeconds);
                status = RunStatus.Read(dir);
            }
            lock (gate)
            {
                running.Remove(run.Id);
                if (status.State == "ok") { done++; Console.WriteLine($"{Counts()} {run.Id}: ok [{ExecProtocol.Seconds(clock.Elapsed)} s]"); }
                else
                {
                    failed++;
                    Console.WriteLine($"{Counts()} {run.Id}: FAILED [{ExecProtocol.Seconds(clock.Elapsed)} s] {status.Failure}");
                }
            }
        });
        stop.Cancel();
        await heartbeat;
    }
}
