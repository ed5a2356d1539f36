namespace NoPrior.LinearAlgebra;

/// <summary>
/// Persistent background threads for <see cref="BlockedGemm{TKernel}"/>'s fork-join phases: the caller and (threads − 1) workers
/// take work items from a shared counter until none are left.
/// </summary>
/// <remarks>
/// Why not Parallel.For: with it the reference attack step (m = 1000, 784-1000-1000-1) had ~2 500 involuntary context
/// switches per step on a 2-core machine (/usr/bin/time -v) and step times wandered between 125 and 450 ms: the thread
/// pool's spinning and thread injection put a third runnable thread on two cores. A fixed team does not.
/// Why the workers spin before sleeping: waking a sleeping thread costs tens of microseconds in a VM, twice per product;
/// at the notebooks' sizes (products of ~0.1–0.2 ms) it made the small attack step (m = 40, 784-400-1) take 2.95 ms
/// against 1.37 ms with libtorch's products; polling for 50–1000 µs before blocking gives 1.14–1.19 ms (measured in one
/// process, steady state). A worker therefore polls for the next job for <see cref="SpinMicroseconds"/> before it blocks. Inside the
/// hot loops libtorch runs on one thread (<see cref="Parallelism.ForStep"/>), so the polling core is otherwise idle.
/// Calls from different threads are serialised (one job at a time); bodies must not call <see cref="Run"/> themselves.
/// </remarks>
internal static class WorkerTeam
{
    /// <summary>How long an idle worker polls for the next job before it blocks.</summary>
    public const int SpinMicroseconds = 200;

    static readonly object JobGate = new();
    static readonly List<Worker> Workers = new();
    static Action<int>? _body;
    static int _items, _next, _running;
    static Exception? _error;

    sealed class Worker
    {
        readonly SemaphoreSlim _wake = new(0);
        int _sleeping;  // 1 while the worker is (about to be) blocked on _wake
        int _posted;    // jobs posted to this worker
        int _taken;     // jobs it has started

        public Worker(int index) => new Thread(Loop) { IsBackground = true, Name = $"NoPrior.MatMul worker {index}" }.Start();

        /// <summary>Called by the job's owner: hand this worker the current job.</summary>
        public void Post()
        {
            Interlocked.Increment(ref _posted);
            if (Interlocked.Exchange(ref _sleeping, 0) == 1) _wake.Release();
        }

        void Loop()
        {
            long spinTicks = System.Diagnostics.Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            while (true)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                while (Volatile.Read(ref _posted) == _taken && System.Diagnostics.Stopwatch.GetTimestamp() - start < spinTicks)
                    Thread.SpinWait(20);
                if (Volatile.Read(ref _posted) == _taken)
                {
                    Interlocked.Exchange(ref _sleeping, 1); // a full fence: the re-check below must not move above it
                    // Re-check after announcing sleep: a job posted in between either saw _sleeping = 1 (and released
                    // the semaphore, which must be consumed) or did not (and then we claim the flag back ourselves).
                    if (Volatile.Read(ref _posted) == _taken || Interlocked.Exchange(ref _sleeping, 0) == 0) _wake.Wait();
                }
                _taken++;
                Drain();
                Interlocked.Decrement(ref _running);
            }
        }
    }

    /// <summary>Runs body(0 … items − 1) on the calling thread and up to threads − 1 workers; rethrows the first error.</summary>
    public static void Run(int threads, int items, Action<int> body)
    {
        int helpers = Math.Min(threads, items) - 1;
        if (helpers <= 0)
        {
            for (int i = 0; i < items; i++) body(i);
            return;
        }
        lock (JobGate)
        {
            while (Workers.Count < helpers) Workers.Add(new Worker(Workers.Count + 1));
            _body = body; _items = items; _next = 0; _error = null;
            Volatile.Write(ref _running, helpers);
            for (int w = 0; w < helpers; w++) Workers[w].Post();
            Drain();
            // The workers finish their last items; products are milliseconds, so spinning here is short.
            var wait = new SpinWait();
            while (Volatile.Read(ref _running) > 0) wait.SpinOnce(sleep1Threshold: -1);
            _body = null;
            if (_error is { } e) throw new AggregateException("A matrix-product worker failed.", e);
        }
    }

    static void Drain()
    {
        var body = _body!;
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < _items)
        {
            try { body(i); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
        }
    }
}
