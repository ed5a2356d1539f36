using System.Collections.Concurrent;
using NoPrior.TestSupport;

namespace NoPrior.Notebooks.Tests;

/// <summary>The scheduler that runs the notebook executions of the runner and nbconvert tests side by side.</summary>
public sealed class BackgroundExecutionsTests
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    /// <summary>Jobs that block until released (or cancelled) and record when they start.</summary>
    sealed class Jobs
    {
        public readonly ConcurrentQueue<string> Started = new();
        public readonly ConcurrentDictionary<string, ManualResetEventSlim> Release = new();
        public readonly ConcurrentBag<string> Cancelled = new();

        public string Run(string key, CancellationToken cancel)
        {
            Started.Enqueue(key);
            var gate = Release.GetOrAdd(key, _ => new ManualResetEventSlim());
            try { gate.Wait(cancel); }
            catch (OperationCanceledException) { Cancelled.Add(key); throw; }
            if (key.StartsWith("bad", StringComparison.Ordinal)) throw new InvalidOperationException($"{key} failed");
            return key.ToUpperInvariant();
        }

        public void Finish(string key) => Release.GetOrAdd(key, _ => new ManualResetEventSlim()).Set();

        public void WaitForStarts(int n)
        {
            var until = DateTime.UtcNow + Patience;
            while (Started.Count < n) { Assert.True(DateTime.UtcNow < until, $"only {Started.Count} of {n} jobs started"); Thread.Sleep(5); }
        }
    }

    [Fact]
    public async Task A_requested_job_runs_with_the_next_one_beside_it_and_later_ones_wait_their_turn()
    {
        var jobs = new Jobs();
        using var ex = new BackgroundExecutions<string>(["a", "b", "c", "d"], jobs.Run, slots: 2);
        Thread.Sleep(50);
        Assert.Empty(jobs.Started);                       // nothing runs before a test asks

        var a = ex.Get("a");
        jobs.WaitForStarts(2);
        Assert.Equal(["a", "b"], jobs.Started.Order());   // b speculatively beside a
        Thread.Sleep(50);
        Assert.Equal(2, jobs.Started.Count);              // c waits: one speculative job at most with 2 slots

        jobs.Finish("a");
        Assert.Equal("A", await a.WaitAsync(Patience));
        Thread.Sleep(50);
        Assert.Equal(2, jobs.Started.Count);              // b is unrequested and running: still no c

        var b = ex.Get("b");
        jobs.WaitForStarts(3);
        Assert.Equal("c", jobs.Started.Last());
        jobs.Finish("b"); jobs.Finish("c"); jobs.Finish("d");
        Assert.Equal("B", await b.WaitAsync(Patience));
        Assert.Equal("D", await ex.Get("d").WaitAsync(Patience));
        Assert.Equal("C", await ex.Get("c").WaitAsync(Patience));
    }

    [Fact]
    public async Task Cases_in_any_order_keep_every_slot_busy()
    {
        // xunit 2 orders a theory's cases by a hash of their ids, not by the data: here d, then b, then a, then c.
        var jobs = new Jobs();
        using var ex = new BackgroundExecutions<string>(["a", "b", "c", "d"], jobs.Run, slots: 2);
        var d = ex.Get("d");
        jobs.WaitForStarts(2);
        Assert.Equal(["a", "d"], jobs.Started.Order());   // the first unstarted job beside the requested one (either may start first)
        jobs.Finish("a");
        jobs.WaitForStarts(3);
        Assert.Equal("b", jobs.Started.Last());           // a finished unasked: the next unstarted takes its slot
        jobs.Finish("d");
        Assert.Equal("D", await d.WaitAsync(Patience));
        var b = ex.Get("b");                              // running already
        jobs.WaitForStarts(4);
        Assert.Equal("c", jobs.Started.Last());
        jobs.Finish("b"); jobs.Finish("c");
        Assert.Equal("B", await b.WaitAsync(Patience));
        Assert.Equal("A", await ex.Get("a").WaitAsync(Patience));
        Assert.Equal("C", await ex.Get("c").WaitAsync(Patience));
    }

    [Fact]
    public async Task A_filtered_run_starts_only_what_it_asks_for_and_the_speculative_job_is_cancelled()
    {
        var jobs = new Jobs();
        var ex = new BackgroundExecutions<string>(["a", "b", "c"], jobs.Run, slots: 2);
        var a = ex.Get("a");
        jobs.WaitForStarts(2);
        jobs.Finish("a");
        Assert.Equal("A", await a.WaitAsync(Patience));
        ex.Dispose();
        Assert.Equal(["a", "b"], jobs.Started.Order());
        Assert.Equal(["b"], jobs.Cancelled);
        Assert.True(ex.Peek("c").IsCanceled);
    }

    [Fact]
    public async Task A_failing_job_fails_its_own_test_only()
    {
        var jobs = new Jobs();
        using var ex = new BackgroundExecutions<string>(["bad", "ok"], jobs.Run, slots: 1);
        var bad = ex.Get("bad");
        jobs.Finish("bad");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => bad.WaitAsync(Patience));
        Assert.Equal("bad failed", e.Message);
        jobs.Finish("ok");
        Assert.Equal("OK", await ex.Get("ok").WaitAsync(Patience));
    }

    [Fact]
    public void Bad_arguments_are_named()
    {
        Assert.Contains("at least one", Assert.Throws<ArgumentOutOfRangeException>(() => new BackgroundExecutions<int>(["a"], (_, _) => 0, 0)).Message);
        Assert.Contains("distinct", Assert.Throws<ArgumentException>(() => new BackgroundExecutions<int>(["a", "a"], (_, _) => 0, 1)).Message);
        using var ex = new BackgroundExecutions<int>(["a"], (_, _) => 0, 1);
        Assert.Contains("'z'", Assert.Throws<ArgumentException>(() => { _ = ex.Get("z"); }).Message);
    }
}
