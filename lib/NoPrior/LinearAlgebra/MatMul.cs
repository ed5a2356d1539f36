using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace NoPrior.LinearAlgebra;

/// <summary>
/// Matrix products for the workbook's hot loops (the attack step, training, the stationarity sums). On a CPU with
/// AVX-512 and float64/float32 tensors that need no autograd history, the product runs in this project's blocked
/// kernel (<see cref="Avx512Gemm"/>), ~1.7× faster than libtorch's oneMKL on the AMD machines this workbook was
/// measured on; everywhere else (CUDA, other dtypes, tensors that require grad under grad mode, tiny products,
/// <see cref="Enabled"/> = false) it is libtorch's own <c>mm</c>/<c>addmm</c>. Same shapes and semantics as
/// <c>torch.mm</c>/<c>torch.addmm</c>; results agree with libtorch to rounding (~1e-15 relative in float64).
/// </summary>
/// <remarks>
/// Threads: the kernel uses <see cref="Threads"/> (set by <see cref="Parallelism.ForStep"/> in the attack and training
/// loops, which also put libtorch on one thread) or else libtorch's intra-op count. Called outside those loops right
/// after a multi-threaded libtorch operation, the kernel shares the cores with libtorch's spin-waiting OpenMP workers for
/// a few milliseconds: the result is the same, only slower.
/// Determinism: results are bitwise identical for any thread count and from run to run (tested); oneMKL's are not
/// guaranteed to be across thread counts.
/// </remarks>
public static class MatMul
{
    /// <summary>Use the AVX-512 kernel where it applies (default true). Set false to compare with libtorch.</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>Products with fewer multiply-adds (m·n·k) than this go to libtorch.</summary>
    public static long MinMultiplyAdds { get; set; } = 32 * 32 * 32;

    /// <summary>Below this many multiply-adds the kernel runs on the calling thread only.</summary>
    public static long SingleThreadBelow { get; set; } = 1L << 20;

    const long MinSide = 16;

    static readonly AsyncLocal<int?> _threads = new();

    /// <summary>Threads of the kernel; null (default) means libtorch's intra-op count (<c>torch.get_num_threads()</c>).
    /// <see cref="Parallelism.ForStep"/> sets it for the hot loops (see there why).</summary>
    public static int? Threads
    {
        get => _threads.Value;
        set
        {
            if (value is < 1) throw new ArgumentOutOfRangeException(nameof(value), $"The kernel needs at least one thread, got {value}.");
            _threads.Value = value;
        }
    }

    static string? _unavailable;

    /// <summary>Why the kernel is not used on this machine, or null if it is available.</summary>
    public static string? Unavailable => _unavailable ??= Probe();

    /// <summary>True when CPU float64/float32 products run in the kernel (enabled and available on this machine).</summary>
    public static bool KernelActive => Enabled && string.IsNullOrEmpty(Unavailable);

    /// <summary>True when products of tensors of this device and dtype (without autograd) run in the kernel.</summary>
    public static bool RunsInKernel(Device device, ScalarType dtype)
        => KernelActive && device.type == DeviceType.CPU && dtype is ScalarType.Float64 or ScalarType.Float32;

    /// <summary>Which backend runs the products and why, for notebooks and the benchmark: "AVX-512 kernel … (reason)"
    /// or "libtorch (reason)".</summary>
    public static string Backend => !Enabled ? "libtorch (MatMul.Enabled = false)"
        : Unavailable is { Length: > 0 } why ? $"libtorch ({why})"
        : "AVX-512 kernel for float64/float32 products on CPU, libtorch elsewhere (this CPU has AVX-512F, where the kernel "
          + "measured faster than libtorch's oneMKL; MatMul.Enabled = false compares)";

    /// <summary>a·b for a [m, k] and b [k, n] (any strides, e.g. <c>w.t()</c>); a new [m, n] tensor.</summary>
    public static Tensor Product(Tensor a, Tensor b)
    {
        var (m, k, n) = Check(a, b, null);
        if (!UseKernel(a, b, null, m, k, n)) return a.mm(b);
        var c = torch.empty(m, n, dtype: a.dtype, device: a.device);
        Run(c, a, b, beta: 0, alpha: 1, m, k, n);
        return c;
    }

    /// <summary>β·c + α·a·b as a new tensor (torch.addmm); c must have shape [m, n].</summary>
    public static Tensor AddProduct(Tensor c, Tensor a, Tensor b, double beta = 1, double alpha = 1)
    {
        var (m, k, n) = Check(a, b, c);
        if (!UseKernel(a, b, c, m, k, n)) return LibtorchAddmm(c, a, b, beta, alpha, inPlace: false);
        var result = torch.empty(m, n, dtype: c.dtype, device: c.device).copy_(c);
        Run(result, a, b, beta, alpha, m, k, n);
        return result;
    }

    /// <summary>c ← β·c + α·a·b in place (torch's addmm_); returns c.</summary>
    public static Tensor AddProductInPlace(Tensor c, Tensor a, Tensor b, double beta = 1, double alpha = 1)
    {
        var (m, k, n) = Check(a, b, c);
        // c is also a factor: neither the kernel (it would read values it has already overwritten) nor libtorch's addmm_
        // (measured: wrong by ~1e4 on a 300×300 c ← c + c·b, on a CPU without AVX-512 where this path runs) may update it
        // in place while reading it. The product goes to a new tensor first.
        bool aliased = Overlaps(c, a) || Overlaps(c, b);
        if (!UseKernel(a, b, c, m, k, n) && !aliased) return LibtorchAddmm(c, a, b, beta, alpha, inPlace: true);
        if (aliased || c.stride(1) != 1 || c.stride(0) < n)
        {
            // Aliased, or c's rows are not unit-stride: the product out of place (kernel or libtorch), the update in libtorch.
            using var product = Product(a, b);
            return Accumulate(c, product, beta, alpha, inPlace: true);
        }
        Run(c, a, b, beta, alpha, m, k, n);
        return c;
    }

    /// <summary>β·c + α·a·b in libtorch. TorchSharp passes addmm's β and α as float32, so addmm only when that is exact.</summary>
    static Tensor LibtorchAddmm(Tensor c, Tensor a, Tensor b, double beta, double alpha, bool inPlace)
    {
        if (ExactInFloat(beta) && ExactInFloat(alpha))
            return inPlace ? c.addmm_(a, b, beta: (float)beta, alpha: (float)alpha) : torch.addmm(c, a, b, beta: (float)beta, alpha: (float)alpha);
        using var product = a.mm(b);
        return Accumulate(c, product, beta, alpha, inPlace);
    }

    /// <summary>β·c + α·product; with β = 0, c is overwritten (NaNs in it do not propagate), as in BLAS.</summary>
    static Tensor Accumulate(Tensor c, Tensor product, double beta, double alpha, bool inPlace)
    {
        var target = inPlace ? c : torch.empty_like(c);
        if (beta == 0) return target.copy_(product).mul_(alpha);
        if (!inPlace) target.copy_(c);
        return target.mul_(beta).add_(product, alpha: alpha);
    }

    static bool ExactInFloat(double v) => (double)(float)v == v;

    static (long M, long K, long N) Check(Tensor a, Tensor b, Tensor? c)
    {
        if (a.dim() != 2 || b.dim() != 2)
            throw new ArgumentException($"Matrix product needs two matrices, got shapes [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        if (a.shape[1] != b.shape[0])
            throw new ArgumentException($"Matrix product shapes do not match: [{a.shape[0]}, {a.shape[1]}] · [{b.shape[0]}, {b.shape[1]}].");
        if (a.dtype != b.dtype) throw new ArgumentException($"Matrix product of {a.dtype} and {b.dtype}: convert one first.");
        if (a.device.ToString() != b.device.ToString()) throw new ArgumentException($"Matrix product of tensors on {a.device} and {b.device}.");
        if (c is not null)
        {
            if (c.dim() != 2 || c.shape[0] != a.shape[0] || c.shape[1] != b.shape[1])
                throw new ArgumentException($"The accumulator has shape [{string.Join(", ", c.shape)}]; the product is [{a.shape[0]}, {b.shape[1]}].");
            if (c.dtype != a.dtype || c.device.ToString() != a.device.ToString())
                throw new ArgumentException($"The accumulator is {c.dtype} on {c.device}; the factors are {a.dtype} on {a.device}.");
        }
        return (a.shape[0], a.shape[1], b.shape[1]);
    }

    static bool UseKernel(Tensor a, Tensor b, Tensor? c, long m, long k, long n)
    {
        if (!RunsInKernel(a.device, a.dtype)) return false;
        if ((double)m * n * k < MinMultiplyAdds) return false;
        // Matrix-vector-like products (a side below 16) are memory-bound; the 8 × 24 tiles would mostly be padding.
        if (m < MinSide || n < MinSide) return false;
        if (m > int.MaxValue || n > int.MaxValue || k > int.MaxValue) return false;
        // The kernel records no autograd history: products that autograd must see stay in libtorch.
        if (torch.is_grad_enabled() && (a.requires_grad || b.requires_grad || (c?.requires_grad ?? false))) return false;
        return true;
    }

    /// <summary>Whether the memory spans of two CPU matrices intersect (conservatively: their address ranges).</summary>
    static bool Overlaps(Tensor x, Tensor y)
    {
        static (long Start, long End) Span(Tensor t)
        {
            long start = Data(t).ToInt64();
            long last = (t.shape[0] - 1) * t.stride(0) + (t.shape[1] - 1) * t.stride(1);
            return (start, start + (last + 1) * t.element_size());
        }
        var (xs, xe) = Span(x);
        var (ys, ye) = Span(y);
        return xs < ye && ys < xe;
    }

    static unsafe void Run(Tensor c, Tensor a, Tensor b, double beta, double alpha, long m, long k, long n)
    {
        int threads = (double)m * n * k < SingleThreadBelow ? 1 : Threads ?? torch.get_num_threads();
        IntPtr pa = Data(a), pb = Data(b), pc = Data(c);
        if (a.dtype == ScalarType.Float64)
            Avx512Gemm.Run((int)m, (int)n, (int)k, alpha, (double*)pa, a.stride(0), a.stride(1), (double*)pb, b.stride(0), b.stride(1), beta, (double*)pc, c.stride(0), threads);
        else
            Avx512Gemm.Run((int)m, (int)n, (int)k, (float)alpha, (float*)pa, a.stride(0), a.stride(1), (float*)pb, b.stride(0), b.stride(1), (float)beta, (float*)pc, c.stride(0), threads);
        GC.KeepAlive(a); GC.KeepAlive(b); GC.KeepAlive(c);
    }

    /// <summary>The address of a tensor's first element (storage offset included), from LibTorchSharp's own export.
    /// TorchSharp 0.107 has no public accessor for it; the library is already loaded by TorchSharp and has the soname
    /// libLibTorchSharp.so, so the import resolves to the same instance.</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    static IntPtr Data(Tensor t)
    {
        var p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero) throw new InvalidOperationException($"libtorch returned no data pointer for a {t.dtype} tensor of shape [{string.Join(", ", t.shape)}].");
        return p;
    }

    static string Probe()
    {
        if (!Avx512Gemm.IsSupported) return "this CPU or runtime has no AVX-512";
        try
        {
            // Check the data-pointer import on a tensor whose first element is known.
            using var t = torch.arange(3, dtype: ScalarType.Float64);
            using var tail = t[TensorIndex.Slice(1)];
            unsafe { if (*(double*)Data(tail) != 1.0) return "LibTorchSharp's data pointer does not include the storage offset"; }
            return "";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"LibTorchSharp's THSTensor_data is not reachable: {e.Message}";
        }
    }
}
