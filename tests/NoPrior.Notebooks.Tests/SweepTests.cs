using System.Diagnostics;

namespace NoPrior.Notebooks.Tests;

/// <summary>
/// <c>workbook sweep</c> end to end on the fixture <c>sweep-tiny.ipynb</c> (a few seconds per run): four runs at
/// <c>-j 2</c> here, a restart that skips them, a failing run that does not stop the others, and the same four runs
/// through a real single-node Slurm (munge, slurmctld, slurmd on localhost, started and stopped by the test).
/// </summary>
public sealed class SweepTests : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("noprior-sweep-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    static string Tiny => Path.Combine(RunnerHarness.Fixtures, "sweep-tiny.ipynb");

    static string[] Csv(string sweep) => File.ReadAllLines(Path.Combine(sweep, "summary.csv"));

    /// <summary>The summary's rows of the four runs x ∈ {0, 1.5} × k ∈ {2, 3}: parameters, status, and the notebook's results.</summary>
    static void AssertFourFinished(string sweep)
    {
        var csv = Csv(sweep);
        Assert.Equal("id,x,k,status,seconds,square,nested.power,nested.label,ok,failure", csv[0]);
        Assert.Equal(5, csv.Length);
        var rows = csv.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.All(rows, r => Assert.Equal("ok", r[3]));
        Assert.Equal(["0/2/0/0", "0/3/0/0", "1.5/2/2.25/2.25", "1.5/3/2.25/3.375"], rows.Select(r => $"{r[1]}/{r[2]}/{r[5]}/{r[6]}"));
        Assert.True(File.Exists(Path.Combine(sweep, "summary.html")));
        foreach (var r in rows) Assert.True(File.Exists(Path.Combine(sweep, "runs", r[0], "notebooks", "sweep-tiny.ipynb")), r[0]);
    }

    [Fact]
    public void Four_runs_two_at_a_time_then_a_restart_runs_only_what_is_not_finished_and_a_failure_stops_nothing()
    {
        var sweep = Path.Combine(_out, "local");
        var clock = Stopwatch.StartNew();
        var run = RunnerHarness.Workbook("sweep", Tiny, "-p", "x=0,1.5", "-p", "k=2,3", "-j", "2", "--out", sweep);
        Assert.True(run.ExitCode == 0, run.All);
        Assert.Contains("sweep of sweep-tiny: 4 runs, the grid x (2) × k (2)", run.Stdout);
        Assert.Contains("[sweep: 4 done, 0 failed, 0 running, 0 queued, of 4]", run.Stdout);
        Assert.Contains("4 ok, 0 failed, 0 not run, of 4", run.Stdout);
        AssertFourFinished(sweep);
        var first = clock.Elapsed;

        // Same values for x ∈ {0, 1.5} at k = 2 (their folders are adopted although k is no longer swept); x = -1 fails
        // in the notebook's last cell, and the sweep still finishes the rest and names notebook, cell and error.
        run = RunnerHarness.Workbook("sweep", Tiny, "-p", "x=0,1.5,-1", "-p", "k=2", "-j", "2", "--out", sweep, "--sort", "-square");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("2 finished run(s) skipped (their status.json says ok); 1 to run.", run.Stdout);
        Assert.Contains("FAILED", run.Stderr);
        Assert.Contains("sweep-tiny.ipynb: ArgumentOutOfRangeException in cell [4], line 1: x must be non-negative", run.Stderr);
        var csv = Csv(sweep);
        Assert.Equal(4, csv.Length);
        Assert.StartsWith("x-1.5-", csv[1]); // sorted by square, descending, the failed run (no square) last
        Assert.StartsWith("x-0-", csv[2]);
        Assert.Contains(",failed,", csv[3]);
        Assert.Contains("in cell [4], line 1: x must be non-negative", csv[3]);
        Assert.True(clock.Elapsed - first < first, $"the restart took {clock.Elapsed - first}, the first sweep {first}: finished runs were run again?");
    }

    [Fact]
    public void Four_runs_as_a_slurm_job_array_on_a_single_node_cluster()
    {
        var cluster = Path.Combine(_out, "cluster");
        var started = SingleNode("start", cluster);
        try
        {
            Assert.True(started.Code == 0, $"could not start the single-node Slurm cluster:\n{started.Output}");
            var env = new Dictionary<string, string> { ["SLURM_CONF"] = Path.Combine(cluster, "slurm.conf") };
            var sweep = Path.Combine(_out, "slurm");
            var run = RunnerHarness.Workbook(env, "sweep", Tiny, "-p", "x=0,1.5", "-p", "k=2,3", "-j", "2", "--scheduler", "slurm", "--poll", "1", "--out", sweep);
            Assert.True(run.ExitCode == 0, run.All + "\n" + Logs(cluster, sweep));
            Assert.Matches(@"submitted job array \d+: 4 task\(s\), at most 2 at once", run.Stdout);
            Assert.Contains("4 ok, 0 failed, 0 not run, of 4", run.Stdout);
            AssertFourFinished(sweep);
            Assert.Equal(4, Directory.GetFiles(Path.Combine(sweep, "slurm"), "*.out").Length); // one Slurm log per array task
            Assert.Contains("#SBATCH --output=", File.ReadAllText(Path.Combine(sweep, "sweep.sbatch")));

            // Nothing left to do: nothing is submitted.
            run = RunnerHarness.Workbook(env, "sweep", Tiny, "-p", "x=0,1.5", "-p", "k=2,3", "--scheduler", "slurm", "--out", sweep);
            Assert.True(run.ExitCode == 0, run.All);
            Assert.Contains("4 finished run(s) skipped", run.Stdout);
            Assert.DoesNotContain("submitted", run.Stdout);

            // --submit-only: back at once with the job's id; the array runs on; --collect summarises it afterwards.
            var detached = Path.Combine(_out, "slurm-detached");
            run = RunnerHarness.Workbook(env, "sweep", Tiny, "-p", "x=0,1.5", "-p", "k=2,3", "--scheduler", "slurm", "--submit-only", "--out", detached);
            Assert.True(run.ExitCode == 0, run.All);
            var job = System.Text.RegularExpressions.Regex.Match(run.Stdout, @"follow it with squeue -j (\d+), then summarise with: \./workbook sweep --collect (.+)");
            Assert.True(job.Success, run.All);
            Assert.Equal(detached, job.Groups[2].Value.Trim());
            Assert.False(File.Exists(Path.Combine(detached, "summary.csv")));  // not waited for, not summarised
            WaitUntilGone(env, job.Groups[1].Value, TimeSpan.FromMinutes(5), cluster, detached);
            run = RunnerHarness.Workbook(env, "sweep", "--collect", detached);
            Assert.True(run.ExitCode == 0, run.All + "\n" + Logs(cluster, detached));
            AssertFourFinished(detached);
        }
        finally { SingleNode("stop", cluster); }
    }

    /// <summary>Polls <c>squeue -j JOB</c> until the job array has left the queue.</summary>
    static void WaitUntilGone(IReadOnlyDictionary<string, string> env, string job, TimeSpan limit, string cluster, string sweep)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var psi = new ProcessStartInfo("squeue", ["-h", "-j", job, "-o", "%i %T"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var (k, v) in env) psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            // Finished arrays leave the queue (squeue then prints nothing, or "Invalid job id" once slurmctld forgets them).
            if (output.Trim().Length == 0 || output.Contains("Invalid job id", StringComparison.Ordinal)) return;
            Assert.True(clock.Elapsed < limit, $"job {job} still queued after {limit}: {output}\n{Logs(cluster, sweep)}");
            Thread.Sleep(500);
        }
    }

    /// <summary>Runs <c>Slurm/single-node.sh start|stop DIR</c>; without Slurm or munge installed the start fails with a
    /// message saying to run ./workbook setup (the test then fails: CI must exercise the real scheduler).</summary>
    static (int Code, string Output) SingleNode(string command, string dir)
    {
        var script = Path.Combine(NoPrior.Workbook.RepositoryRoot, "tests", "NoPrior.Notebooks.Tests", "Slurm", "single-node.sh");
        var psi = new ProcessStartInfo("bash", [script, command, dir]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(1))) { p.Kill(true); return (-1, "single-node.sh did not finish in a minute"); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    static string Logs(string cluster, string sweep) => string.Join("\n",
        new[] { Path.Combine(cluster, "slurmctld.log"), Path.Combine(cluster, "slurmd.log") }
            .Concat(Directory.Exists(Path.Combine(sweep, "slurm")) ? Directory.GetFiles(Path.Combine(sweep, "slurm")) : [])
            .Where(File.Exists).Select(f => $"--- {f}\n{string.Join("\n", File.ReadLines(f).TakeLast(15))}"));
}
