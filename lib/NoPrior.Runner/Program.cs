using System.Runtime.InteropServices;

namespace NoPrior.Runner;

/// <summary>
/// <c>workbook</c>: runs the workbook's notebooks (each in its own process) and checks that committed notebooks are clean.
/// </summary>
public static class Program
{
    const string Usage = """
        usage:
          workbook run [paths…] [--out DIR] [-p name=value …] [--timeout SECONDS] [-j N]
              Execute notebooks (files or folders; default notebooks/), each in its own process, writing
              <out>/notebooks/<name>.ipynb and <out>/html/<name>.html (default --out out, --timeout 1800).
              -j N            runs N notebooks at once (default 1); most cells use one core, so -j 2 on 2 cores saves
                              about a third of the time. The numbers do not change: each process sets its own threads.
                              Longest first by the times <out>/run-times.json keeps of the last finished run there.
              -p name=value   overrides a value assigned in the cell tagged "parameters"; the value is C#: a number,
                              true/false, an expression such as 'new[] { 0.0, 0.5, 1 }', or text (quoted for you when
                              the parameter is a string). Checked against the parameter's type before anything runs.
              Errors name the cell as Jupyter shows it, "cell [n]" (n-th executed code cell), and the line in it.
              --status-file FILE  write the outcome as JSON (status "ok" or "failed"; per notebook its cell and error).
              --no-type-check     check -p names only (types then fail in the injected cell); sweep checks once for all runs.
          workbook sweep NOTEBOOK -p name=v1,v2,… [-p …] [--random K [--seed S]] [--out DIR] [-j N] [--timeout SECONDS]
                         [--scheduler local|slurm] [--submit-only | --script-only] [--sort COLUMN]
              Run NOTEBOOK once per point of the grid of the -p lists (or K points drawn from it with seed S, default 0),
              each run a separate `workbook run` into <out>/runs/<id> (default --out out/sweeps/<notebook>); runs whose
              status.json says ok are skipped on restart. Lists split at commas outside (), [], {} and quotes, so
              -p "radii=new[] { 0.1, 1.0 },new[] { 10.0 }" is two values; \, is a literal comma.
              With --random K the whole value of a -p can be a range, drawn once per run: uniform:LOW:HIGH,
              loguniform:LOW:HIGH (uniform in log; 0 < LOW), int:LOW:HIGH, intlog:LOW:HIGH (integers, ⌊loguniform⌋), each
              [LOW, HIGH) (int:1:10 draws 1…9), e.g. -p lr=loguniform:1e-4:1e-1 -p steps=int:100:2000. Each run draws its
              point of the grid of the lists, then each range in -p order, from one System.Random(S): the same runs on
              every machine. Doubles are written round-trip with a point or exponent (0.25, 1E-05, 2.0), the same text in
              the run id, the notebook's -p value and the summary. Text of that form for a string parameter: quote it.
              -j N runs N at once (default 1; with Slurm: as many as it allows). --scheduler slurm submits the runs as
              one job array (sbatch --array=…%N) from <out>/sweep.sbatch and waits for it; --submit-only returns after
              submitting, --script-only only writes the script. The summary, <out>/summary.csv and summary.html, has a
              row per run: its parameters, status and the fields of its results/*.json (nested ones as a.b);
              --sort COLUMN (-COLUMN: descending).
          workbook sweep --collect DIR [--sort COLUMN]
              Write the summary of the sweep in DIR as it stands.
          workbook calibrate
              Measure which backend multiplies matrices fastest on this machine (libtorch, the workbook's AVX2/AVX-512
              kernel or OpenBLAS; float64 and float32, small and large products, one thread and all) unless cached
              (~/.cache/noprior/matmul-backend.json), and print the choices. run does this first, so the measurement
              never competes with a notebook.
          workbook check [paths…]
              Verify committed notebooks: no outputs, C# kernel metadata, a parameters cell, markdown before code.
          workbook help
              This text.
        """;

    /// <summary>Entry point; returns the process exit code (0 success, 1 a notebook failed or is not clean, 2 usage).</summary>
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "run" => await RunCommand.RunAsync(RunCommand.Options.Parse(args[1..])),
                "check" => CheckCommand(args[1..]),
                "calibrate" => Calibrate(quiet: false),
                "sweep" => await SweepCommand.RunAsync(SweepCommand.Options.Parse(args[1..])),
                ExecProtocol.Name => await ExecCommand.RunAsync(args[1..]),
                "-h" or "--help" or "help" => PrintUsage(0),
                null => PrintUsage(2),
                var other => Fail($"unknown command '{other}'."),
            };
        }
        catch (RunCommand.HelpRequested) { return PrintUsage(0); }
        catch (SweepCommand.HelpRequested) { return PrintUsage(0); }
        catch (ArgumentException e) { return Fail(e.Message); }
        catch (FileNotFoundException e) { return Fail(e.Message); }
        catch (InvalidDataException e) { return Fail(e.Message); }
        catch (SchedulerException e) { return Fail(e.Message); }
    }

    static int PrintUsage(int code) { (code == 0 ? Console.Out : Console.Error).WriteLine(Usage); return code; }

    static int Fail(string message)
    {
        Console.Error.WriteLine($"workbook: {message}");
        Console.Error.WriteLine("(workbook help: usage)");
        return 2;
    }

    /// <summary>
    /// <c>workbook calibrate</c>, and the first thing <c>run</c> does: <see cref="NoPrior.LinearAlgebra.MatMul.ChooseAll"/>,
    /// so the matrix-product backend is measured (once per machine; cached) before any notebook loads the machine.
    /// Quiet when every choice came from the cache or a pin. A failure to load libtorch here is reported and left to
    /// the notebooks, which report it with their cell.
    /// </summary>
    internal static int Calibrate(bool quiet)
    {
        try
        {
            var choices = NoPrior.LinearAlgebra.MatMul.ChooseAll();
            if (!quiet || choices.Any(c => c.Source.StartsWith("measured", StringComparison.Ordinal)))
                foreach (var c in choices) Console.WriteLine($"matrix products at {c.Threads} thread{(c.Threads == 1 ? "" : "s")}, {c}");
            return 0;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or ExternalException or IOException)
        {
            Console.Error.WriteLine($"workbook: could not choose the matrix-product backend ({e.GetType().Name}: {e.Message}).");
            return 1;
        }
    }

    static int CheckCommand(string[] args)
    {
        var notebooks = NotebookFiles.Find(args);
        int bad = 0;
        foreach (var nb in notebooks)
        {
            var problems = Checker.Check(nb);
            if (problems.Count == 0) continue;
            bad++;
            Console.Error.WriteLine($"{Path.GetRelativePath(Directory.GetCurrentDirectory(), nb)}:");
            foreach (var p in problems) Console.Error.WriteLine($"  - {p}");
        }
        Console.WriteLine($"checked {notebooks.Count} notebook(s): {(bad == 0 ? "all clean" : $"{bad} with problems")}");
        return bad == 0 ? 0 : 1;
    }

}
