using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NoPrior.LinearAlgebra;

/// <summary>How the micro-kernel combines a finished tile with C.</summary>
internal enum StoreMode { Overwrite, Add, Scale }

/// <summary>A register-blocked micro-kernel: C[MR × NR] (⊕) Σ_p a[p·MR + i]·b[p·NR + j] over a packed A sliver and a
/// packed B sliver (see <see cref="BlockedGemm{TKernel}"/>). Implemented by empty structs, so every use is specialised and inlined.</summary>
internal unsafe interface IMicroKernel
{
    /// <summary>Whether this CPU and runtime can run it.</summary>
    static abstract bool IsSupported { get; }
    /// <summary>Rows of the tile.</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the tile for element type T.</summary>
    static abstract int NR<T>() where T : unmanaged;
    /// <summary>Name for <see cref="MatMul.Backend"/>.</summary>
    static abstract string Name { get; }
    static abstract void Tile<T>(int kb, T* a, T* b, T* c, long ldc, T beta, StoreMode mode) where T : unmanaged;
}

/// <summary>
/// C ← β·C + α·A·B for float64 and float32, blocked and packed in the style of BLIS (van Zee &amp; van de Geijn 2015)
/// around a register-blocked micro-kernel of fused multiply-adds (<typeparamref name="TKernel"/>: 8 × 3 vectors with
/// AVX-512's 32 registers, <see cref="Avx512Tile"/>; 6 × 2 vectors with AVX2's 16, <see cref="Avx2Tile"/>), A packed in
/// MR-row slivers, B in NR-column slivers, both zero-padded at the edges.
/// </summary>
/// <remarks>
/// Why it exists: the libtorch in the TorchSharp packages links Intel oneMKL, which takes its generic AVX2 path on
/// AMD processors (MKL_VERBOSE reports "Intel(R) Architecture processors" on this project's AMD EPYC machines) and
/// multiplies float64 matrices at ~122 GFLOP/s on 2 Zen 5 cores, while the same cores reach ~206 GFLOP/s with OpenBLAS's
/// AVX-512 kernels. Whether a kernel beats libtorch depends on the machine (on Zen 4, whose AVX-512 runs on 256-bit
/// units, it did not): <see cref="MatMul"/> measures before it chooses. See bench/README.md for the measurements.
/// <para>Determinism: every element of C is computed by one thread, summing over k in the same blocked order whatever
/// the thread count, so results are bitwise identical for any number of threads (for one micro-kernel; two kernels
/// differ by rounding).</para>
/// <para>A and B are read through arbitrary element strides (transposed views need no copy); C must have unit
/// column stride.</para>
/// </remarks>
internal static unsafe class BlockedGemm<TKernel> where TKernel : struct, IMicroKernel
{
    /// <summary>Rows of the micro-tile.</summary>
    static int MR => TKernel.MR;
    /// <summary>k-depth of a packed block: an A sliver (MR·KC) and a B sliver (NR·KC) stay in L1/L2.</summary>
    const int KC = 256;
    /// <summary>Rows of a packed A block (a multiple of MR: 96 = 12·8 = 16·6).</summary>
    const int MC = 96;

    public static bool IsSupported => TKernel.IsSupported;

    /// <summary>Columns of the micro-tile for element type T.</summary>
    public static int NR<T>() where T : unmanaged => TKernel.NR<T>();

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
        T* pb = (T*)GemmBuffers.Shared(sizeof(T) * bBlock * kBlocks);
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
        var local = GemmBuffers.Local(sizeof(T) * (long)kc * MC, sizeof(T) * MR * nr);
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
                    if (h == MR && w == nr) { TKernel.Tile(kb, pa + (long)r * kb, bs, cs, ldc, beta, mode); continue; }
                    // Edge tile: compute the full padded tile into a scratch tile, then merge the valid part.
                    TKernel.Tile(kb, pa + (long)r * kb, bs, edge, nr, default, StoreMode.Overwrite);
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
            // A full sliver of double rows: gathers of 4 rows per column p when MR is a multiple of 4 (the AVX-512 tile's 8;
            // the AVX2 tile's 6 rows and float32's half vectors take the scalar loop).
            if (typeof(T) == typeof(double) && MR % 4 == 0 && h == MR && (long)(MR - 1) * ars <= int.MaxValue)
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
}

/// <summary>Per-thread packing buffers, 64-byte aligned, grown on demand, kept for the thread's lifetime and freed
/// by the finalizer once the thread has ended. <see cref="Shared"/> holds packed B for the GEMM the thread is
/// running (one set per thread, whichever micro-kernel runs); <see cref="Local"/> holds the packed A block and the edge tile of the item the thread is computing (a
/// calling thread also computes items, so the two are separate).</summary>
internal sealed unsafe class GemmBuffers
{
    [ThreadStatic] static GemmBuffers? _shared, _local;
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

    public static byte* Shared(long bytes) => (_shared ??= new GemmBuffers()).Ensure(Align(bytes));

    public static GemmBuffers Local(long aBytes, long edgeBytes)
    {
        var buf = _local ??= new GemmBuffers();
        buf.A = buf.Ensure(Align(aBytes) + Align(edgeBytes));
        buf.Edge = buf.A + Align(aBytes);
        return buf;
    }

    ~GemmBuffers() { if (_base != null) NativeMemory.AlignedFree(_base); }
}
