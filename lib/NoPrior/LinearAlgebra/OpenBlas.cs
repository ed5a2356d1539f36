using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NoPrior.LinearAlgebra;

/// <summary>
/// The machine's OpenBLAS (on Debian, <c>libopenblas0-pthread</c>, which <c>./workbook setup</c> installs), loaded at
/// run time when present, as one more candidate of <see cref="ProductCalibration"/>: <c>cblas_dgemm</c> and
/// <c>cblas_sgemm</c> on the tensors' own memory. Absent, the candidate is simply not offered.
/// </summary>
/// <remarks>
/// Why: on AMD processors the libtorch of the TorchSharp packages multiplies through oneMKL's generic AVX2 path, and
/// this project's AVX2 kernel is slower still on Zen 3; OpenBLAS has kernels tuned per core type (it reports "Zen" here)
/// and was the fastest float64 product in this project's benchmark on Zen 3 (bench/README.md).
/// <para>Which library: $NOPRIOR_OPENBLAS (a path, or "none" to never load one), else libopenblas.so.0 (the LP64
/// build: 32-bit integers, as declared below) from the loader's path. Only OpenBLAS is taken, not any libblas.so.3,
/// since a reference BLAS behind that name would be slow and could not say which threads it uses.</para>
/// <para>Threads: OpenBLAS keeps its own pool; <see cref="Gemm{T}"/> sets its thread count to the one
/// <see cref="MatMul"/> asks for before the call when it differs (<c>openblas_set_num_threads</c> is process-wide, so
/// two threads multiplying at once with different counts share one setting: the results are the same, the speed may
/// not be).</para>
/// </remarks>
internal static unsafe class OpenBlas
{
    const int RowMajor = 101, NoTrans = 111, Trans = 112;

    sealed class Library
    {
        public required delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> Dgemm;
        public required delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
        public required delegate* unmanaged<int, void> SetThreads;
        public required string Name;
    }

    static readonly Lazy<(Library? Lib, string Why)> Loaded = new(Load);
    static readonly object ThreadGate = new();
    static int _threads = -1;

    /// <summary>Whether an OpenBLAS with both products was found and loaded.</summary>
    public static bool IsAvailable => Loaded.Value.Lib is not null;

    /// <summary>"OpenBLAS 0.3.21 (Zen kernels, pthreads)", from the library's own description, or "OpenBLAS".</summary>
    public static string Name => Loaded.Value.Lib?.Name ?? "OpenBLAS";

    /// <summary>Why no OpenBLAS is available ("" if one is).</summary>
    public static string Unavailable => Loaded.Value.Why;

    static (Library?, string) Load()
    {
        var env = Environment.GetEnvironmentVariable("NOPRIOR_OPENBLAS")?.Trim();
        if (string.Equals(env, "none", StringComparison.OrdinalIgnoreCase)) return (null, "NOPRIOR_OPENBLAS=none");
        var names = string.IsNullOrEmpty(env) ? new[] { "libopenblas.so.0", "libopenblas.0.dylib", "libopenblas.dll" } : new[] { env };
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "cblas_dgemm", out var dgemm) || !NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm)
                || !NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var set))
                return (null, $"{name} has no cblas_dgemm, cblas_sgemm or openblas_set_num_threads: not an OpenBLAS with CBLAS");
            return (new Library
            {
                Dgemm = (delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)dgemm,
                Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm,
                SetThreads = (delegate* unmanaged<int, void>)set,
                Name = Describe(handle),
            }, "");
        }
        return (null, string.IsNullOrEmpty(env)
            ? "no OpenBLAS found (libopenblas.so.0; on Debian: apt install libopenblas0-pthread)"
            : $"NOPRIOR_OPENBLAS = '{env}' could not be loaded");
    }

    static string Describe(IntPtr handle)
    {
        static string? Text(IntPtr h, string export) =>
            NativeLibrary.TryGetExport(h, export, out var f) && ((delegate* unmanaged<IntPtr>)f)() is var p && p != IntPtr.Zero ? Marshal.PtrToStringAnsi(p)?.Trim() : null;
        string config = Text(handle, "openblas_get_config") ?? "OpenBLAS";
        string? core = Text(handle, "openblas_get_corename");
        string? parallel = NativeLibrary.TryGetExport(handle, "openblas_get_parallel", out var f)
            ? ((delegate* unmanaged<int>)f)() switch { 0 => "sequential", 1 => "pthreads", 2 => "OpenMP", var x => $"parallel mode {x}" }
            : null;
        // The config starts with "OpenBLAS 0.3.21"; its build flags (DYNAMIC_ARCH, NO_AFFINITY, …) are left out.
        string version = string.Join(' ', config.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));
        var notes = new[] { core is null ? null : $"{core} kernels", parallel }.Where(s => s is not null);
        return $"{version} ({string.Join(", ", notes)})";
    }

    /// <summary>The CBLAS transpose flag and leading dimension for a [rows, cols] matrix with these element strides,
    /// or null when BLAS cannot read it in place (neither dimension unit-stride, overlapping rows, a stride beyond int).</summary>
    public static (int Trans, int Ld)? Layout(long rows, long cols, long rowStride, long colStride)
    {
        if ((colStride == 1 || cols == 1) && rowStride >= Math.Max(1, cols) && rowStride <= int.MaxValue) return (NoTrans, (int)rowStride);
        if ((rowStride == 1 || rows == 1) && colStride >= Math.Max(1, rows) && colStride <= int.MaxValue) return (Trans, (int)colStride);
        // A single row or column with any stride: describe it as contiguous along its one dimension.
        if (rows == 1 && cols == 1) return (NoTrans, 1);
        return null;
    }

    /// <summary>c ← β·c + α·a·b with a [m, k] at (ars, acs), b [k, n] at (brs, bcs) and c [m, n] with unit column
    /// stride and row stride ldc ≥ n; a and b must have a <see cref="Layout"/>.</summary>
    public static void Gemm<T>(int m, int n, int k, T alpha, T* a, long ars, long acs, T* b, long brs, long bcs, T beta, T* c, long ldc, int threads)
        where T : unmanaged
    {
        var lib = Loaded.Value.Lib ?? throw new InvalidOperationException($"OpenBLAS is not available: {Unavailable}.");
        var (ta, lda) = Layout(m, k, ars, acs) ?? throw new ArgumentException("OpenBLAS cannot read the left factor in place.");
        var (tb, ldb) = Layout(k, n, brs, bcs) ?? throw new ArgumentException("OpenBLAS cannot read the right factor in place.");
        if (ldc < Math.Max(1, n) || ldc > int.MaxValue) throw new ArgumentException($"The product's row stride {ldc} does not fit BLAS (n = {n}).");
        // NoTrans needs lda ≥ k and Trans needs lda ≥ m; Layout checked the stride against the dimension it strides.
        if (_threads != threads)
            lock (ThreadGate)
                if (_threads != threads) { lib.SetThreads(threads); _threads = threads; }
        if (typeof(T) == typeof(double))
            lib.Dgemm(RowMajor, ta, tb, m, n, k, Unsafe.As<T, double>(ref alpha), (double*)a, lda, (double*)b, ldb, Unsafe.As<T, double>(ref beta), (double*)c, (int)ldc);
        else if (typeof(T) == typeof(float))
            lib.Sgemm(RowMajor, ta, tb, m, n, k, Unsafe.As<T, float>(ref alpha), (float*)a, lda, (float*)b, ldb, Unsafe.As<T, float>(ref beta), (float*)c, (int)ldc);
        else throw new NotSupportedException($"OpenBLAS products of {typeof(T).Name}.");
    }
}
