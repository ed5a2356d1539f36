using System.Diagnostics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace NoPrior.LinearAlgebra;

/// <summary>
/// Matrix products for the workbook's hot loops (the attack step, training, the stationarity sums). Large products of
/// CPU float64/float32 tensors that need no autograd history run in whichever backend measured fastest on this machine
/// (<see cref="Choice"/>): this project's blocked kernel (<see cref="BlockedGemm{TKernel}"/>, with an AVX-512 or an AVX2
/// micro-kernel), the machine's OpenBLAS where one is installed (<see cref="OpenBlas"/>), or libtorch's own
/// <c>mm</c>/<c>addmm</c>. "Kernel" below means any backend other than libtorch. Everything else (CUDA, other dtypes, tensors that require
/// grad under grad mode, tiny products, <see cref="Enabled"/> = false) goes to libtorch. Same shapes and semantics as
/// <c>torch.mm</c>/<c>torch.addmm</c>; the backends agree to rounding (~1e-15 relative in float64).
/// </summary>
/// <remarks>
/// Choice: measured once per machine for small and for large products (<see cref="ProductCalibration"/>: the candidates
/// time the same products, another backend must beat libtorch by 5 % and in every round) and cached in
/// <see cref="CacheFile"/>, so every later process on the machine uses the same backend and gives the same numbers.
/// <see cref="Pinned"/> (or NOPRIOR_MATMUL=libtorch|avx2|avx512|openblas) fixes it instead,
/// e.g. to compare backends or to reproduce numbers from another machine bit for bit where both can run it.
/// <see cref="Tally"/> counts every product's multiply-adds and time, to split a step into products and the rest.
/// Threads: the kernel uses <see cref="Threads"/> (set by <see cref="Parallelism.ForStep"/> in the attack and training
/// loops, which also put libtorch on one thread unless its OpenMP workers sleep) or else libtorch's intra-op count. Called outside those loops right
/// after a multi-threaded libtorch operation, the kernel shares the cores with libtorch's spin-waiting OpenMP workers for
/// a few milliseconds: the result is the same, only slower.
/// Determinism: this project's kernels give bitwise identical results for any thread count and from run to run
/// (tested); OpenBLAS's (tested) and oneMKL's are the same from run to run at one thread count and agree to rounding
/// across thread counts. <see cref="Parallelism.ForStep"/> fixes the thread count per step size, so the same machine and
/// settings give the same numbers.
/// </remarks>
public static class MatMul
{
    /// <summary>Use a kernel where one was chosen (default true). Set false to send every product to libtorch.</summary>
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

    static readonly object Gate = new();
    static ProductBackend? _pinned;
    static bool _pinRead;
    static readonly Dictionary<(ScalarType, int, ProductSize), ProductChoice> _choices = new();
    static string? _cacheFile;
    static bool _cacheFileSet;
    static readonly IReadOnlyDictionary<ProductBackend, double> NoTimes = new Dictionary<ProductBackend, double>();

    /// <summary>A backend fixed by hand instead of measured (null: measure). Starts as NOPRIOR_MATMUL says (auto,
    /// libtorch, avx2, avx512). Setting a kernel this CPU cannot run throws, naming it.</summary>
    public static ProductBackend? Pinned
    {
        get { lock (Gate) { ReadPin(); return _pinned; } }
        set
        {
            if (value is { } b && !ProductCalibration.CanRun(b))
                throw new ArgumentException($"{ProductCalibration.Describe(b)} cannot run here: {ProductCalibration.WhyNot(b)}.");
            if (value is not null and not ProductBackend.Libtorch && !string.IsNullOrEmpty(Unavailable))
                throw new ArgumentException($"The kernel cannot run here: {Unavailable}.");
            lock (Gate) { _pinRead = true; _pinned = value; }
        }
    }

    static void ReadPin()
    {
        if (_pinRead) return;
        _pinRead = true;
        var pin = ProductCalibration.PinnedByEnvironment();
        if (pin is { } b && !ProductCalibration.CanRun(b))
            throw new InvalidOperationException($"NOPRIOR_MATMUL asks for {ProductCalibration.Describe(b)}, which cannot run here ({ProductCalibration.WhyNot(b)}); unset it or use libtorch.");
        _pinned = pin;
    }

    /// <summary>The file that keeps the measured choices (null: measure in every process, keep nothing). Default:
    /// $NOPRIOR_MATMUL_CACHE, else $XDG_CACHE_HOME/noprior/matmul-backend.json, else ~/.cache/noprior/matmul-backend.json.
    /// Delete it to measure again.</summary>
    public static string? CacheFile
    {
        get { lock (Gate) return _cacheFileSet ? _cacheFile : ProductCalibration.DefaultCacheFile(); }
        set { lock (Gate) { _cacheFile = value; _cacheFileSet = true; _choices.Clear(); } }
    }

    /// <summary>Forgets the choices made in this process, so the next product reads the cache again (or measures).</summary>
    public static void ForgetChoices() { lock (Gate) _choices.Clear(); }

    static string? _unavailable;

    /// <summary>Why no kernel can run on this machine, or "" if one can (which one is used is <see cref="Choice"/>).</summary>
    public static string Unavailable => _unavailable ??= Probe();

    /// <summary>The backend of CPU products of <paramref name="dtype"/> (float64 or float32) in the class
    /// <paramref name="size"/> and why: pinned, cached from an earlier measurement on this machine, or measured now (the
    /// first call per dtype, thread count and class in a process without a cache entry takes ~0.1–0.3 s). Libtorch when
    /// <see cref="Enabled"/> is false.</summary>
    public static ProductChoice Choice(ScalarType dtype, ProductSize size = ProductSize.Large)
    {
        if (dtype is not (ScalarType.Float64 or ScalarType.Float32))
            throw new ArgumentException($"Only float64 and float32 products have a choice of backend, not {dtype}.");
        var none = NoTimes;
        int threads = Threads ?? torch.get_num_threads();
        if (!Enabled) return new ProductChoice(dtype, ProductBackend.Libtorch, none, threads, "MatMul.Enabled = false", size);
        lock (Gate)
        {
            ReadPin();
            if (_pinned is { } pin) return new ProductChoice(dtype, pin, none, threads, "pinned by MatMul.Pinned or NOPRIOR_MATMUL", size);
            if (Unavailable is { Length: > 0 } why) return new ProductChoice(dtype, ProductBackend.Libtorch, none, threads, why, size);
            if (_choices.TryGetValue((dtype, threads, size), out var known)) return known;
            string? file = CacheFile;
            string key = ProductCalibration.Key(dtype, threads, size);
            var choice = file is null ? null : ProductCalibration.Read(file, key, dtype, threads, size);
            if (choice is null)
            {
                // One process measures while the others wait, then read its result: processes started together on a
                // fresh machine (a test run, a sweep) make the same choice.
                using var machineLock = file is null ? null : ProductCalibration.Lock(file);
                choice = file is null ? null : ProductCalibration.Read(file, key, dtype, threads, size);
                if (choice is null)
                {
                    choice = ProductCalibration.Measure(dtype, threads, size);
                    string? failed = file is null ? "no cache file" : ProductCalibration.Write(file, key, choice);
                    choice = choice with { Source = failed is null ? $"measured now, cached in {file}" : $"measured now, not cached ({failed})" };
                }
            }
            return _choices[(dtype, threads, size)] = choice;
        }
    }

    /// <summary>
    /// <see cref="Choice"/> for float64 and float32, small and large products, at one thread and at libtorch's intra-op
    /// count: every choice the hot loops ask for (<see cref="Parallelism.ForStep"/> runs small steps on one thread). Measured now where the cache
    /// lacks them. Why up front: a calibration times the backends against each other, so it must run while nothing else
    /// loads the machine; made lazily by the first of two notebooks run side by side, it once chose the AVX2 kernel at
    /// libtorch's 56 against the kernel's 35 ms, where idle calibrations on that machine chose libtorch (29.6 against 38.0 ms).
    /// <c>workbook run</c>, a local <c>workbook sweep</c> and <c>./workbook test</c> call this before they start anything.
    /// </summary>
    public static IReadOnlyList<ProductChoice> ChooseAll()
    {
        var before = Threads;
        try
        {
            var choices = new List<ProductChoice>();
            foreach (int t in new[] { 1, torch.get_num_threads() }.Distinct())
                foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
                    foreach (var size in Enum.GetValues<ProductSize>())
                    {
                        Threads = t;
                        choices.Add(Choice(dtype, size));
                    }
            return choices;
        }
        finally { Threads = before; }
    }

    /// <summary>True when large CPU float64 products run in a kernel (enabled, and a kernel chosen on this machine).</summary>
    public static bool KernelActive => RunsInKernel(CPU, ScalarType.Float64);

    /// <summary>True when products of tensors of this device and dtype (without autograd) in the class
    /// <paramref name="size"/> run in a kernel.</summary>
    public static bool RunsInKernel(Device device, ScalarType dtype, ProductSize size = ProductSize.Large) => ChosenKernel(device, dtype, size) is not null;

    /// <summary>The kernel that products of this device, dtype and class (without autograd) run in, or null for libtorch.</summary>
    static ProductBackend? ChosenKernel(Device device, ScalarType dtype, ProductSize size)
    {
        if (!Enabled || device.type != DeviceType.CPU || dtype is not (ScalarType.Float64 or ScalarType.Float32)) return null;
        var chosen = Choice(dtype, size).Choice;
        return chosen == ProductBackend.Libtorch ? null : chosen;
    }

    /// <summary>Which backend runs float64 products, large and small, and why, for notebooks and the benchmark.</summary>
    public static string Backend => $"{Choice(ScalarType.Float64)}; {Choice(ScalarType.Float64, ProductSize.Small)}";

    /// <summary>What the products through this class have cost so far in this process (every backend, libtorch's
    /// fallbacks included): their number, multiply-adds (m·n·k summed) and wall time. The benchmark reads it to split a
    /// step's time into products and the rest. Times are of the call, so on CUDA (asynchronous) only of the launch.</summary>
    public static ProductTally Tally => new(Interlocked.Read(ref _products), Interlocked.Read(ref _multiplyAdds),
        TimeSpan.FromTicks((long)(Interlocked.Read(ref _timestampTicks) * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency))));

    /// <summary>Starts <see cref="Tally"/> from zero.</summary>
    public static void ResetTally()
    {
        Interlocked.Exchange(ref _products, 0);
        Interlocked.Exchange(ref _multiplyAdds, 0);
        Interlocked.Exchange(ref _timestampTicks, 0);
    }

    static long _products, _multiplyAdds, _timestampTicks;

    static void Count(long started, long m, long k, long n)
    {
        Interlocked.Add(ref _timestampTicks, Stopwatch.GetTimestamp() - started);
        Interlocked.Add(ref _multiplyAdds, m * n * k);
        Interlocked.Increment(ref _products);
    }

    /// <summary>a·b for a [m, k] and b [k, n] (any strides, e.g. <c>w.t()</c>); a new [m, n] tensor.</summary>
    public static Tensor Product(Tensor a, Tensor b)
    {
        var (m, k, n) = Check(a, b, null);
        long started = Stopwatch.GetTimestamp();
        try { return ProductOf(a, b, m, k, n); }
        finally { Count(started, m, k, n); }
    }

    static Tensor ProductOf(Tensor a, Tensor b, long m, long k, long n)
    {
        if (KernelFor(a, b, null, m, k, n) is not { } kernel) return a.mm(b);
        var c = torch.empty(m, n, dtype: a.dtype, device: a.device);
        Run(kernel, c, a, b, beta: 0, alpha: 1, m, k, n);
        return c;
    }

    /// <summary>β·c + α·a·b as a new tensor (torch.addmm); c must have shape [m, n].</summary>
    public static Tensor AddProduct(Tensor c, Tensor a, Tensor b, double beta = 1, double alpha = 1)
    {
        var (m, k, n) = Check(a, b, c);
        long started = Stopwatch.GetTimestamp();
        try
        {
            if (KernelFor(a, b, c, m, k, n) is not { } kernel) return LibtorchAddmm(c, a, b, beta, alpha, inPlace: false);
            var result = torch.empty(m, n, dtype: c.dtype, device: c.device).copy_(c);
            Run(kernel, result, a, b, beta, alpha, m, k, n);
            return result;
        }
        finally { Count(started, m, k, n); }
    }

    /// <summary>c ← β·c + α·a·b in place (torch's addmm_); returns c.</summary>
    public static Tensor AddProductInPlace(Tensor c, Tensor a, Tensor b, double beta = 1, double alpha = 1)
    {
        var (m, k, n) = Check(a, b, c);
        long started = Stopwatch.GetTimestamp();
        try { return AddInPlace(c, a, b, beta, alpha, m, k, n); }
        finally { Count(started, m, k, n); }
    }

    static Tensor AddInPlace(Tensor c, Tensor a, Tensor b, double beta, double alpha, long m, long k, long n)
    {
        // c is also a factor: neither the kernel (it would read values it has already overwritten) nor libtorch's addmm_
        // (measured: wrong by ~1e4 on a 300×300 c ← c + c·b, on a CPU without AVX-512 where this path runs) may update it
        // in place while reading it. The product goes to a new tensor first.
        bool aliased = Overlaps(c, a) || Overlaps(c, b);
        var kernel = KernelFor(a, b, c, m, k, n);
        if (kernel is null && !aliased) return LibtorchAddmm(c, a, b, beta, alpha, inPlace: true);
        if (kernel is null || aliased || c.stride(1) != 1 || c.stride(0) < n)
        {
            // Aliased, or c's rows are not unit-stride: the product out of place (kernel or libtorch), the update in libtorch.
            using var product = ProductOf(a, b, m, k, n);
            return Accumulate(c, product, beta, alpha, inPlace: true);
        }
        Run(kernel.Value, c, a, b, beta, alpha, m, k, n);
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

    /// <summary>The kernel this product runs in, or null for libtorch.</summary>
    static ProductBackend? KernelFor(Tensor a, Tensor b, Tensor? c, long m, long k, long n)
    {
        if ((double)m * n * k < MinMultiplyAdds) return null;
        // Matrix-vector-like products (a side below 16) are memory-bound; the 8 × 24 tiles would mostly be padding.
        if (m < MinSide || n < MinSide) return null;
        if (m > int.MaxValue || n > int.MaxValue || k > int.MaxValue) return null;
        // The kernel records no autograd history: products that autograd must see stay in libtorch.
        if (torch.is_grad_enabled() && (a.requires_grad || b.requires_grad || (c?.requires_grad ?? false))) return null;
        // Last, so that products below MinMultiplyAdds never start a calibration.
        return ChosenKernel(a.device, a.dtype, ProductCalibration.SizeOf(m, k, n));
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

    static void Run(ProductBackend kernel, Tensor c, Tensor a, Tensor b, double beta, double alpha, long m, long k, long n)
    {
        int threads = (double)m * n * k < SingleThreadBelow ? 1 : Threads ?? torch.get_num_threads();
        Gemm(kernel, c, a, b, beta, alpha, m, k, n, threads);
    }

    /// <summary>c ← a·b in <paramref name="backend"/> (the calibration's candidates; shapes already checked).</summary>
    internal static void RunWith(ProductBackend backend, Tensor c, Tensor a, Tensor b, int threads)
    {
        if (backend == ProductBackend.Libtorch) { c.addmm_(a, b, beta: 0, alpha: 1); return; }
        Gemm(backend, c, a, b, 0, 1, a.shape[0], a.shape[1], b.shape[1], threads);
    }

    static unsafe void Gemm(ProductBackend backend, Tensor c, Tensor a, Tensor b, double beta, double alpha, long m, long k, long n, int threads)
    {
        IntPtr pa = Data(a), pb = Data(b), pc = Data(c);
        long ars = a.stride(0), acs = a.stride(1), brs = b.stride(0), bcs = b.stride(1), ldc = c.stride(0);
        bool f64 = a.dtype == ScalarType.Float64;
        switch (backend)
        {
            case ProductBackend.Avx512Kernel when f64:
                BlockedGemm<Avx512Tile>.Run((int)m, (int)n, (int)k, alpha, (double*)pa, ars, acs, (double*)pb, brs, bcs, beta, (double*)pc, ldc, threads); break;
            case ProductBackend.Avx512Kernel:
                BlockedGemm<Avx512Tile>.Run((int)m, (int)n, (int)k, (float)alpha, (float*)pa, ars, acs, (float*)pb, brs, bcs, (float)beta, (float*)pc, ldc, threads); break;
            case ProductBackend.Avx2Kernel when f64:
                BlockedGemm<Avx2Tile>.Run((int)m, (int)n, (int)k, alpha, (double*)pa, ars, acs, (double*)pb, brs, bcs, beta, (double*)pc, ldc, threads); break;
            case ProductBackend.Avx2Kernel:
                BlockedGemm<Avx2Tile>.Run((int)m, (int)n, (int)k, (float)alpha, (float*)pa, ars, acs, (float*)pb, brs, bcs, (float)beta, (float*)pc, ldc, threads); break;
            case ProductBackend.OpenBlas when OpenBlas.Layout(m, k, ars, acs) is null:
            {
                // A layout BLAS cannot read in place (e.g. a broadcast view): a contiguous copy first.
                using var dense = a.contiguous();
                Gemm(backend, c, dense, b, beta, alpha, m, k, n, threads); break;
            }
            case ProductBackend.OpenBlas when OpenBlas.Layout(k, n, brs, bcs) is null:
            {
                using var dense = b.contiguous();
                Gemm(backend, c, a, dense, beta, alpha, m, k, n, threads); break;
            }
            case ProductBackend.OpenBlas when f64:
                OpenBlas.Gemm((int)m, (int)n, (int)k, alpha, (double*)pa, ars, acs, (double*)pb, brs, bcs, beta, (double*)pc, ldc, threads); break;
            case ProductBackend.OpenBlas:
                OpenBlas.Gemm((int)m, (int)n, (int)k, (float)alpha, (float*)pa, ars, acs, (float*)pb, brs, bcs, (float)beta, (float*)pc, ldc, threads); break;
            default: throw new InvalidOperationException($"{backend} is not a kernel.");
        }
        GC.KeepAlive(a); GC.KeepAlive(b); GC.KeepAlive(c);
    }

    /// <summary>The address of a tensor's first element (storage offset included), from LibTorchSharp's own export.
    /// TorchSharp 0.107 has no public accessor for it; the library is already loaded by TorchSharp and has the soname
    /// libLibTorchSharp.so, so the import resolves to the same instance.</summary>
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>The address of a CPU tensor's first element (the products here and <see cref="FusedElementwise"/>'s passes).</summary>
    internal static IntPtr Data(Tensor t)
    {
        var p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero) throw new InvalidOperationException($"libtorch returned no data pointer for a {t.dtype} tensor of shape [{string.Join(", ", t.shape)}].");
        return p;
    }

    static string Probe()
    {
        if (ProductCalibration.Kernels().Length == 0)
            return $"this CPU or runtime has neither AVX-512 nor AVX2 with FMA, and {OpenBlas.Unavailable}";
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
