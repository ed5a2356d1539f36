using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace NoPrior.LinearAlgebra;

/// <summary>Where <see cref="MatMul"/> sends large CPU float products.</summary>
public enum ProductBackend
{
    /// <summary>libtorch's own <c>mm</c>/<c>addmm</c> (oneMKL in the TorchSharp packages).</summary>
    Libtorch,
    /// <summary>This project's blocked kernel with the 6 × 2-vector AVX2 + FMA micro-kernel.</summary>
    Avx2Kernel,
    /// <summary>This project's blocked kernel with the 8 × 3-vector AVX-512 micro-kernel.</summary>
    Avx512Kernel,
    /// <summary>The machine's OpenBLAS (<c>cblas_dgemm</c>/<c>cblas_sgemm</c>), where one is installed (<see cref="LinearAlgebra.OpenBlas"/>).</summary>
    OpenBlas,
}

/// <summary>The two classes of products the backend is chosen for separately: the notebooks' fast-default layers
/// (tens of candidates through 784-400 layers) and paper-scale ones (a thousand through 1000-wide layers). A backend that
/// wins on the second can lose on the first: on Zen 3, OpenBLAS multiplied 768³ products 8 % faster than libtorch and the
/// notebooks' 40×784·784×400 ones 10–20 % slower (bench/README.md).</summary>
public enum ProductSize
{
    /// <summary>m·n·k at or above <see cref="ProductCalibration.SmallBelow"/>, timed on 768³ products.</summary>
    Large,
    /// <summary>m·n·k below <see cref="ProductCalibration.SmallBelow"/>, timed on the products of a 40-candidate step through a 784-400 layer.</summary>
    Small,
}

/// <summary>Products counted by <see cref="MatMul.Tally"/>: how many, their multiply-adds (m·n·k summed) and wall time.</summary>
public readonly record struct ProductTally(long Products, long MultiplyAdds, TimeSpan Time)
{
    /// <summary>Floating-point operations per second inside the products (2 per multiply-add), in GFLOP/s; 0 when none were timed.</summary>
    public double GigaflopsPerSecond => Time > TimeSpan.Zero ? 2.0 * MultiplyAdds / Time.TotalSeconds / 1e9 : 0;
}

/// <summary>What <see cref="MatMul"/> chose for one dtype, and why.</summary>
/// <param name="DType">Float64 or Float32.</param>
/// <param name="Choice">The backend used.</param>
/// <param name="Milliseconds">Best time of the calibration product per candidate (empty when pinned or when only
/// libtorch can run here).</param>
/// <param name="Threads">Threads the candidates were timed with.</param>
/// <param name="Source">"measured now", "cached in FILE (measured …)", "pinned by …" or why nothing was measured.</param>
/// <param name="Size">The class of products this choice is for.</param>
public sealed record ProductChoice(ScalarType DType, ProductBackend Choice, IReadOnlyDictionary<ProductBackend, double> Milliseconds,
    int Threads, string Source, ProductSize Size = ProductSize.Large)
{
    /// <summary>One line for notebooks and the benchmark, e.g. "float64: libtorch (libtorch 29.6 ms, AVX2 kernel
    /// 38.0 ms for a 768×768·768×768 product with W and with Wᵀ at 2 threads; measured now, cached in …)", as measured
    /// on a 2-core AMD EPYC Zen 3.</summary>
    public override string ToString()
    {
        string name = $"{(DType == ScalarType.Float64 ? "float64" : "float32")}{(Size == ProductSize.Small ? " small products" : "")}: {ProductCalibration.Describe(Choice)}";
        if (Milliseconds.Count == 0) return $"{name} ({Source})";
        var times = string.Join(", ", Milliseconds.Select(kv => $"{ProductCalibration.Describe(kv.Key)} {kv.Value.ToString("0.0", CultureInfo.InvariantCulture)} ms"));
        return $"{name} ({times} for {ProductCalibration.Shapes(Size)} at {Threads} thread{(Threads == 1 ? "" : "s")}; {Source})";
    }
}

/// <summary>
/// Chooses the product backend by measurement on the machine at hand: the first time a process needs the backend for a
/// dtype and a class of products (<see cref="ProductSize"/>), every backend this machine can run times the same products
/// (<see cref="Shapes"/>: a·Wᵀ and δ·W, the layouts of a layer's forward product and of the backward sweep)
/// <see cref="Rounds"/> times, interleaved, and the fastest best time wins; a kernel must beat libtorch
/// by <see cref="Margin"/> and in every round (near-ties stay with libtorch, so a noisy calibration rarely flips). The result is cached per
/// CPU model, core count, dtype, thread count, class of products and TorchSharp version in <see cref="MatMul.CacheFile"/>, so later
/// processes on the same machine make the same choice without measuring (and give the same numbers).
/// </summary>
/// <remarks>
/// Why: no backend is faster everywhere. On Zen 5 (AVX-512 on 512-bit units) the AVX-512 kernel multiplied float64
/// at 196 GFLOP/s against libtorch's 121; on Zen 4 (AVX-512 split into 256-bit halves) it was slower than libtorch (81
/// against 91); on Zen 3 (no AVX-512) the AVX2 kernel lost to libtorch and OpenBLAS beat both. A fixed rule by CPU flags
/// was wrong on Zen 4 and would be wrong again on the next machine.
/// </remarks>
public static class ProductCalibration
{
    /// <summary>Side of the square calibration products (two 768³ products: ~30 ms in float64 on 2 Zen 3 cores).</summary>
    public const int Side = 768;
    /// <summary>Timed rounds per candidate (after one untimed round). Seven, not three: on this project's 2-core VMs the
    /// best of three still swung by 5–10 % from one calibration to the next (a neighbour taking a core for a second), about
    /// the size of the differences being measured.</summary>
    public const int Rounds = 7;
    /// <summary>Part of the cache key: raise it when what is measured changes, so older entries are measured again.</summary>
    public const int Version = 3;
    /// <summary>A kernel is chosen only if its best time is below this fraction of libtorch's.</summary>
    public const double Margin = 0.95;
    /// <summary>Products with fewer multiply-adds (m·n·k) than this take the choice made for <see cref="ProductSize.Small"/>
    /// (64 Mi: a 40-candidate step's 12.5 M, up to ~200 candidates through 784-400; a 1000-candidate step's 784 M and 1 G are large).</summary>
    public const long SmallBelow = 64L << 20;
    /// <summary>The small calibration products: [SmallM, SmallK]·[SmallK, SmallN] as a·Wᵀ and [SmallM, SmallN]·[SmallN, SmallK] as δ·W,
    /// <see cref="SmallRepeats"/> times per timing.</summary>
    public const int SmallM = 40, SmallK = 784, SmallN = 400, SmallRepeats = 16;

    /// <summary>The class of a product of [m, k]·[k, n].</summary>
    public static ProductSize SizeOf(long m, long k, long n) => (double)m * n * k < SmallBelow ? ProductSize.Small : ProductSize.Large;

    /// <summary>The class of a step's largest product: <paramref name="rows"/> inputs through layers of these widths.</summary>
    public static ProductSize SizeOfLayers(IReadOnlyList<int> widths, long rows)
    {
        long largest = 0;
        for (int i = 0; i + 1 < widths.Count; i++) largest = Math.Max(largest, (long)widths[i] * widths[i + 1]);
        return SizeOf(rows, largest, 1);
    }

    /// <summary>The calibration's products for a class, in words.</summary>
    public static string Shapes(ProductSize size) => size == ProductSize.Small
        ? $"{SmallRepeats} pairs of {SmallM}×{SmallK}·{SmallK}×{SmallN} products (a·Wᵀ and δ·W)"
        : $"a {Side}×{Side}·{Side}×{Side} product with W and with Wᵀ";

    public static string Describe(ProductBackend b) => b switch
    {
        ProductBackend.Avx512Kernel => Avx512Tile.Name,
        ProductBackend.Avx2Kernel => Avx2Tile.Name,
        ProductBackend.OpenBlas => LinearAlgebra.OpenBlas.Name,
        _ => "libtorch",
    };

    /// <summary>Whether this CPU and runtime can run <paramref name="b"/>.</summary>
    public static bool CanRun(ProductBackend b) => b switch
    {
        ProductBackend.Avx512Kernel => Avx512Tile.IsSupported,
        ProductBackend.Avx2Kernel => Avx2Tile.IsSupported,
        ProductBackend.OpenBlas => LinearAlgebra.OpenBlas.IsAvailable,
        _ => true,
    };

    /// <summary>The backends this machine can run, libtorch first.</summary>
    public static ProductBackend[] Candidates() => Enum.GetValues<ProductBackend>().Where(CanRun).ToArray();

    /// <summary>Why this machine cannot run <paramref name="b"/>, or "" if it can.</summary>
    public static string WhyNot(ProductBackend b) => CanRun(b) ? "" : b switch
    {
        ProductBackend.Avx512Kernel => "this CPU or runtime has no AVX-512",
        ProductBackend.Avx2Kernel => "this CPU or runtime has no AVX2 with FMA",
        ProductBackend.OpenBlas => LinearAlgebra.OpenBlas.Unavailable,
        _ => "",
    };

    /// <summary>The backends other than libtorch this machine can run (the candidates without libtorch): this project's
    /// kernels and OpenBLAS. MatMul's "kernel" means any of them.</summary>
    public static ProductBackend[] Kernels() => Candidates().Where(b => b != ProductBackend.Libtorch).ToArray();

    /// <summary>Times each candidate <paramref name="rounds"/> times, interleaved (round-robin, after one untimed call
    /// each), and returns each one's best time in ms and the index chosen by <see cref="ChooseOverRounds"/>.
    /// A short sleep before every call lets libtorch's OpenMP workers stop spinning, so no candidate is timed against
    /// another's idle threads.</summary>
    public static (int Chosen, double[] BestMs) Fastest(IReadOnlyList<Action> candidates, int rounds, double margin)
    {
        if (candidates.Count == 0) throw new ArgumentException("No candidates to time.");
        if (rounds < 1) throw new ArgumentOutOfRangeException(nameof(rounds), $"At least one timed round is needed, got {rounds}.");
        var times = new List<double[]>();
        for (int r = -1; r < rounds; r++)
        {
            var round = new double[candidates.Count];
            for (int i = 0; i < candidates.Count; i++)
            {
                Thread.Sleep(5);
                var clock = Stopwatch.StartNew();
                candidates[i]();
                round[i] = clock.Elapsed.TotalMilliseconds;
            }
            if (r >= 0) times.Add(round);
        }
        var best = Enumerable.Range(0, candidates.Count).Select(i => times.Min(t => t[i])).ToArray();
        return (ChooseOverRounds(times, margin), best);
    }

    /// <summary>The decision rule on best times alone (one round): the index of the fastest, except that candidate 0
    /// (the default) is kept unless another is below <paramref name="margin"/> × its time.</summary>
    public static int Choose(IReadOnlyList<double> bestMs, double margin) => ChooseOverRounds(new[] { bestMs.ToArray() }, margin);

    /// <summary>The decision rule of <see cref="Fastest"/> on measured times (<paramref name="rounds"/>[r][i]: candidate
    /// i in round r): the candidate with the fastest best time, except that candidate 0 (the default) is kept unless
    /// another both has a best time below <paramref name="margin"/> × the default's and was faster than the default in
    /// every round. Why every round: on a 2-core VM a neighbour can slow a few rounds of one candidate 2×; two backends
    /// within 5–10 % of each other (OpenBLAS and libtorch on the notebooks' small products, Zen 3) then won in turn
    /// from one fresh calibration to the next, and each choice gave the chaotic attack notebooks other last digits and
    /// other counts. A real win holds round after round; a tie falls back to the default.</summary>
    public static int ChooseOverRounds(IReadOnlyList<double[]> rounds, double margin)
    {
        if (rounds.Count == 0 || rounds[0].Length == 0) throw new ArgumentException("No times to choose from.", nameof(rounds));
        int n = rounds[0].Length;
        if (rounds.Any(r => r.Length != n)) throw new ArgumentException("Every round must time every candidate.", nameof(rounds));
        if (rounds.SelectMany(r => r).Any(t => !(t >= 0) || double.IsPositiveInfinity(t)))
            throw new ArgumentException($"Times must be finite and non-negative, got [{string.Join("; ", rounds.Select(r => string.Join(", ", r)))}].", nameof(rounds));
        var best = Enumerable.Range(0, n).Select(i => rounds.Min(r => r[i])).ToArray();
        int chosen = 0;
        for (int i = 1; i < n; i++)
            if (best[i] < margin * best[0] && best[i] < best[chosen] && rounds.All(r => r[i] < r[0])) chosen = i;
        return chosen;
    }

    /// <summary>Measures the candidates for <paramref name="dtype"/> at <paramref name="threads"/> threads on the products
    /// of <paramref name="size"/> (libtorch's intra-op count set to the same for the measurement and restored after).</summary>
    public static ProductChoice Measure(ScalarType dtype, int threads, ProductSize size = ProductSize.Large)
    {
        var candidates = Candidates();
        int before = torch.get_num_threads();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope(); // Values' and flip's intermediates
        // Deterministic values in [0.5, 1.5) without touching any random generator (no denormals, no zeros).
        static Tensor Values(long rows, long cols, ScalarType dtype) =>
            torch.arange(rows * cols, dtype: ScalarType.Float64).remainder_(97).div_(97).add_(0.5).reshape(rows, cols).to(dtype);
        bool small = size == ProductSize.Small;
        long m = small ? SmallM : Side, k = small ? SmallK : Side, n = small ? SmallN : Side;
        int repeats = small ? SmallRepeats : 1;
        using var a = Values(m, k, dtype);       // [m, k]: a layer's inputs
        using var w = Values(n, k, dtype).flip(0).contiguous(); // [n, k]: its weights, row-major as in a network
        using var wt = w.t();                    // Wᵀ [k, n]: the forward product a·Wᵀ
        using var delta = Values(m, n, dtype);   // [m, n]: the backward sweep's δ·W
        using var forward = torch.empty(m, n, dtype: dtype);
        using var backward = torch.empty(m, k, dtype: dtype);
        try
        {
            if (before != threads) torch.set_num_threads(threads);
            // Both layouts of the hot loops: a·Wᵀ (a layer's forward product) and δ·W (the backward sweep).
            var actions = candidates.Select(b => (Action)(() =>
            {
                for (int r = 0; r < repeats; r++) { MatMul.RunWith(b, forward, a, wt, threads); MatMul.RunWith(b, backward, delta, w, threads); }
            })).ToArray();
            var (chosen, ms) = Fastest(actions, Rounds, Margin);
            var times = candidates.Select((b, i) => (b, ms[i])).ToDictionary(x => x.b, x => x.Item2);
            return new ProductChoice(dtype, candidates[chosen], times, threads, "measured now", size);
        }
        finally
        {
            if (torch.get_num_threads() != before) torch.set_num_threads(before);
        }
    }

    /// <summary>The cache key: CPU model, logical cores, the backends this machine can run, dtype, threads, the class of
    /// products, TorchSharp, and the calibration's <see cref="Version"/>.</summary>
    public static string Key(ScalarType dtype, int threads, ProductSize size = ProductSize.Large)
    {
        string cpu = CpuIdentity();
        string isa = string.Join("+", Candidates().Skip(1).Select(b => b.ToString()));
        string ts = typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
        return $"{cpu}|cores={Environment.ProcessorCount}|kernels={(isa.Length == 0 ? "none" : isa)}|{dtype}|threads={threads}|products={size.ToString().ToLowerInvariant()}|TorchSharp={ts}|calibration={Version}";
    }

    static string CpuIdentity()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var fields = new Dictionary<string, string>();
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.Length == 0) break; // the first processor is enough
                    int colon = line.IndexOf(':');
                    if (colon > 0) fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
                }
                string F(string k) => fields.TryGetValue(k, out var v) ? v : "?";
                return $"{F("vendor_id")} family {F("cpu family")} model {F("model")} ({F("model name")})";
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{RuntimeInformation.ProcessArchitecture} {RuntimeInformation.OSDescription}";
    }

    /// <summary>The cached choice for <paramref name="key"/> in <paramref name="file"/>, or null (no file, no entry, an
    /// unreadable or malformed file, or a backend this machine cannot run).</summary>
    public static ProductChoice? Read(string file, string key, ScalarType dtype, int threads, ProductSize size = ProductSize.Large)
    {
        try
        {
            if (!File.Exists(file)) return null;
            if (JsonNode.Parse(File.ReadAllText(file)) is not JsonObject root || root[key] is not JsonObject e) return null;
            if (!Enum.TryParse<ProductBackend>((string?)e["choice"], out var choice) || !CanRun(choice)) return null;
            var ms = new Dictionary<ProductBackend, double>();
            if (e["ms"] is JsonObject times)
                foreach (var (name, v) in times)
                    if (Enum.TryParse<ProductBackend>(name, out var b) && v is JsonValue jv && jv.TryGetValue(out double t)) ms[b] = t;
            return new ProductChoice(dtype, choice, ms, threads, $"cached in {file}, measured {(string?)e["measured"]}", size);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Adds or replaces <paramref name="key"/>'s entry, writing a temporary file and renaming it over the cache
    /// (concurrent processes never see half a file). Returns null, or why the cache could not be written.</summary>
    public static string? Write(string file, string key, ProductChoice choice)
    {
        try
        {
            JsonObject root = new();
            if (File.Exists(file))
            {
                try { if (JsonNode.Parse(File.ReadAllText(file)) is JsonObject old) root = old; }
                catch (JsonException) { } // a malformed cache is replaced
            }
            var ms = new JsonObject();
            foreach (var (b, t) in choice.Milliseconds) ms[b.ToString()] = Math.Round(t, 3);
            root[key] = new JsonObject
            {
                ["choice"] = choice.Choice.ToString(),
                ["ms"] = ms,
                ["products"] = Shapes(choice.Size),
                ["measured"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mmZ", CultureInfo.InvariantCulture),
            };
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
            string tmp = $"{file}.{Environment.ProcessId}.tmp";
            File.WriteAllText(tmp, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(tmp, file, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    /// <summary>An exclusive lock on FILE.lock shared by every process on the machine (waits up to a minute, then goes on
    /// without it; null if the lock file cannot be created, e.g. a read-only cache directory). .NET takes FileShare.None as
    /// an flock on Linux; the .lock file is left in place (deleting it on close would let a waiting process lock the
    /// deleted file while a third creates a new one).</summary>
    public static IDisposable? Lock(string file)
    {
        string path = file + ".lock";
        try { Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (UnauthorizedAccessException) { return null; }
            catch (IOException) when (clock.Elapsed < TimeSpan.FromMinutes(1)) { Thread.Sleep(50); }
            catch (IOException) { return null; }
        }
    }

    /// <summary>The default cache file: $NOPRIOR_MATMUL_CACHE, else $XDG_CACHE_HOME/noprior/matmul-backend.json, else
    /// ~/.cache/noprior/matmul-backend.json; null if there is no home directory.</summary>
    public static string? DefaultCacheFile()
    {
        var env = Environment.GetEnvironmentVariable("NOPRIOR_MATMUL_CACHE");
        if (!string.IsNullOrEmpty(env)) return env;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "noprior", "matmul-backend.json");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "noprior", "matmul-backend.json");
    }

    /// <summary>NOPRIOR_MATMUL: auto (or unset) measures; libtorch, avx2, avx512 or openblas pins.</summary>
    public static ProductBackend? PinnedByEnvironment()
    {
        var v = Environment.GetEnvironmentVariable("NOPRIOR_MATMUL");
        return ParsePin(v, "NOPRIOR_MATMUL");
    }

    public static ProductBackend? ParsePin(string? value, string where) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "libtorch" => ProductBackend.Libtorch,
        "avx2" => ProductBackend.Avx2Kernel,
        "avx512" => ProductBackend.Avx512Kernel,
        "openblas" => ProductBackend.OpenBlas,
        _ => throw new ArgumentException($"{where} = '{value}': expected auto, libtorch, avx2, avx512 or openblas."),
    };
}
