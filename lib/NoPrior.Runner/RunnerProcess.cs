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

    /// <summary>
    /// When <paramref name="atOnce"/> notebooks run side by side (<c>run -j N</c>, <c>sweep -j N</c>), has the child's
    /// libtorch OpenMP threads sleep when idle (OMP_WAIT_POLICY=PASSIVE) instead of spinning, unless the user has set
    /// OMP_WAIT_POLICY (the <c>./workbook</c> script already exports PASSIVE for everything it starts; this covers the
    /// runner started directly, e.g. <c>dotnet workbook.dll</c>). Why: libgomp's workers spin after every parallel region, which on a machine with as many
    /// notebooks as cores takes the core another notebook needs. Measured on 2 cores (Zen 3, 2026-11-26), two pairs side
    /// by side, each pair's wall time: 08 + 09 449 s spinning, 174 s passive, 226 s one after the other; 01 + 06 70 s
    /// spinning, 50 s passive, 60 s one after the other. The wait policy changes no number, only how idle threads wait.
    /// </summary>
    public static void ShareCores(ProcessStartInfo psi, int atOnce)
    {
        if (atOnce > 1 && Environment.GetEnvironmentVariable(PolicyVariable) is null or "") psi.Environment[PolicyVariable] = "PASSIVE";
    }

    const string PolicyVariable = "OMP_WAIT_POLICY";
}
