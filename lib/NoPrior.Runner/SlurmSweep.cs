using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NoPrior.Runner;

/// <summary>
/// <c>workbook sweep --scheduler slurm</c>: the runs as one Slurm job array. <c>sweep.sbatch</c> (plain bash, meant to be
/// read and edited) maps each array index to its run folder and <c>-p</c> values and runs the same <c>workbook run</c>
/// command a local sweep runs; it is submitted with <c>sbatch --array=&lt;unfinished indices&gt;%J</c>, and the sweep waits,
/// polling <c>squeue</c> and the runs' status files, until the array has left the queue.
/// </summary>
public sealed partial class SlurmSweep(string sweepDirectory, string notebook, IReadOnlyList<SweepRun> runs, TimeSpan timeout, int? jobs, TimeSpan poll)
{
    string ScriptPath => Path.Combine(sweepDirectory, "sweep.sbatch");
    string LogDirectory => Path.Combine(sweepDirectory, "slurm");

    /// <summary>Writes <c>sweep.sbatch</c> (and creates <c>slurm/</c> for the tasks' logs); returns its path.</summary>
    public string WriteScript()
    {
        Directory.CreateDirectory(LogDirectory);
        File.WriteAllText(ScriptPath, Script(sweepDirectory, notebook, runs, timeout, jobs, SweepCommand.Runner()));
        return ScriptPath;
    }

    /// <summary>The job script: resources as <c>#SBATCH</c> lines, one <c>case</c> arm per run, then the run command.</summary>
    public static string Script(string sweepDirectory, string notebook, IReadOnlyList<SweepRun> runs, TimeSpan timeout, int? jobs, IReadOnlyList<string> runner)
    {
        string name = Path.GetFileNameWithoutExtension(notebook);
        int minutes = (int)Math.Ceiling(timeout.TotalMinutes) + 5;
        var sb = new StringBuilder();
        sb.Append($$"""
            #!/bin/bash
            # A sweep of {{name}} as a Slurm job array, written by `workbook sweep --scheduler slurm`: array task i runs run i
            # below with `workbook run`, into runs/<id>/ (status.json there says whether it finished). Edit the resources,
            # the environment or the runs freely; submit the runs still to do as the sweep did, e.g. all of them:
            #   sbatch --array={{ArraySpec(runs.Select(r => r.Index), jobs)}} {{ShellQuote(Path.Combine(sweepDirectory, "sweep.sbatch"))}}
            # and, once the array has left the queue, summarise:  ./workbook sweep --collect {{ShellQuote(sweepDirectory)}}
            # The workbook (its runner and artifacts/) and this folder must be visible from the compute nodes.
            #SBATCH --job-name=sweep-{{name}}
            #SBATCH --output={{Path.Combine(sweepDirectory, "slurm", "%A_%a.out")}}
            #SBATCH --cpus-per-task=1
            #SBATCH --time={{minutes}}
            set -euo pipefail
            # libtorch's OpenMP workers should sleep, not spin, when cores are shared (see ./workbook).
            export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

            sweep={{ShellQuote(sweepDirectory)}}
            notebook={{ShellQuote(notebook)}}
            workbook=({{string.Join(' ', runner.Select(ShellQuote))}})

            case "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=…}" in

            """);
        foreach (var r in runs)
            sb.Append($"  {r.Index}) id={ShellQuote(r.Id)}; params=({string.Join(' ', r.Parameters.Select(p => "-p " + ShellQuote($"{p.Key}={p.Value}")))}) ;;\n");
        sb.Append($$"""
              *) echo "sweep.sbatch: no run with index $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;
            esac

            out="$sweep/runs/$id"
            rm -rf "$out" && mkdir -p "$out"
            echo "task $SLURM_ARRAY_TASK_ID on $(hostname): run $id"
            exec "${workbook[@]}" run "$notebook" --out "$out" --timeout {{timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}} --status-file "$out/status.json" --no-type-check "${params[@]}" >"$out/run.log" 2>&1

            """);
        return sb.ToString();
    }

    /// <summary><c>sbatch --array</c>'s value: indices as ranges (<c>0-3,5,7-8</c>) and, given <paramref name="jobs"/>, at
    /// most that many tasks at once (<c>%J</c>).</summary>
    public static string ArraySpec(IEnumerable<int> indices, int? jobs)
    {
        var sorted = indices.Distinct().Order().ToList();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(',', parts) + (jobs is { } most ? $"%{most}" : "");
    }

    /// <summary>The submission as a shell command line.</summary>
    public static string SubmitCommandLine(string script, IEnumerable<SweepRun> pending, int? jobs) =>
        $"sbatch --array={ArraySpec(pending.Select(r => r.Index), jobs)} {ShellQuote(script)}";

    /// <summary>Submits the unfinished runs; returns the job id. Throws naming the problem when sbatch is missing or refuses.</summary>
    public async Task<string> SubmitAsync(IReadOnlyList<SweepRun> pending)
    {
        foreach (var r in pending)
        {
            // A failed earlier attempt's status would read as this attempt's outcome.
            var status = Path.Combine(SweepSummary.RunDirectory(sweepDirectory, r), RunStatus.FileName);
            if (File.Exists(status)) File.Delete(status);
        }
        var (code, stdout, stderr) = await ToolAsync("sbatch", "--parsable", $"--array={ArraySpec(pending.Select(r => r.Index), jobs)}", ScriptPath);
        if (code != 0) throw new SchedulerException($"sbatch refused the sweep (exit code {code}): {stderr.Trim()}");
        string job = stdout.Trim().Split(';')[0];
        if (!JobId().IsMatch(job)) throw new SchedulerException($"sbatch answered '{stdout.Trim()}', not a job id.");
        Console.WriteLine($"submitted job array {job}: {pending.Count} task(s), {(jobs is { } j ? $"at most {j}" : "as many as Slurm allows")} at once (logs: {LogDirectory})");
        return job;
    }

    /// <summary>Waits until the array has left the queue, printing how many runs are done, failed, running and queued;
    /// a task that ended without a status file is recorded as failed, naming its Slurm log.</summary>
    public async Task WaitAsync(string job, IReadOnlyList<SweepRun> pending)
    {
        int skipped = runs.Count - pending.Count, errors = 0;
        string last = "";
        var lastPrint = Stopwatch.StartNew();
        var reported = new HashSet<string>();
        while (true)
        {
            var (code, stdout, stderr) = await ToolAsync("squeue", "-h", "-r", "-j", job, "-o", "%K %T");
            bool gone = code != 0 && stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase);
            if (code != 0 && !gone)
            {
                if (++errors >= 10) throw new SchedulerException($"squeue failed 10 times in a row (exit code {code}): {stderr.Trim()}");
                await Task.Delay(poll);
                continue;
            }
            errors = 0;
            var tasks = gone ? [] : stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split(' ')).Where(p => p.Length == 2).ToList();
            int running = tasks.Count(t => t[1] is "RUNNING" or "COMPLETING" or "CONFIGURING");
            var states = pending.Select(r => (Run: r, Status: RunStatus.Read(SweepSummary.RunDirectory(sweepDirectory, r)))).ToList();
            int ok = states.Count(s => s.Status.State == "ok"), failed = states.Count(s => s.Status.State == "failed");
            foreach (var s in states.Where(s => s.Status.State == "failed" && reported.Add(s.Run.Id)))
                Console.WriteLine($"[sweep] {s.Run.Id}: FAILED {s.Status.Failure}");
            string counts = $"[sweep: {skipped + ok} done, {failed} failed, {running} running, {tasks.Count - running} queued, of {runs.Count}] job {job}";
            if (counts != last || lastPrint.Elapsed > TimeSpan.FromSeconds(60))
            {
                Console.WriteLine(counts);
                last = counts; lastPrint.Restart();
            }
            if (tasks.Count == 0) break;
            await Task.Delay(poll);
        }
        foreach (var r in pending)
        {
            string dir = SweepSummary.RunDirectory(sweepDirectory, r);
            if (RunStatus.Read(dir).State != "not run") continue;
            string log = Path.Combine(LogDirectory, $"{job}_{r.Index}.out");
            string tail = File.Exists(log) ? string.Join(" | ", File.ReadLines(log).Where(l => l.Length > 0).TakeLast(3)) : "no Slurm log";
            RunStatus.WriteFailure(dir, $"{Path.GetFileName(notebook)}: Slurm task {job}_{r.Index} ended without a status (cancelled, out of time, or did not start; {log}: {tail})", null);
            Console.WriteLine($"[sweep] {r.Id}: FAILED (Slurm task {job}_{r.Index} left no status; see {log})");
        }
    }

    /// <summary>Runs a Slurm client command; a missing one is an error that says how to get it.</summary>
    static async Task<(int Code, string Stdout, string Stderr)> ToolAsync(string tool, params string[] args)
    {
        string path = Which(tool) ?? throw new SchedulerException(
            $"--scheduler slurm: '{tool}' is not on PATH. Install Slurm's client commands (Debian: slurm-client; ./workbook setup installs slurm-wlm) and point SLURM_CONF at your cluster's slurm.conf if it is not in /etc/slurm.");
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>The full path of <paramref name="tool"/> on PATH, or null.</summary>
    public static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>A word for bash: as is when it holds only safe characters, else single-quoted.</summary>
    public static string ShellQuote(string s) => SafeWord().IsMatch(s) ? s : "'" + s.Replace("'", "'\\''") + "'";

    [GeneratedRegex("^[A-Za-z0-9_./=:@%+,-]+$")]
    private static partial Regex SafeWord();

    [GeneratedRegex("^[0-9]+$")]
    private static partial Regex JobId();
}

/// <summary>The scheduler is missing, refused the sweep, or stopped answering; the message says which and what to do.</summary>
public sealed class SchedulerException(string message) : Exception(message);
