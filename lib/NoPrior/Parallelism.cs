namespace NoPrior;

/// <summary>
/// libtorch's intra-op thread count for the workbook's loops. Small problems run faster on one thread: a GD step
/// of a 2-50-1 network on 40 points took 0.045 ms with 1 thread and 0.25 ms with 2 on this project's 2-core machines,
/// because the per-operation cost of waking the second thread exceeds the work. Large steps use every thread.
/// </summary>
public static class Parallelism
{
    /// <summary>Below this many floating-point operations per step, loops run on a single libtorch thread.</summary>
    public static double SingleThreadBelowFlops { get; set; } = 2e7;

    /// <summary>Sets the thread count suited to a step of <paramref name="flopsPerStep"/> operations; disposing restores the previous count.</summary>
    public static IDisposable ForStep(double flopsPerStep)
    {
        int before = torch.get_num_threads();
        int wanted = flopsPerStep < SingleThreadBelowFlops ? 1 : before;
        if (wanted != before) torch.set_num_threads(wanted);
        return new Restore(before, wanted != before);
    }

    sealed class Restore(int threads, bool changed) : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (changed) torch.set_num_threads(threads);
        }
    }
}
