using System.Diagnostics;

namespace NoPrior.Runner;

/// <summary>This same program, started again: <c>run</c> for each notebook's child process, <c>sweep</c> for each run.</summary>
static class RunnerProcess
{
    /// <summary>Its apphost, or <c>dotnet workbook.dll</c> when run through dotnet.</summary>
    public static ProcessStartInfo StartInfo()
    {
        string? exe = Environment.ProcessPath;
        if (exe is not null && !Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            return new ProcessStartInfo(exe);
        var psi = new ProcessStartInfo(exe ?? "dotnet");
        psi.ArgumentList.Add(typeof(RunnerProcess).Assembly.Location);
        return psi;
    }
}
