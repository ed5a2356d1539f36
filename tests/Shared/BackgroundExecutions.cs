namespace NoPrior.TestSupport;

/// <summary>
/// Runs a fixed, ordered list of long jobs (the workbook's notebooks, each in its own child process) up to
/// <c>slots</c> at a time in the background, so that the test of job k waits only for job k while another job already
/// runs beside it.
/// <para>Why: most notebook cells run on one thread (<c>Parallelism.ForStep</c> keeps small steps single-threaded), so
/// one notebook at a time left the second core of a 2-core machine mostly idle, and the two test projects that execute
/// every notebook (through the runner and through <c>jupyter nbconvert</c>) took about 13 minutes each.</para>
/// <para>Jobs start when a test asks for them: a requested job first, and beside it, speculatively, the first job not
/// yet started (at most <c>slots − 1</c> such jobs at a time). A filtered run (<c>dotnet test --filter</c> naming one
/// notebook) therefore executes that notebook and the speculative jobs that started while it ran, which
/// <see cref="Dispose"/> cancels: the token handed to a job is cancelled then, and a job must kill its child process
/// when it fires.</para>
/// </summary>
public sealed class BackgroundExecutions<T> : IDisposable
{
    readonly IReadOnlyList<string> _keys;
    readonly Func<string, CancellationToken, T> _execute;
    readonly Dictionary<string, int> _index;
    readonly TaskCompletionSource<T>[] _results;
    readonly bool[] _requested, _started, _finished;
    readonly CancellationTokenSource _stop = new();
    readonly Task[] _workers;
    readonly int _slots;
    readonly object _gate = new();

    /// <param name="keys">The jobs, in the order tests are expected to ask for them.</param>
    /// <param name="execute">Runs one job; called on a worker thread; must return soon after its token is cancelled.</param>
    /// <param name="slots">Jobs at once (at least 1).</param>
    public BackgroundExecutions(IReadOnlyList<string> keys, Func<string, CancellationToken, T> execute, int slots)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), slots, "at least one job must be able to run");
        if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Count) throw new ArgumentException("job keys must be distinct", nameof(keys));
        _keys = keys;
        _execute = execute;
        _index = keys.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);
        _results = keys.Select(_ => new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        _requested = new bool[keys.Count];
        _started = new bool[keys.Count];
        _finished = new bool[keys.Count];
        _slots = slots;
        _workers = Enumerable.Range(0, slots).Select(_ => Task.Factory.StartNew(Work, TaskCreationOptions.LongRunning)).ToArray();
    }

    /// <summary>Jobs at once for tests that run notebooks: one per core, at most 4 (each notebook may use every core
    /// in its large steps), or <c>NOPRIOR_TEST_JOBS</c>.</summary>
    public static int DefaultSlots =>
        int.TryParse(Environment.GetEnvironmentVariable("NOPRIOR_TEST_JOBS"), out int n) && n >= 1 ? n : Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Environment for notebook processes that run side by side: OMP_WAIT_POLICY=PASSIVE when more than one
    /// slot runs at once and the caller has not set a policy (the runner's <c>-j</c> does the same; <c>./workbook test</c>
    /// has set it already, a bare <c>dotnet test</c> has not). libgomp's workers
    /// otherwise spin after every parallel region and take the core the other notebook needs: notebooks 08 and 09 side
    /// by side on 2 cores took 406 and 449 s spinning, 122 and 174 s passive (91 + 135 s one after the other).</summary>
    public static Dictionary<string, string> SideBySideEnvironment(int slots) =>
        slots > 1 && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null or ""
            ? new() { ["OMP_WAIT_POLICY"] = "PASSIVE" }
            : new();

    /// <summary>The result of <paramref name="key"/>'s job, starting it if it has not started; rethrows its exception.</summary>
    public Task<T> Get(string key)
    {
        int i = IndexOf(key);
        lock (_gate)
        {
            _requested[i] = true;
            Monitor.PulseAll(_gate);
        }
        return _results[i].Task;
    }

    /// <summary>The task of <paramref name="key"/>'s job without asking for it (e.g. to clean up after a job no test used).</summary>
    public Task<T> Peek(string key) => _results[IndexOf(key)].Task;

    int IndexOf(string key) => _index.TryGetValue(key, out int i) ? i : throw new ArgumentException($"no job named '{key}'", nameof(key));

    /// <summary>The next job to start, or -1 when none may start now: the first requested one not started, else, once
    /// a test has asked for anything and while fewer than <c>slots − 1</c> unrequested jobs are running, the first
    /// unstarted one. (xunit 2 runs a theory's cases in an order of its own, not the data's: speculation must not
    /// assume which case comes next.)</summary>
    int Next()
    {
        bool anyRequested = false;
        int speculative = 0, firstUnstarted = -1;
        for (int i = 0; i < _keys.Count; i++)
        {
            if (_requested[i] && !_started[i]) return i;
            anyRequested |= _requested[i];
            if (_started[i] && !_finished[i] && !_requested[i]) speculative++;
            if (!_started[i] && firstUnstarted < 0) firstUnstarted = i;
        }
        return anyRequested && speculative < _slots - 1 ? firstUnstarted : -1;
    }

    void Work()
    {
        while (true)
        {
            int k;
            lock (_gate)
            {
                while ((k = Next()) < 0)
                {
                    if (_stop.IsCancellationRequested) return;
                    Monitor.Wait(_gate);
                }
                if (_stop.IsCancellationRequested) return;
                _started[k] = true;
            }
            var result = _results[k];
            try { result.SetResult(_execute(_keys[k], _stop.Token)); }
            catch (Exception e) { result.SetException(e); }
            lock (_gate)
            {
                _finished[k] = true;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Cancels the jobs still running (speculative ones a filtered run never asked for) and waits for the workers.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stop.Cancel();
            Monitor.PulseAll(_gate);
        }
        Task.WaitAll(_workers);
        foreach (var r in _results) r.TrySetCanceled();
        _stop.Dispose();
    }
}

/// <summary>The workbook's notebooks as the tests that execute them see them.</summary>
public static class WorkbookNotebooks
{
    /// <summary>The committed notebooks' file names (relative to notebooks/), in file order; none without the folder.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            var dir = Path.Combine(NoPrior.Workbook.RepositoryRoot, "notebooks");
            return Directory.Exists(dir)
                ? Directory.EnumerateFiles(dir, "*.ipynb").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToList()
                : [];
        }
    }

    /// <summary>The notebooks from last to first: the experiment notebooks 08–11 come last in the workbook and take
    /// 1½–4 minutes each at the fast defaults, 00–07 under a minute, so starting from the end puts the long ones side by side
    /// early and lets the short ones fill the slots at the end. (xunit asks for the cases in its own hash order, so the
    /// speculative starts, which follow this list, decide most of the schedule.) Seen in a full test run on 2 cores with
    /// file order: notebook 11 ran alone for its last ~4 minutes.</summary>
    public static IReadOnlyList<string> LongestFirst(IReadOnlyList<string> notebooks) => notebooks.Reverse().ToList();
}
