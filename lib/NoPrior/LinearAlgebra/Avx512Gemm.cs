using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NoPrior.LinearAlgebra;

/// <summary>
/// C ← β·C + α·A·B for float64 and float32 on CPUs with AVX-512, blocked and packed in the style of BLIS
/// (van Zee &amp; van de Geijn 2015): a register-blocked 8 × (3·lanes) micro-kernel of fused multiply-adds, A packed
/// in 8-row slivers, B in (3·lanes)-column slivers, both zero-padded at the edges.
/// </summary>
/// <remarks>
/// Why it exists: the libtorch in the TorchSharp packages links Intel oneMKL, which takes its generic AVX2 path on
/// AMD processors (MKL_VERBOSE reports "Intel(R) Architecture processors" on this project's AMD EPYC machines) and
/// multiplies float64 matrices at ~122 GFLOP/s on 2 cores, while the same cores reach ~206 GFLOP/s with OpenBLAS's
/// AVX-512 kernels. See bench/README.md for the measurements.
/// <para>Determinism: every element of C is computed by one thread, summing over k in the same blocked order whatever
/// the thread count, so results are bitwise identical for any number of threads.</para>
/// <para>A and B are read through arbitrary element strides (transposed views need no copy); C must have unit
/// column stride.</para>
/// </remarks>
internal static unsafe class Avx512Gemm
{
    /// <summary>Rows of the micro-tile.</summary>
    public const int MR = 8;
    /// <summary>k-depth of a packed block: A sliver 8·KC and B sliver 24·KC float64 values stay in L1/L2.</summary>
    const int KC = 256;
    /// <summary>Rows of a packed A block (a multiple of MR).</summary>
    const int MC = 96;

    public static bool IsSupported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>Columns of the micro-tile for element type T: three 512-bit vectors.</summary>
    public static int NR<T>() where T : unmanaged => 3 * Vector512<T>.Count;

    /// <summary>C[m×n] ← β·C + α·A[m×k]·B[k×n]. Element (i, j) of A is a[i·ars + j·acs], of B b[i·brs + j·bcs], of C c[i·ldc + j].
    /// With β = 0, C is overwritten (NaNs in it do not propagate), as in BLAS.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tier-0 code: unoptimised packing boxes every element
    public static void Run<T>(int m, int n, int k, T alpha, T* a, long ars, long acs, T* b, long brs, long bcs, T beta, T* c, long ldc, int threads)
        where T : unmanaged
    {
        if (typeof(T) != typeof(double) && typeof(T) != typeof(float)) throw new NotSupportedException($"Element type {typeof(T).Name} is not supported.");
        if (m <= 0 || n <= 0) return;
        if (k <= 0) { ScaleC(m, n, beta, c, ldc); return; }
        int nr = NR<T>();
        // Equal k-blocks of at most KC (784 = 4 × 196 rather than 3 × 256 + 16: a short last block wastes the C traffic).
        int kBlocks = (k + KC - 1) / KC, kc = (k + kBlocks - 1) / kBlocks;
        int colSlivers = (n + nr - 1) / nr, rowSlivers = (m + MR - 1) / MR;
        threads = Math.Max(1, Math.Min(threads, rowSlivers * colSlivers));
        // Work items: blocks of rows (at most MC, and small enough that there are two items per thread), split into
        // column chunks only when there are fewer row blocks than threads. Each item packs the rows of A it uses, so
        // row blocks cost no repeated packing while column chunks repack A (at m = 40 that doubled a product's cost).
        // Items are taken dynamically, so a thread slowed by something else on the machine does not hold the others
        // up; which thread computes an item does not change its arithmetic.
        int rowsPerItem = Math.Clamp((m + 2 * threads - 1) / (2 * threads), 1, MC);
        rowsPerItem = Math.Min(MC, (rowsPerItem + MR - 1) / MR * MR);
        int rowBlocks = (m + rowsPerItem - 1) / rowsPerItem;
        int colChunks = rowBlocks >= threads ? 1 : Math.Min(colSlivers, (2 * threads + rowBlocks - 1) / rowBlocks);
        int items = rowBlocks * colChunks;
        // Phase 1: all of B packed once (every k-block), shared by all items. Phase 2: the items. Two fork-joins per
        // product, whatever k is.
        long bBlock = (long)kc * colSlivers * nr;
        T* pb = (T*)Buffers.Shared(sizeof(T) * bBlock * kBlocks);
        int packJobs = kBlocks * threads;
        WorkerTeam.Run(threads, packJobs, job =>
        {
            int kblock = job / threads, t = job % threads, p0 = kblock * kc;
            PackB(Math.Min(kc, k - p0), (int)((long)colSlivers * t / threads), (int)((long)colSlivers * (t + 1) / threads), n,
                b + p0 * brs, brs, bcs, pb + kblock * bBlock, nr);
        });
        WorkerTeam.Run(threads, items, it => Item(it, rowsPerItem, colChunks, colSlivers, m, n, k, kc, alpha, a, ars, acs, pb, bBlock, beta, c, ldc));
    }

    /// <summary>One work item: a block of rows of C (a chunk of its columns) over all k-blocks; A is packed here, scaled by α.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tier-0 code: unoptimised packing boxes every element
    static void Item<T>(int it, int rowsPerItem, int colChunks, int colSlivers, int m, int n, int k, int kc, T alpha, T* a, long ars, long acs, T* pb, long bBlock, T beta, T* c, long ldc)
        where T : unmanaged
    {
        int nr = NR<T>();
        int ib = it / colChunks * rowsPerItem, chunk = it % colChunks;
        int s0 = (int)((long)colSlivers * chunk / colChunks), s1 = (int)((long)colSlivers * (chunk + 1) / colChunks);
        int rows = Math.Min(rowsPerItem, m - ib);
        var local = Buffers.Local(sizeof(T) * (long)kc * MC, sizeof(T) * MR * nr);
        T* pa = (T*)local.A, edge = (T*)local.Edge;
        for (int p0 = 0, kblock = 0; p0 < k; p0 += kc, kblock++)
        {
            int kb = Math.Min(kc, k - p0);
            // First k-block: C ← β·C + AB (β = 0 overwrites); later blocks accumulate.
            var mode = p0 > 0 || IsOne(beta) ? StoreMode.Add : IsZero(beta) ? StoreMode.Overwrite : StoreMode.Scale;
            PackA(rows, kb, alpha, a + ib * ars + p0 * acs, ars, acs, pa);
            T* pbk = pb + kblock * bBlock;
            for (int s = s0; s < s1; s++)
            {
                int jc = s * nr, w = Math.Min(nr, n - jc);
                T* bs = pbk + (long)s * kb * nr;
                for (int r = 0; r < rows; r += MR)
                {
                    int h = Math.Min(MR, rows - r);
                    T* cs = c + (ib + r) * ldc + jc;
                    if (h == MR && w == nr) { Kernel(kb, pa + (long)r * kb, bs, cs, ldc, beta, mode); continue; }
                    // Edge tile: compute the full padded tile into a scratch tile, then merge the valid part.
                    Kernel(kb, pa + (long)r * kb, bs, edge, nr, default, StoreMode.Overwrite);
                    for (int i = 0; i < h; i++)
                        for (int j = 0; j < w; j++)
                        {
                            ref T dst = ref cs[i * ldc + j];
                            T v = edge[i * nr + j];
                            dst = mode switch { StoreMode.Overwrite => v, StoreMode.Add => Add(dst, v), _ => FmaScalar(beta, dst, v) };
                        }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tier-0 code: unoptimised packing boxes every element
    static void ScaleC<T>(int m, int n, T beta, T* c, long ldc) where T : unmanaged
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + i * ldc, n);
            if (IsZero(beta)) row.Clear();
            else for (int j = 0; j < n; j++) row[j] = Mul(beta, row[j]);
        }
    }

    enum StoreMode { Overwrite, Add, Scale }

    /// <summary>Slivers [s0, s1) of B rows [0, kb) (n columns) into pb: sliver s holds kb rows of nr values, zero-padded past n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tier-0 code: unoptimised packing boxes every element
    static void PackB<T>(int kb, int s0, int s1, int n, T* b, long brs, long bcs, T* pb, int nr) where T : unmanaged
    {
        for (int s = s0; s < s1; s++)
        {
            int j0 = s * nr, w = Math.Min(nr, n - j0);
            T* dst = pb + (long)s * kb * nr;
            if (bcs == 1 && w == nr)
            {
                for (int p = 0; p < kb; p++) Buffer.MemoryCopy(b + p * brs + j0, dst + p * nr, nr * sizeof(T), nr * sizeof(T));
                continue;
            }
            // Strided columns (e.g. B = Wᵀ of a row-major W): one AVX-512 gather per vector of the sliver's row.
            // Scalar copies cost ~3 cycles an element, as much as the multiply itself when A has few rows.
            if (w == nr && (long)(nr - 1) * bcs <= int.MaxValue)
            {
                GatherRows(kb, b + j0 * bcs, brs, bcs, dst, nr);
                continue;
            }
            for (int p = 0; p < kb; p++)
            {
                T* src = b + p * brs + j0 * bcs;
                T* row = dst + p * nr;
                int j = 0;
                for (; j < w; j++) row[j] = src[j * bcs];
                for (; j < nr; j++) row[j] = default;
            }
        }
    }

    /// <summary>dst[p·width + j] = src[p·step + j·stride] for p &lt; count, j &lt; width (a multiple of 8), by AVX2
    /// gathers (.NET exposes no 512-bit gather); with <paramref name="scaled"/> the values are multiplied by <paramref name="scale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void GatherRows<T>(int count, T* src, long step, long stride, T* dst, int width, T scale = default, bool scaled = false) where T : unmanaged
    {
        if (typeof(T) == typeof(double))
        {
            var lane = Vector128.Create(0, 1, 2, 3) * (int)stride;
            var factor = Vector256.Create((double)(object)scale);
            for (int p = 0; p < count; p++)
            {
                double* from = (double*)src + p * step, to = (double*)dst + (long)p * width;
                for (int j = 0; j < width; j += 4)
                {
                    var v = Avx2.GatherVector256(from + j * stride, lane, 8);
                    (scaled ? v * factor : v).Store(to + j);
                }
            }
        }
        else
        {
            var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * (int)stride;
            var factor = Vector256.Create((float)(object)scale);
            for (int p = 0; p < count; p++)
            {
                float* from = (float*)src + p * step, to = (float*)dst + (long)p * width;
                for (int j = 0; j < width; j += 8)
                {
                    var v = Avx2.GatherVector256(from + j * stride, lane, 4);
                    (scaled ? v * factor : v).Store(to + j);
                }
            }
        }
    }

    /// <summary>α·A rows [0, rows) × columns [0, kb) into slivers of MR rows: sliver r holds kb columns of MR values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // no tier-0 code: unoptimised packing boxes every element
    static void PackA<T>(int rows, int kb, T alpha, T* a, long ars, long acs, T* pa) where T : unmanaged
    {
        bool scale = !IsOne(alpha);
        for (int r0 = 0; r0 < rows; r0 += MR)
        {
            int h = Math.Min(MR, rows - r0);
            T* dst = pa + (long)r0 * kb;
            // A full sliver of double rows: one gather of the 8 rows per column p (float: MR is half a vector, scalar).
            if (typeof(T) == typeof(double) && h == MR && (long)(MR - 1) * ars <= int.MaxValue)
            {
                GatherRows(kb, a + r0 * ars, acs, ars, dst, MR, alpha, scale);
                continue;
            }
            for (int i = 0; i < MR; i++)
            {
                if (i >= h) { for (int p = 0; p < kb; p++) dst[p * MR + i] = default; continue; }
                T* src = a + (r0 + i) * ars;
                if (scale) for (int p = 0; p < kb; p++) dst[p * MR + i] = Mul(alpha, src[p * acs]);
                else for (int p = 0; p < kb; p++) dst[p * MR + i] = src[p * acs];
            }
        }
    }

    /// <summary>The 8 × (3·lanes) micro-kernel: 24 accumulators, per k three loads of B and eight broadcasts of A.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel<T>(int kb, T* a, T* b, T* c, long ldc, T beta, StoreMode mode) where T : unmanaged
    {
        int lanes = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector512<T> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        Vector512<T> c40 = default, c41 = default, c42 = default, c50 = default, c51 = default, c52 = default;
        Vector512<T> c60 = default, c61 = default, c62 = default, c70 = default, c71 = default, c72 = default;
        for (int p = 0; p < kb; p++)
        {
            var b0 = Vector512.Load(b); var b1 = Vector512.Load(b + lanes); var b2 = Vector512.Load(b + 2 * lanes);
            Vector512<T> x;
            x = Vector512.Create(a[0]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01); c02 = Fma(x, b2, c02);
            x = Vector512.Create(a[1]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11); c12 = Fma(x, b2, c12);
            x = Vector512.Create(a[2]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21); c22 = Fma(x, b2, c22);
            x = Vector512.Create(a[3]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31); c32 = Fma(x, b2, c32);
            x = Vector512.Create(a[4]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41); c42 = Fma(x, b2, c42);
            x = Vector512.Create(a[5]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51); c52 = Fma(x, b2, c52);
            x = Vector512.Create(a[6]); c60 = Fma(x, b0, c60); c61 = Fma(x, b1, c61); c62 = Fma(x, b2, c62);
            x = Vector512.Create(a[7]); c70 = Fma(x, b0, c70); c71 = Fma(x, b1, c71); c72 = Fma(x, b2, c72);
            a += MR; b += 3 * lanes;
        }
        var vb = Vector512.Create(beta);
        StoreRow(c, lanes, c00, c01, c02, vb, mode); c += ldc;
        StoreRow(c, lanes, c10, c11, c12, vb, mode); c += ldc;
        StoreRow(c, lanes, c20, c21, c22, vb, mode); c += ldc;
        StoreRow(c, lanes, c30, c31, c32, vb, mode); c += ldc;
        StoreRow(c, lanes, c40, c41, c42, vb, mode); c += ldc;
        StoreRow(c, lanes, c50, c51, c52, vb, mode); c += ldc;
        StoreRow(c, lanes, c60, c61, c62, vb, mode); c += ldc;
        StoreRow(c, lanes, c70, c71, c72, vb, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<T>(T* c, int lanes, Vector512<T> v0, Vector512<T> v1, Vector512<T> v2, Vector512<T> beta, StoreMode mode) where T : unmanaged
    {
        if (mode == StoreMode.Add)
        {
            v0 += Vector512.Load(c); v1 += Vector512.Load(c + lanes); v2 += Vector512.Load(c + 2 * lanes);
        }
        else if (mode == StoreMode.Scale)
        {
            v0 = Fma(beta, Vector512.Load(c), v0); v1 = Fma(beta, Vector512.Load(c + lanes), v1); v2 = Fma(beta, Vector512.Load(c + 2 * lanes), v2);
        }
        v0.Store(c); v1.Store(c + lanes); v2.Store(c + 2 * lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) return Avx512F.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        return Avx512F.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Mul<T>(T x, T y) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) { double r = (double)(object)x * (double)(object)y; return (T)(object)r; }
        float f = (float)(object)x * (float)(object)y; return (T)(object)f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Add<T>(T x, T y) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) { double r = (double)(object)x + (double)(object)y; return (T)(object)r; }
        float f = (float)(object)x + (float)(object)y; return (T)(object)f;
    }

    /// <summary>x·y + z with one rounding, as the vector kernel's Scale store does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T FmaScalar<T>(T x, T y, T z) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) { double r = Math.FusedMultiplyAdd((double)(object)x, (double)(object)y, (double)(object)z); return (T)(object)r; }
        float f = MathF.FusedMultiplyAdd((float)(object)x, (float)(object)y, (float)(object)z); return (T)(object)f;
    }

    static bool IsZero<T>(T x) where T : unmanaged => typeof(T) == typeof(double) ? (double)(object)x == 0 : (float)(object)x == 0;
    static bool IsOne<T>(T x) where T : unmanaged => typeof(T) == typeof(double) ? (double)(object)x == 1 : (float)(object)x == 1;

    /// <summary>Per-thread packing buffers, 64-byte aligned, grown on demand, kept for the thread's lifetime and freed
    /// by the finalizer once the thread has ended. <see cref="Shared"/> holds packed B for the GEMM the thread is
    /// running; <see cref="Local"/> holds the packed A block and the edge tile of the item the thread is computing (a
    /// calling thread also computes items, so the two are separate).</summary>
    sealed class Buffers
    {
        [ThreadStatic] static Buffers? _shared, _local;
        byte* _base;
        long _bytes;
        public byte* A, Edge;

        static long Align(long bytes) => (bytes + 63) & ~63L;

        byte* Ensure(long total)
        {
            if (_bytes < total)
            {
                if (_base != null) NativeMemory.AlignedFree(_base);
                _base = null;
                _base = (byte*)NativeMemory.AlignedAlloc((nuint)total, 64);
                _bytes = total;
            }
            return _base;
        }

        public static byte* Shared(long bytes) => (_shared ??= new Buffers()).Ensure(Align(bytes));

        public static Buffers Local(long aBytes, long edgeBytes)
        {
            var buf = _local ??= new Buffers();
            buf.A = buf.Ensure(Align(aBytes) + Align(edgeBytes));
            buf.Edge = buf.A + Align(aBytes);
            return buf;
        }

        ~Buffers() { if (_base != null) NativeMemory.AlignedFree(_base); }
    }
}
