namespace NoPrior.Runner;

/// <summary>
/// <c>workbook</c>: runs the workbook's notebooks (each in its own process) and checks that committed notebooks are clean.
/// </summary>
public static class Program
{
    const string Usage = """
        usage:
          workbook run [paths…] [--out DIR] [-p name=value …] [--timeout SECONDS]
              Execute notebooks (files or folders; default notebooks/), each in its own process, writing
              <out>/notebooks/<name>.ipynb and <out>/html/<name>.html (default --out out, --timeout 1800).
              -p name=value   overrides a value assigned in the cell tagged "parameters"; the value is C#: a number,
                              true/false, an expression such as 'new[] { 0.0, 0.5, 1 }', or text (quoted for you when
                              the parameter is a string). Checked against the parameter's type before anything runs.
              Errors name the cell as Jupyter shows it, "cell [n]" (n-th executed code cell), and the line in it.
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
                ExecProtocol.Name => await ExecCommand.RunAsync(args[1..]),
                "-h" or "--help" or "help" => PrintUsage(0),
                null => PrintUsage(2),
                var other => Fail($"unknown command '{other}'."),
            };
        }
        catch (RunCommand.HelpRequested) { return PrintUsage(0); }
        catch (ArgumentException e) { return Fail(e.Message); }
        catch (FileNotFoundException e) { return Fail(e.Message); }
        catch (InvalidDataException e) { return Fail(e.Message); }
    }

    static int PrintUsage(int code) { (code == 0 ? Console.Out : Console.Error).WriteLine(Usage); return code; }

    static int Fail(string message)
    {
        Console.Error.WriteLine($"workbook: {message}");
        Console.Error.WriteLine("(workbook help: usage)");
        return 2;
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
