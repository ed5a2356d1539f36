using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NoPrior.LinearAlgebra;

/// <summary>
/// The 8 × (3·lanes) AVX-512 micro-kernel: 24 of the 32 zmm registers accumulate, per k three loads of B and eight
/// broadcasts of A (float64: 8 × 24, float32: 8 × 48).
/// </summary>
internal readonly unsafe struct Avx512Tile : IMicroKernel
{
    public static bool IsSupported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;
    public static int MR => 8;
    public static int NR<T>() where T : unmanaged => 3 * Vector512<T>.Count;
    public static string Name => "AVX-512 kernel (8 × 3 vectors)";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile<T>(int kb, T* a, T* b, T* c, long ldc, T beta, StoreMode mode) where T : unmanaged
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
            a += 8; b += 3 * lanes;
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
}

/// <summary>
/// The 6 × (2·lanes) AVX2 + FMA micro-kernel (the shape BLIS uses on Haswell-class cores): 12 of the 16 ymm registers
/// accumulate, two hold B and one the broadcast of A, so nothing spills (float64: 6 × 8, float32: 6 × 16). Runs on
/// every x86-64 CPU of the last decade, including AVX-512 CPUs whose 512-bit operations are split into two 256-bit
/// halves (AMD Zen 4), where <see cref="MatMul"/>'s calibration decides between it, <see cref="Avx512Tile"/> and libtorch.
/// </summary>
internal readonly unsafe struct Avx2Tile : IMicroKernel
{
    public static bool IsSupported => Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported && Vector256.IsHardwareAccelerated;
    public static int MR => 6;
    public static int NR<T>() where T : unmanaged => 2 * Vector256<T>.Count;
    public static string Name => "AVX2 kernel (6 × 2 vectors)";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile<T>(int kb, T* a, T* b, T* c, long ldc, T beta, StoreMode mode) where T : unmanaged
    {
        int lanes = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kb; p++)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + lanes);
            Vector256<T> x;
            x = Vector256.Create(a[0]); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            a += 6; b += 2 * lanes;
        }
        var vb = Vector256.Create(beta);
        StoreRow(c, lanes, c00, c01, vb, mode); c += ldc;
        StoreRow(c, lanes, c10, c11, vb, mode); c += ldc;
        StoreRow(c, lanes, c20, c21, vb, mode); c += ldc;
        StoreRow(c, lanes, c30, c31, vb, mode); c += ldc;
        StoreRow(c, lanes, c40, c41, vb, mode); c += ldc;
        StoreRow(c, lanes, c50, c51, vb, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<T>(T* c, int lanes, Vector256<T> v0, Vector256<T> v1, Vector256<T> beta, StoreMode mode) where T : unmanaged
    {
        if (mode == StoreMode.Add) { v0 += Vector256.Load(c); v1 += Vector256.Load(c + lanes); }
        else if (mode == StoreMode.Scale) { v0 = Fma(beta, Vector256.Load(c), v0); v1 = Fma(beta, Vector256.Load(c + lanes), v1); }
        v0.Store(c); v1.Store(c + lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(double)) return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        return System.Runtime.Intrinsics.X86.Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
    }
}
