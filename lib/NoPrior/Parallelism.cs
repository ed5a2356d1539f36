using NoPrior.LinearAlgebra;

namespace NoPrior;

/// <summary>
/// Thread counts for the workbook's hot loops (attack steps, GD steps). Two decisions:
/// <list type="number">
/// <item>Small problems run on one thread: a GD step of a 2-50-1 network on 40 points took 0.045 ms with 1 thread and
/// 0.25 ms with 2 on this project's 2-core machines, because the per-operation cost of waking the second thread exceeds
/// the work. Large steps use every thread (libtorch's intra-op count when the scope opens).</item>
/// <item>When the matrix products run in <see cref="MatMul"/>'s own kernel, libtorch's elementwise operations run on one
/// thread and the kernel gets all of them. Reason: libtorch's OpenMP (libgomp) workers spin-wait after every parallel
/// region (GOMP_SPINCOUNT, milliseconds on these CPUs), so a 2-thread libtorch elementwise op followed by the kernel's
/// 2 threads put 3 busy threads on 2 cores. Measured on the reference attack step (m = 1000, 784-1000-1000-1, float64):
/// 215–240 ms with both at 2 threads, 115–125 ms with <c>OMP_WAIT_POLICY=PASSIVE</c>, 122–131 ms with this split.
/// So the split applies only while libgomp spins: in a process started with OMP_WAIT_POLICY=PASSIVE (every process
/// <c>./workbook</c> starts) libtorch keeps its full width beside the kernel (<see cref="OpenMpWorkersSleep"/>). Measured
/// on Zen 3 with OpenBLAS products and PASSIVE, reference training step (n = 500, 784-1000-1000-1), alternating
/// processes: 113, 107, 117 ms at full width against 124, 115, 123 ms with the split; the reference attack step showed
/// no difference beyond the noise (456, 493, 451 against 460, 435, 470 ms).</item>
/// </list>
/// </summary>
public static class Parallelism
{
    /// <summary>Whether libtorch's OpenMP workers sleep when idle instead of spinning: OMP_WAIT_POLICY=PASSIVE or
    /// GOMP_SPINCOUNT=0 in the environment this process started with (libgomp reads them once, when libtorch loads; a
    /// variable set later from .NET does not reach it). The <c>./workbook</c> script exports PASSIVE.</summary>
    public static bool OpenMpWorkersSleep { get; } =
        string.Equals(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")?.Trim(), "PASSIVE", StringComparison.OrdinalIgnoreCase)
        || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT")?.Trim() == "0";

    /// <summary>Below this many floating-point operations per step, loops run on a single thread.</summary>
    public static double SingleThreadBelowFlops { get; set; } = 2e7;

    /// <summary>Sets the thread counts suited to a step of <paramref name="flopsPerStep"/> operations; disposing restores
    /// libtorch's previous count and <see cref="MatMul.Threads"/>.</summary>
    /// <param name="flopsPerStep">Floating-point operations of one step.</param>
    /// <param name="kernelProducts">True if the step's large products go through <see cref="MatMul"/> without autograd
    /// on a CPU float tensor (see <see cref="MatMul.RunsInKernel"/>); false keeps libtorch at full width (e.g. the
    /// attack's autograd path, whose products libtorch must record).</param>
    public static IDisposable ForStep(double flopsPerStep, bool kernelProducts = false)
    {
        int before = torch.get_num_threads();
        int? kernelBefore = MatMul.Threads;
        int wanted = flopsPerStep < SingleThreadBelowFlops ? 1 : before;
        int torchThreads = kernelProducts && !OpenMpWorkersSleep ? 1 : wanted;
        if (torchThreads != before) torch.set_num_threads(torchThreads);
        MatMul.Threads = wanted;
        return new Restore(before, torchThreads != before, kernelBefore);
    }

    sealed class Restore(int threads, bool changed, int? kernelThreads) : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            if (changed) torch.set_num_threads(threads);
            MatMul.Threads = kernelThreads;
        }
    }
}
