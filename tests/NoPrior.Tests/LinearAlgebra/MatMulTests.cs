using System.Runtime.Intrinsics.X86;
using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>The blocked matrix-product kernel, with every micro-kernel this machine can run, against libtorch
/// (MatMul.Enabled = false gives libtorch's own product).</summary>
[Collection("MatMul settings")] // tests here change MatMul's static switches
public class MatMulTests
{
    /// <summary>Runs <paramref name="body"/> once per kernel this machine can run, with MatMul pinned to it.</summary>
    internal static void ForEachKernel(Action<ProductBackend> body)
    {
        var before = MatMul.Pinned;
        try
        {
            foreach (var kernel in ProductCalibration.Kernels())
            {
                MatMul.Pinned = kernel;
                Assert.True(MatMul.RunsInKernel(CPU, ScalarType.Float64), $"pinned to {kernel}, the products must run in it");
                body(kernel);
            }
        }
        finally { MatMul.Pinned = before; }
    }

    static Tensor LibtorchProduct(Tensor a, Tensor b)
    {
        MatMul.Enabled = false;
        try { return MatMul.Product(a, b); } finally { MatMul.Enabled = true; }
    }

    /// <summary>max |x − y| / max (|A|·|B|): the error relative to the size of the terms summed.</summary>
    static double ScaledError(Tensor x, Tensor y, Tensor a, Tensor b)
    {
        using var scale = a.abs().mm(b.abs());
        return TestData.MaxAbs(x - y) / Math.Max(1e-300, scale.max().ToDouble());
    }

    /// <summary>A [rows, cols] operand as a plain, transposed, offset non-contiguous or strided view of a larger tensor.</summary>
    static Tensor Operand(long seed, long rows, long cols, string layout, ScalarType dtype)
    {
        using var t = layout switch
        {
            "transposed" => TestData.Randn(seed, cols, rows).t(),
            "sliced" => TestData.Randn(seed, rows + 3, cols + 5)[TensorIndex.Slice(2, 2 + rows), TensorIndex.Slice(3, 3 + cols)],
            // Neither stride 1 (every second row and column): BLAS cannot read it in place, so OpenBLAS gets a copy.
            "strided" => TestData.Randn(seed, 2 * rows, 2 * cols)[TensorIndex.Slice(0, null, 2), TensorIndex.Slice(1, null, 2)],
            _ => TestData.Randn(seed, rows, cols),
        };
        return t.to(dtype);
    }

    /// <summary>AVX-512 present and accelerated by .NET (it reports 512-bit vectors as not accelerated on CPUs that
    /// throttle them, e.g. Skylake-X; the AVX-512 kernel then cannot be chosen).</summary>
    internal static bool Avx512 => Avx512F.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
    internal static bool Avx2 => System.Runtime.Intrinsics.X86.Avx2.IsSupported && Fma.IsSupported && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated;

    [Fact]
    public void Kernels_are_offered_exactly_where_the_cpu_can_run_them()
    {
        var kernels = ProductCalibration.Kernels();
        Assert.Equal(Avx512, kernels.Contains(ProductBackend.Avx512Kernel));
        Assert.Equal(Avx2, kernels.Contains(ProductBackend.Avx2Kernel));
        // OpenBLAS is offered exactly where the loader finds it (checked here independently of OpenBlas.Load).
        if (Environment.GetEnvironmentVariable("NOPRIOR_OPENBLAS") is null or "")
            Assert.Equal(System.Runtime.InteropServices.NativeLibrary.TryLoad("libopenblas.so.0", out _), kernels.Contains(ProductBackend.OpenBlas));
        Assert.Equal(kernels.Length == 0, MatMul.Unavailable.Length > 0);
        var chosen = MatMul.Choice(ScalarType.Float64).Choice;
        Assert.True(chosen == ProductBackend.Libtorch || kernels.Contains(chosen), $"chose {chosen}, which this machine cannot run");
        Assert.Equal(chosen != ProductBackend.Libtorch, MatMul.KernelActive);
        Assert.False(MatMul.RunsInKernel(CPU, ScalarType.Int64));
        Assert.Contains("Int64", Assert.Throws<ArgumentException>(() => MatMul.Choice(ScalarType.Int64)).Message);
        // Pinning a kernel this CPU lacks is refused with the reason (here only if some kernel is missing).
        foreach (var missing in Enum.GetValues<ProductBackend>().Where(b => !ProductCalibration.CanRun(b)))
            Assert.Contains("cannot run here", Assert.Throws<ArgumentException>(() => MatMul.Pinned = missing).Message);
        MatMul.Enabled = false;
        try { Assert.Equal(ProductBackend.Libtorch, MatMul.Choice(ScalarType.Float64).Choice); }
        finally { MatMul.Enabled = true; }
    }

    [Theory]
    [InlineData(16, 16, 16)]
    [InlineData(33, 1, 47)]          // k = 1
    [InlineData(17, 300, 23)]        // every tile an edge tile
    [InlineData(100, 37, 999)]
    [InlineData(257, 513, 129)]      // k split into equal blocks, edges in both directions
    [InlineData(96, 784, 48)]        // exact tiles
    [InlineData(40, 784, 400)]       // the notebooks' first layer
    public void Products_equal_libtorch_for_every_layout(int m, int k, int n) => ForEachKernel(kernel =>
    {
        foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
        foreach (var la in new[] { "plain", "transposed", "sliced", "strided" })
        foreach (var lb in new[] { "plain", "transposed", "sliced", "strided" })
        {
            using var a = Operand(1, m, k, la, dtype);
            using var b = Operand(2, k, n, lb, dtype);
            using var want = LibtorchProduct(a, b);
            using var got = MatMul.Product(a, b);
            double tol = dtype == ScalarType.Float64 ? 1e-14 : 1e-5;
            Assert.True(ScaledError(got, want, a, b) <= tol, $"{kernel} {dtype} {la}·{lb} {m}×{k}×{n}: error {ScaledError(got, want, a, b):E2}");
        }
    });

    [Fact]
    public void The_comparison_detects_a_wrong_product()
    {
        // The failing case of the check above: a product with B's columns in another order is far outside 1e-14.
        using var a = TestData.Randn(3, 64, 64);
        using var b = TestData.Randn(4, 64, 64);
        using var want = LibtorchProduct(a, b);
        ForEachKernel(kernel =>
        {
            using var wrong = MatMul.Product(a, b.flip(1));
            Assert.True(ScaledError(wrong, want, a, b) > 1e-2, kernel.ToString());
        });
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(1.0, -1.0)]
    [InlineData(0.5, -2.0)]
    [InlineData(0.1, 0.3)] // not exact in float32: libtorch's addmm gets them as floats, so the fallback must not use it
    public void Accumulating_products_equal_beta_c_plus_alpha_ab(double beta, double alpha) => ForEachKernel(kernel =>
    {
        using var a = TestData.Randn(5, 70, 90);
        using var b = TestData.Randn(6, 90, 50).t().contiguous().t(); // column-major B
        using var c = TestData.Randn(7, 70, 50);
        using var exact = c * beta + LibtorchProduct(a, b) * alpha;
        using var made = MatMul.AddProduct(c, a, b, beta, alpha);
        Assert.True(ScaledError(made, exact, a, b) <= 1e-14, $"AddProduct error {ScaledError(made, exact, a, b):E2}");
        MatMul.Enabled = false;
        try
        {
            using var fallback = MatMul.AddProduct(c, a, b, beta, alpha);
            Assert.True(ScaledError(fallback, exact, a, b) <= 1e-14, $"libtorch fallback error {ScaledError(fallback, exact, a, b):E2}");
        }
        finally { MatMul.Enabled = true; }
        using var inPlace = c.clone();
        MatMul.AddProductInPlace(inPlace, a, b, beta, alpha);
        Assert.True(ScaledError(inPlace, exact, a, b) <= 1e-14, $"in-place error {ScaledError(inPlace, exact, a, b):E2}");
        using var unchanged = TestData.Randn(7, 70, 50);
        Assert.Equal(0.0, TestData.MaxAbs(c - unchanged)); // AddProduct leaves c alone
    });

    [Fact]
    public void Beta_zero_overwrites_nan_as_blas_does() => ForEachKernel(kernel =>
    {
        using var a = TestData.Randn(8, 32, 40);
        using var b = TestData.Randn(9, 40, 24);
        using var c = torch.full(32, 24, double.NaN, dtype: ScalarType.Float64);
        MatMul.AddProductInPlace(c, a, b, beta: 0, alpha: 1);
        using var want = LibtorchProduct(a, b);
        Assert.True(ScaledError(c, want, a, b) <= 1e-14);
        // The same through the paths that update c in libtorch: c with non-unit row stride (a transposed view), and
        // the libtorch fallback with an α that float32 cannot hold.
        using var cT = torch.full(24, 32, double.NaN, dtype: ScalarType.Float64).t();
        MatMul.AddProductInPlace(cT, a, b, beta: 0, alpha: 1);
        Assert.True(ScaledError(cT, want, a, b) <= 1e-14, $"strided accumulator: error {ScaledError(cT, want, a, b):E2}");
        using var d = torch.full(32, 24, double.NaN, dtype: ScalarType.Float64);
        MatMul.Enabled = false;
        try
        {
            using var made = MatMul.AddProduct(d, a, b, beta: 0, alpha: 0.1);
            using var want01 = want * 0.1;
            Assert.True(ScaledError(made, want01, a, b) <= 1e-14, $"libtorch fallback: error {ScaledError(made, want01, a, b):E2}");
        }
        finally { MatMul.Enabled = true; }
    });

    /// <summary>This project's kernels give bitwise the same product for any thread count. OpenBLAS does not (measured:
    /// 2 threads differ from 1 by ~5e-14 here), so for it the test asks what it does promise: the same bits from call
    /// to call at one thread count, and agreement to rounding across thread counts.</summary>
    [Fact]
    public void Results_are_bitwise_identical_for_any_thread_count() => ForEachKernel(kernel =>
    {
        using var a = TestData.Randn(10, 203, 517);
        using var b = TestData.Randn(11, 517, 301);
        bool ownKernel = kernel != ProductBackend.OpenBlas;
        var before = MatMul.Threads;
        try
        {
            MatMul.Threads = 1;
            using var one = MatMul.Product(a, b);
            foreach (int t in new[] { 2, 3, 5 })
            {
                MatMul.Threads = t;
                using var many = MatMul.Product(a, b);
                using var again = MatMul.Product(a, b);
                Assert.True(TestData.MaxAbs(many - again) == 0, $"{kernel}: two products at {t} threads differ by {TestData.MaxAbs(many - again):E2}");
                if (ownKernel)
                    Assert.True(TestData.MaxAbs(one - many) == 0, $"{kernel}: {t} threads differ from 1 thread by {TestData.MaxAbs(one - many):E2}");
                else
                    Assert.True(ScaledError(many, one, a, b) <= 1e-14, $"{kernel}: {t} threads differ from 1 thread by {ScaledError(many, one, a, b):E2} of the terms' size");
            }
        }
        finally { MatMul.Threads = before; }
    });

    [Fact]
    public void The_tally_counts_products_and_their_multiply_adds()
    {
        // Other test classes may multiply at the same time (the tally is process-wide), so the deltas are lower bounds.
        var before = MatMul.Tally;
        using var a = TestData.Randn(14, 40, 50);
        using var b = TestData.Randn(15, 50, 30);
        using var c = TestData.Randn(16, 40, 30);
        MatMul.Product(a, b).Dispose();
        MatMul.AddProduct(c, a, b).Dispose();
        var after = MatMul.Tally;
        Assert.True(after.Products - before.Products >= 2, $"{after.Products - before.Products} products counted");
        Assert.True(after.MultiplyAdds - before.MultiplyAdds >= 2 * 40 * 50 * 30, $"{after.MultiplyAdds - before.MultiplyAdds} multiply-adds counted");
        Assert.True(after.Time > before.Time);
        // The rate on numbers: 1e9 multiply-adds in one second is 2 GFLOP/s; nothing timed gives 0, not a division by zero.
        Assert.Equal(2.0, new ProductTally(1, 1_000_000_000, TimeSpan.FromSeconds(1)).GigaflopsPerSecond, 12);
        Assert.Equal(0.0, new ProductTally(0, 0, TimeSpan.Zero).GigaflopsPerSecond);
    }

    [Fact]
    public void Products_autograd_must_see_stay_in_libtorch()
    {
        using var a = TestData.Randn(12, 48, 64).requires_grad_(true);
        using var b = TestData.Randn(13, 64, 32);
        using var p = MatMul.Product(a, b);
        Assert.True(p.requires_grad);
        var g = torch.autograd.grad(new[] { p.sum() }, new[] { a })[0];
        using var want = torch.ones(48, 32, dtype: ScalarType.Float64).mm(b.t());
        Assert.True(TestData.MaxAbs(g - want) <= 1e-12);
    }

    [Fact]
    public void Bad_operands_get_errors_that_name_the_problem()
    {
        using var a = TestData.Randn(14, 20, 30);
        using var b = TestData.Randn(15, 31, 20);
        var e = Assert.Throws<ArgumentException>(() => MatMul.Product(a, b));
        Assert.Contains("[20, 30] · [31, 20]", e.Message);
        using var v = TestData.Randn(16, 30);
        Assert.Contains("two matrices", Assert.Throws<ArgumentException>(() => MatMul.Product(a, v)).Message);
        using var f = TestData.Randn(17, 30, 20).to(ScalarType.Float32);
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => MatMul.Product(a, f)).Message);
        using var c = TestData.Randn(18, 20, 21);
        using var b2 = TestData.Randn(19, 30, 20);
        Assert.Contains("accumulator", Assert.Throws<ArgumentException>(() => MatMul.AddProduct(c, a, b2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMul.Threads = 0);
    }

    /// <summary>Libtorch keeps one thread beside the kernel only while its OpenMP workers spin (no OMP_WAIT_POLICY=PASSIVE
    /// at process start; <c>./workbook test</c> exports PASSIVE, a bare <c>dotnet test</c> does not).</summary>
    [Fact]
    public void Hot_loops_give_the_kernel_every_thread_and_libtorch_one_unless_its_workers_sleep()
    {
        int before = torch.get_num_threads();
        Assert.Equal(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY")?.ToUpperInvariant() == "PASSIVE" || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") == "0",
            Parallelism.OpenMpWorkersSleep);
        using (Parallelism.ForStep(1e12, kernelProducts: true))
        {
            Assert.Equal(Parallelism.OpenMpWorkersSleep ? before : 1, torch.get_num_threads());
            Assert.Equal(before, MatMul.Threads);
        }
        Assert.Equal(before, torch.get_num_threads());
        Assert.Null(MatMul.Threads);
        using (Parallelism.ForStep(1e12, kernelProducts: false)) Assert.Equal(before, torch.get_num_threads());
        using (Parallelism.ForStep(10, kernelProducts: true)) Assert.Equal(1, MatMul.Threads);
    }
}
