using System.Diagnostics;
using NoPrior.Kernel;
using NoPrior.Kernel.Protocol;

// Usage: NoPrior.Kernel <connection-file>   (started by Jupyter through build/jupyter/kernels/.net-csharp/kernel.json)
var log = Console.Error;  // captured now: cells redirect Console.Error while they run
if (args.Length != 1 || args[0] is "-h" or "--help")
{
    log.WriteLine("usage: NoPrior.Kernel <connection-file>\n  A Jupyter kernel for the workbook's C# notebooks; Jupyter starts it through the .net-csharp kernel spec.");
    return args.Length == 1 ? 0 : 2;
}

ConnectionInfo connection;
try { connection = ConnectionInfo.Load(args[0]); }
catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
{
    log.WriteLine($"kernel: {e.Message}");
    return 2;
}

using var stop = new CancellationTokenSource();
// Interrupts arrive as interrupt_request (interrupt_mode "message"); a SIGINT (a front end in signal mode, or Ctrl-C in a
// terminal) interrupts the running cell the same way and never kills the kernel.
KernelServer? running = null;
Console.CancelKeyPress += (_, e) => { e.Cancel = true; running?.Interrupt(); };
WatchParent(stop);

using var server = new KernelServer(connection, KernelExecutors.Create, log);
running = server;
log.WriteLine($"kernel: listening on {connection.Ip} (shell {server.Connection.ShellPort}), session {server.Session}");
bool restart = await server.RunAsync(stop.Token);
log.WriteLine(restart ? "kernel: shutting down for restart" : "kernel: shut down");
return 0;

// jupyter_client passes its pid in JPY_PARENT_PID; a kernel whose front end died must not linger.
static void WatchParent(CancellationTokenSource stop)
{
    if (!int.TryParse(Environment.GetEnvironmentVariable("JPY_PARENT_PID"), out int pid) || pid <= 1) return;
    _ = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            try { using var p = Process.GetProcessById(pid); if (p.HasExited) break; }
            catch (ArgumentException) { break; }
        }
        stop.Cancel();
    });
}
