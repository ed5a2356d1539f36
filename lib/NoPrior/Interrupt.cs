namespace NoPrior;

/// <summary>
/// How a host (the Jupyter kernel) stops the library's long loops: it sets <see cref="Token"/> for the code it runs,
/// and training, the attack and everything that reports through <see cref="Progress"/> call
/// <see cref="ThrowIfRequested"/> once per step, which ends them with an <see cref="InterruptedException"/> naming the
/// step. The token is async-local: it flows into the cell's code and the tasks it starts, and a cell that was
/// interrupted keeps its cancelled token even after the next cell set a fresh one. No engine dependency: any host can
/// set it; without a host it is never cancelled. Your own loops can call <see cref="ThrowIfRequested"/> too.
/// </summary>
public static class Interrupt
{
    static readonly AsyncLocal<CancellationToken> Current = new();

    /// <summary>The token of the code running in this execution context (default: never cancelled).</summary>
    public static CancellationToken Token { get => Current.Value; set => Current.Value = value; }

    /// <summary>Whether an interrupt was requested for the code running in this execution context.</summary>
    public static bool Requested => Current.Value.IsCancellationRequested;

    /// <summary>Throws <see cref="InterruptedException"/> ("<paramref name="task"/> interrupted at step k") if an interrupt was requested.</summary>
    public static void ThrowIfRequested(string task, long step)
    {
        var token = Current.Value;
        if (token.IsCancellationRequested) throw new InterruptedException(task, step, token);
    }
}

/// <summary>A library loop stopped by <see cref="Interrupt"/>: which task, at which step.</summary>
public sealed class InterruptedException(string task, long step, CancellationToken token)
    : OperationCanceledException($"{task} interrupted at step {step}", token)
{
    /// <summary>The loop that stopped (e.g. the progress title).</summary>
    public string TaskName { get; } = task;

    /// <summary>The step at which it stopped (its results up to this step are discarded).</summary>
    public long Step { get; } = step;
}
