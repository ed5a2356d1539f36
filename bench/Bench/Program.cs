// The C# side of bench/run.sh: one measurement per process, one JSON line on stdout.
//   bench attack SETTING PATH DTYPE THREADS STEPS   PATH: autograd | closedform | fused | run
//   bench train  SETTING PATH DTYPE THREADS STEPS   PATH: closedform (GradientDescent.Train)
//   bench matmul SIZE PATH DTYPE THREADS REPS       SIZE: - (2000×2000), N (N³) or Nt (N³ with B = Wᵀ); PATH: - (libtorch's own) | kernel (NoPrior.LinearAlgebra.MatMul,
//                                                   whichever backend it chose on this machine) | avx2 | avx512 | openblas (MatMul pinned to that backend)
//   A PATH ending in "-libtorch" (e.g. fused-libtorch) runs with MatMul.Enabled = false: every product in libtorch;
//   "-avx2" / "-avx512" / "-openblas" (e.g. fused-avx2) pins MatMul to that backend (MatMul.Pinned); otherwise MatMul measures and chooses.
//   bench accuracy SETTING - - THREADS STEPS        float32 vs float64: attack and training after STEPS steps
// Sizes match bench/torch_bench.py.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NoPrior;
using NoPrior.Attack;
using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using NoPrior.Training;
using static TorchSharp.torch;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var settingsBySize = new Dictionary<string, (int[] Widths, int M, int N)>
{
    ["small"] = (new[] { 784, 400, 1 }, 40, 40),
    ["reference"] = (new[] { 784, 1000, 1000, 1 }, 1000, 500),
};
string kind = args[0], setting = args[1], pathArg = args[2], path = pathArg, dtypeName = args[3];
if (path.EndsWith("-libtorch")) { MatMul.Enabled = false; path = path[..^"-libtorch".Length]; }
foreach (var (suffix, pin) in new[] { ("avx2", ProductBackend.Avx2Kernel), ("avx512", ProductBackend.Avx512Kernel), ("openblas", ProductBackend.OpenBlas) })
    if (path == suffix || path.EndsWith("-" + suffix))
    {
        MatMul.Pinned = pin; // throws, naming the backend and why, on a machine that cannot run it
        path = path == suffix ? "kernel" : path[..^(suffix.Length + 1)];
    }
int threads = int.Parse(args[4]), steps = int.Parse(args[5]);
torch.set_num_threads(threads);
// Parallelism.ForStep must not override the requested thread count in the bench.
Parallelism.SingleThreadBelowFlops = 0;
var dtype = dtypeName == "float32" ? ScalarType.Float32 : ScalarType.Float64;
// Besides the named sizes, "WIDTHS,M,N" (e.g. "784-500-500-1,200,100") measures any size.
var (widths, m, n) = kind == "matmul" ? (new[] { 1, 1 }, 1, 1)  // matmul: no network sizes
    : settingsBySize.TryGetValue(setting, out var named) ? named
    : setting.Split(',') is [var w, var mText, var nText]
        ? (w.Split('-').Select(int.Parse).ToArray(), int.Parse(mText), int.Parse(nText))
        : throw new ArgumentException($"unknown setting '{setting}': use small, reference or WIDTHS,M,N such as 784-500-500-1,200,100");
Progress.SinkFactory = (_, _) => new NullSink();

var result = new Dictionary<string, object?>
{
    ["impl"] = "torchsharp", ["kind"] = kind, ["setting"] = setting, ["path"] = pathArg, ["dtype"] = dtypeName,
    ["threads"] = torch.get_num_threads(),
};
// The backend MatMul uses for this dtype and the class of this setting's products, and why (measured, cached or
// pinned); read at the thread count the loops use.
var productSize = kind == "matmul" ? ProductSize.Large : ProductCalibration.SizeOfLayers(widths, kind == "train" ? n : m);
var productChoice = MatMul.Choice(dtype, productSize);
result["matmul_backend"] = productChoice.ToString();
result["matmul_choice"] = productChoice.Choice.ToString();
// Untimed steps first, as in torch_bench.py (WARMUP): page faults, allocator growth and JIT tiering.
const int Warmup = 2;
var times = new List<double>();
var cpu = new List<double>();
double CpuMs() => Environment.CpuUsage.TotalTime.TotalMilliseconds;
double loss = double.NaN;

switch (kind)
{
    case "matmul":
    {
        // SETTING "-": 2000×2000 · 2000×2000; "N" an N³ product; "Nt" the same with B = Wᵀ of a row-major W (the
        // layout of a layer's forward product and of MatMul's calibration, ProductCalibration.Side = 768).
        bool transposed = setting.EndsWith('t');
        int side = setting == "-" ? 2000 : int.TryParse(transposed ? setting[..^1] : setting, out var sz) && sz > 0 ? sz
            : throw new ArgumentException($"matmul setting '{setting}': use -, N or Nt (e.g. 768t)");
        using var a = torch.randn(side, side, dtype: dtype);
        using var wm = torch.randn(side, side, dtype: dtype);
        using var b = transposed ? wm.t() : wm.alias();
        result["side"] = side; result["transposed"] = transposed;
        Func<Tensor> product = path == "kernel" ? () => MatMul.Product(a, b) : () => a.matmul(b);
        product().Dispose();
        for (int i = 0; i < steps; i++) { double c0 = CpuMs(); var t = Stopwatch.StartNew(); product().Dispose(); times.Add(t.Elapsed.TotalMilliseconds); cpu.Add(CpuMs() - c0); }
        break;
    }
    case "attack":
    {
        using var net64 = HomogeneousMlp.Create(widths, seed: 1);
        using var net = net64.To(dtype);
        var obj = AttackObjective.Reference with { Path = path == "autograd" ? StationarityPath.Autograd : StationarityPath.ClosedForm };
        if (path == "run")
        {
            // End to end through the library's loop: Run(steps) does steps+2 loss evaluations and steps gradient steps.
            double c0 = CpuMs();
            MatMul.ResetTally();
            var r = ReconstructionAttack.Run(net, new AttackSettings { Candidates = m, Steps = steps, Seed = 3, ProgressTitle = null, Objective = obj });
            times.Add(r.Elapsed.TotalMilliseconds / steps);
            cpu.Add((CpuMs() - c0) / steps);
            loss = r.FinalLoss.Total;
            r.Candidates.Dispose();
            break;
        }
        using var gen = new Generator(3);
        using var X = (torch.randn(m, widths[0], dtype: ScalarType.Float64, generator: gen) * 3.5e-2).to(dtype).requires_grad_(true);
        using var lam = torch.rand(m, dtype: ScalarType.Float64, generator: gen).to(dtype).requires_grad_(true);
        using var y = torch.tensor(Enumerable.Range(0, m).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray()).to(dtype);
        Tensor? mX = null, mL = null;
        double thetaNorm = net.Norm();
        // The thread split ReconstructionAttack.Run uses (see Parallelism.ForStep).
        using var threadScope = Parallelism.ForStep(AttackGradient.FlopsPerStep(widths, m), kernelProducts: path == "fused" && MatMul.RunsInKernel(net.Device, net.DType, productSize));
        // The step's intermediates reused from step to step, as in ReconstructionAttack.Run.
        using var workspace = new TensorWorkspace();
        for (int t = 0; t < steps + Warmup; t++)
        {
            if (t == Warmup) MatMul.ResetTally();
            double c0 = CpuMs();
            var clock = Stopwatch.StartNew();
            using (var scope = torch.NewDisposeScope())
            {
                Tensor gX, gL;
                if (path == "fused")
                {
                    var lg = obj.ValueAndGradient(net, X, y, lam, workspace);
                    loss = lg.Terms.ToValues(thetaNorm).Total;
                    (gX, gL) = (lg.GradX, lg.GradLambda);
                }
                else
                {
                    var terms = obj.Terms(net, X, y, lam);
                    loss = terms.ToValues(thetaNorm).Total;
                    var g = torch.autograd.grad(new[] { terms.Total }, new[] { X, lam });
                    (gX, gL) = (g[0], g[1]);
                }
                using var noGrad = torch.no_grad();
                if (mX is null) { mX = gX.clone().DetachFromDisposeScope(); mL = gL.clone().DetachFromDisposeScope(); }
                else { mX.mul_(0.9).add_(gX); mL!.mul_(0.9).add_(gL); }
                X.add_(mX, alpha: -0.031);
                lam.add_(mL!, alpha: -1e-4);
            }
            if (t < Warmup) continue;
            times.Add(clock.Elapsed.TotalMilliseconds);
            cpu.Add(CpuMs() - c0);
        }
        break;
    }
    case "train":
    {
        using var net64 = HomogeneousMlp.Create(widths, seed: 2);
        using var net = net64.To(dtype);
        using var gen = new Generator(4);
        using var X = torch.randn(n, widths[0], dtype: ScalarType.Float64, generator: gen) * 0.3;
        using var y = torch.tensor(Enumerable.Range(0, n).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray());
        using var data = new LabelledSet(X, y);
        // One warm-up run, then the timed one; per-step time = total / steps (Train logs the loss every step, as PyTorch's .item()).
        GradientDescent.Train(net, data, new TrainingSettings(Warmup, 0.01, LogEvery: 1_000_000)).Dispose();
        double c0 = CpuMs();
        MatMul.ResetTally();
        var clock = Stopwatch.StartNew();
        using var run = GradientDescent.Train(net, data, new TrainingSettings(steps, 0.01, LogEvery: 1_000_000));
        times.Add(clock.Elapsed.TotalMilliseconds / steps);
        cpu.Add((CpuMs() - c0) / steps);
        loss = Convert.ToDouble(run.Log["loss"][run.Log.Rows.Count - 1]);
        break;
    }
    case "accuracy":
    {
        // float32 vs float64 from identical float64 initial values: attack (Run) and training (Train).
        using var net = HomogeneousMlp.Create(widths, seed: 1);
        using var net32 = net.To(ScalarType.Float32);
        var s = new AttackSettings { Candidates = m, Steps = steps, Seed = 3, ProgressTitle = null, Objective = AttackObjective.Reference };
        var r64 = ReconstructionAttack.Run(net, s);
        var r32 = ReconstructionAttack.Run(net32, s);
        using var dx = (r32.Candidates.X - r64.Candidates.X).norm() / r64.Candidates.X.norm();
        using var dl = (r32.Candidates.Lambda! - r64.Candidates.Lambda!).norm() / r64.Candidates.Lambda!.norm();
        result["attack_loss64"] = r64.FinalLoss.Total; result["attack_loss32"] = r32.FinalLoss.Total;
        result["attack_stat64"] = r64.FinalLoss.Stationary; result["attack_stat32"] = r32.FinalLoss.Stationary;
        result["attack_candidates_reldiff"] = dx.ToDouble(); result["attack_lambda_reldiff"] = dl.ToDouble();
        // The float32 attack's candidates evaluated by the float64 objective (what a float64 notebook would report).
        result["attack_loss32_in64"] = AttackObjective.Reference.Evaluate(net, r32.Candidates).Total;
        using var gen = new Generator(4);
        using var X = torch.randn(n, widths[0], dtype: ScalarType.Float64, generator: gen) * 0.3;
        using var y = torch.tensor(Enumerable.Range(0, n).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray());
        using var data = new LabelledSet(X, y);
        var ts = new TrainingSettings(steps, 0.01, LogEvery: 1_000_000);
        using var t64 = GradientDescent.Train(net, data, ts);
        using var t32 = GradientDescent.Train(net32, data, ts);
        using var th64 = t64.Network.Flatten();
        using var th32 = t32.Network.Flatten().to(ScalarType.Float64);
        using var dth = (th32 - th64).norm() / th64.norm();
        result["train_loss64"] = Convert.ToDouble(t64.Log["loss"][t64.Log.Rows.Count - 1]);
        result["train_loss32"] = Convert.ToDouble(t32.Log["loss"][t32.Log.Rows.Count - 1]);
        result["train_theta_reldiff"] = dth.ToDouble();
        break;
    }
    case "leak":
    {
        // Diagnostic: tensors created outside any dispose scope during training (left to the finalizer).
        using var net = HomogeneousMlp.Create(widths, seed: 2);
        using var X = torch.randn(n, widths[0], dtype: ScalarType.Float64) * 0.3;
        using var y = torch.tensor(Enumerable.Range(0, n).Select(k => k % 2 == 0 ? -1.0 : 1.0).ToArray());
        using var data = new LabelledSet(X, y);
        DisposeScopeManager.Statistics.Reset();
        GradientDescent.Train(net, data, new TrainingSettings(steps, 0.01, LogEvery: 1_000_000)).Dispose();
        Console.Error.WriteLine(DisposeScopeManager.Statistics);
        break;
    }
    default: throw new ArgumentException($"unknown kind {kind}");
}
result["times_ms"] = times;
result["cpu_ms"] = cpu;
if (kind is "attack" or "train")
{
    // The step's matrix products through MatMul (any backend), per timed step: how much of the step they are, and
    // their own rate at the step's shapes (the bound on the step's rate if everything else took no time).
    var tally = MatMul.Tally;
    result["products_per_step"] = (double)tally.Products / steps;
    result["products_ms_per_step"] = tally.Time.TotalMilliseconds / steps;
    result["products_gflops"] = tally.GigaflopsPerSecond;
}
result["loss"] = double.IsFinite(loss) ? loss : null;
result["vmhwm_mb"] = VmHwmMb();
Console.WriteLine(JsonSerializer.Serialize(result));

static double VmHwmMb()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
        if (line.StartsWith("VmHWM:")) return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    return double.NaN;
}

sealed class NullSink : IProgressSink { public void Report(long done, string message) { } public void Dispose() { } }
