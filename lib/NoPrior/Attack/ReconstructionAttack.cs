using System.Diagnostics;
using Microsoft.Data.Analysis;
using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>The candidates, multipliers and loss terms at one step of an attack run.</summary>
public sealed class AttackSnapshot : IDisposable
{
    /// <summary>Steps done when the snapshot was taken (0 = the initialisation).</summary>
    public required int Step { get; init; }
    /// <summary>Candidates [m, d] and multipliers [m] at that step (CPU, float64).</summary>
    public required LabelledSet Candidates { get; init; }
    /// <summary>The loss terms at exactly these candidates.</summary>
    public required AttackLossValues Loss { get; init; }
    public void Dispose() => Candidates.Dispose();
}

/// <summary>Outcome of one attack run.</summary>
public sealed class AttackResult : IDisposable
{
    /// <summary>Final candidates x'_k with their fixed labels and learned multipliers λ_k (CPU, float64).
    /// The λ are the attack's, i.e. m times the KKT multipliers (the loss has 1/m inside).</summary>
    public required LabelledSet Candidates { get; init; }
    /// <summary>The candidates and multipliers the run started from (CPU, float64): the "init" baseline of the evaluation.</summary>
    public required LabelledSet InitialCandidates { get; init; }
    /// <summary>The loss terms at the final candidates.</summary>
    public required AttackLossValues FinalLoss { get; init; }
    /// <summary>Loss history, one row per recorded step: step, total, stationary, lambda, prior, relative_stationary.
    /// Row "step = t" holds the loss at the iterate after t updates.</summary>
    public required DataFrame History { get; init; }
    /// <summary>Snapshots every <see cref="AttackSettings.SnapshotInterval"/> steps (empty if 0).</summary>
    public required IReadOnlyList<AttackSnapshot> Snapshots { get; init; }
    /// <summary>Number of updates performed (fewer than the budget if <see cref="AttackSettings.StopBelowLoss"/> stopped it).</summary>
    public required int StepsDone { get; init; }
    /// <summary>Wall-clock time of the optimisation loop.</summary>
    public required TimeSpan Elapsed { get; init; }
    /// <summary>The settings of the run.</summary>
    public required AttackSettings Settings { get; init; }

    /// <summary>Mean wall-clock time per step.</summary>
    public TimeSpan TimePerStep => StepsDone > 0 ? Elapsed / StepsDone : TimeSpan.Zero;

    public void Dispose() { Candidates.Dispose(); InitialCandidates.Dispose(); foreach (var s in Snapshots) s.Dispose(); }
}

/// <summary>
/// The reconstruction attack of Haim et al. (2022), the attack the paper analyses: starting from random candidates x'_k with fixed labels y'_k and
/// multipliers λ_k, minimise <see cref="AttackObjective"/> L(X, λ) by gradient steps on X and λ, so that the published
/// weights θ look stationary for the candidate set: θ ≈ (1/m) Σ_k λ_k y_k ∇_θΦ̃(x'_k). Every decision inside a run
/// (stopping, the returned iterate) uses only the attacker's loss.
/// </summary>
public static class ReconstructionAttack
{
    /// <summary>Runs the attack on <paramref name="net"/> (any <see cref="HomogeneousMlp"/>, e.g. one loaded from safetensors).
    /// Tensors live on the network's device and dtype; the initialisation is drawn on the CPU from the
    /// <see cref="RandomRole.AttackInit"/> stream of <see cref="AttackSettings.Seed"/>, so it is unrelated to data or weights
    /// drawn with the same seed.</summary>
    public static AttackResult Run(HomogeneousMlp net, AttackSettings settings)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var obj = settings.Objective;
        int m = settings.Candidates;
        long d = net.InputDim;
        double thetaNorm = net.Norm();

        using var gen = RandomStreams.Generator(RandomRole.AttackInit, settings.Seed);
        using var yCpu = settings.ResolveLabels();
        using var x0 = settings.InitialCandidates is { } given ? CheckCandidates(given, m, d) : settings.Init.Draw(m, d, gen);
        using var l0 = settings.InitialLambda is { } li ? CheckLambda(li, m) : torch.rand(m, dtype: ScalarType.Float64, generator: gen);

        // Kept before the loop: X below may share x0's storage (to() returns the same tensor when dtype and device
        // match), and the optimiser updates X in place.
        var initial = new LabelledSet(x0, yCpu, l0);
        using var y = yCpu.to(net.DType, net.Device);
        using var X = x0.to(net.DType, net.Device).detach().requires_grad_(true);
        using var lam = l0.to(net.DType, net.Device).detach().requires_grad_(true);
        var state = new OptimiserState(settings, X, lam);

        var steps = new List<int>(); var tot = new List<double>(); var st = new List<double>(); var lp = new List<double>(); var pr = new List<double>(); var rel = new List<double>();
        var snapshots = new List<AttackSnapshot>();
        void Record(int step, AttackLossValues v)
        {
            steps.Add(step); tot.Add(v.Total); st.Add(v.Stationary); lp.Add(v.Lambda); pr.Add(v.Prior); rel.Add(v.RelativeStationary);
        }

        bool fast = obj.Path == StationarityPath.ClosedForm;
        // The hand-derived step's large intermediates and gradients, allocated at the first step and overwritten by
        // every later one (no page faults for fresh memory each step; see TensorWorkspace).
        using var workspace = fast ? new TensorWorkspace() : null;
        using var threads = Parallelism.ForStep(AttackGradient.FlopsPerStep(net.Widths, m), kernelProducts: fast && MatMul.RunsInKernel(net.Device, net.DType, ProductCalibration.SizeOfLayers(net.Widths, m)));
        using var sink = settings.ProgressTitle is { } title ? Progress.Start(title, settings.Steps) : null;
        var clock = Stopwatch.StartNew();
        int done = 0;
        for (int t = 0; t <= settings.Steps; t++)
        {
            Interrupt.ThrowIfRequested(settings.ProgressTitle ?? "reconstruction attack", t);
            using var scope = torch.NewDisposeScope();
            // The closed-form path takes its gradient from the hand-derived backward sweep (AttackGradient): the same
            // numbers as autograd through Terms to rounding, without building an autograd graph. Its gradients are the
            // workspace's tensors, used by state.Step before the next call overwrites them.
            using var fused = fast ? obj.ValueAndGradient(net, X, y, lam, workspace) : null;
            using var terms = fused is null ? obj.Terms(net, X, y, lam) : null;
            var current = fused?.Terms ?? terms!;
            // One read-back per step: needed for history, stopping and progress; on the CPU it costs microseconds.
            var values = current.ToValues(thetaNorm);
            if (!double.IsFinite(values.Total))
                throw new AttackDivergedException(t, values.Total, settings);
            bool last = t == settings.Steps || (settings.StopBelowLoss > 0 && values.Total < settings.StopBelowLoss);
            if (t % settings.HistoryInterval == 0 || last) Record(t, values);
            if (settings.SnapshotInterval > 0 && (t % settings.SnapshotInterval == 0 || last))
                snapshots.Add(new AttackSnapshot { Step = t, Candidates = ToSet(X, yCpu, lam), Loss = values });
            sink?.Report(t, $"loss {values.Total:G4} (stat {values.Stationary:G4}, λ {values.Lambda:G3}, prior {values.Prior:G3})");
            if (last) { done = t; break; }

            if (fused is not null) { state.Step(fused.GradX, fused.GradLambda); continue; }
            var grads = torch.autograd.grad(new[] { terms!.Total }, new[] { X, lam }, allow_unused: true);
            state.Step(grads[0], grads[1]);
        }
        clock.Stop();

        using var final = obj.Terms(net, X.detach(), y, lam.detach());
        var finalValues = final.ToValues(thetaNorm);
        var history = new DataFrame(
            new PrimitiveDataFrameColumn<int>("step", steps),
            new DoubleDataFrameColumn("total", tot),
            new DoubleDataFrameColumn("stationary", st),
            new DoubleDataFrameColumn("lambda", lp),
            new DoubleDataFrameColumn("prior", pr),
            new DoubleDataFrameColumn("relative_stationary", rel));
        state.Dispose();
        return new AttackResult
        {
            Candidates = ToSet(X, yCpu, lam),
            InitialCandidates = initial,
            FinalLoss = finalValues,
            History = history,
            Snapshots = snapshots,
            StepsDone = done,
            Elapsed = clock.Elapsed,
            Settings = settings,
        };
    }

    /// <summary>Runs the attack once per seed (settings otherwise equal) and returns all results.</summary>
    public static IReadOnlyList<AttackResult> RunMany(HomogeneousMlp net, AttackSettings settings, IEnumerable<long> seeds)
        => seeds.Select(s => Run(net, settings with { Seed = s, ProgressTitle = settings.ProgressTitle is null ? null : $"{settings.ProgressTitle} (seed {s})" })).ToList();

    /// <summary>The run an attacker can pick: the lowest final attack loss. Uses no knowledge of the training set.</summary>
    public static AttackResult SelectByLoss(IEnumerable<AttackResult> runs)
    {
        var list = runs.ToList();
        if (list.Count == 0) throw new ArgumentException("No runs to select from.", nameof(runs));
        return list.MinBy(r => r.FinalLoss.Total)!;
    }

    static Tensor CheckCandidates(Tensor x, int m, long d)
    {
        if (x.dim() != 2 || x.shape[0] != m || x.shape[1] != d)
            throw new ArgumentException($"InitialCandidates must be a matrix [{m}, {d}] (m candidates of the network's input dimension), got shape [{string.Join(", ", x.shape)}].");
        Numerics.CheckFinite(x, "InitialCandidates");
        return x.detach().to(ScalarType.Float64, CPU).clone();
    }

    static Tensor CheckLambda(Tensor lambda, int m)
    {
        if (lambda.dim() != 1 || lambda.shape[0] != m) throw new ArgumentException($"InitialLambda must be a vector of {m} multipliers, got shape [{string.Join(", ", lambda.shape)}].");
        Numerics.CheckFinite(lambda, "InitialLambda");
        return lambda.detach().to(ScalarType.Float64, CPU).clone();
    }

    static LabelledSet ToSet(Tensor X, Tensor yCpu, Tensor lam)
    {
        using var x = X.detach().to(ScalarType.Float64, CPU);
        using var l = lam.detach().to(ScalarType.Float64, CPU);
        var set = new LabelledSet(x, yCpu, l);
        // Snapshots are taken inside the loop's dispose scope; the set must outlive it.
        set.X.DetachFromDisposeScope(); set.Y.DetachFromDisposeScope(); set.Lambda?.DetachFromDisposeScope();
        return set;
    }

    /// <summary>Hand-written SGD-momentum / Adam with PyTorch's update rules, for X and λ with separate learning rates.
    /// Written out (rather than torch.optim) so that the update is explicit and identical on every device.</summary>
    sealed class OptimiserState : IDisposable
    {
        readonly AttackSettings _s;
        readonly Tensor[] _p;
        readonly double[] _lr;
        readonly Tensor?[] _m, _v;
        int _t;

        public OptimiserState(AttackSettings s, Tensor X, Tensor lam)
        {
            _s = s; _p = new[] { X, lam }; _lr = new[] { s.LearningRateX, s.LearningRateLambda };
            _m = new Tensor?[2]; _v = new Tensor?[2];
        }

        public void Step(Tensor? gX, Tensor? gL)
        {
            _t++;
            using var _ = torch.no_grad();
            var grads = new[] { gX, gL };
            for (int i = 0; i < 2; i++)
            {
                // A term switched off can leave no path to a parameter (e.g. λ when w_stat = w_λ = 0).
                if (grads[i] is null || _lr[i] == 0) continue;
                var g = grads[i]!;
                if (_s.Optimiser == AttackOptimiser.SgdMomentum)
                {
                    if (_m[i] is null) _m[i] = g.detach().clone().DetachFromDisposeScope();
                    else _m[i]!.mul_(_s.Momentum).add_(g);
                    _p[i].add_(_m[i]!, alpha: -_lr[i]);
                }
                else
                {
                    var (b1, b2, eps) = _s.Adam;
                    _m[i] ??= torch.zeros_like(g).DetachFromDisposeScope();
                    _v[i] ??= torch.zeros_like(g).DetachFromDisposeScope();
                    _m[i]!.mul_(b1).add_(g, alpha: 1 - b1);
                    _v[i]!.mul_(b2).addcmul_(g, g, value: 1 - b2);
                    double c1 = 1 - Math.Pow(b1, _t), c2 = 1 - Math.Pow(b2, _t);
                    using var denom = (_v[i]! / c2).sqrt_().add_(eps);
                    _p[i].addcdiv_(_m[i]!, denom, value: -_lr[i] / c1);
                }
            }
        }

        public void Dispose() { foreach (var t in _m.Concat(_v)) t?.Dispose(); }
    }
}

/// <summary>The attack's loss became non-finite: the learning rate is too large for this network and initialisation.</summary>
public sealed class AttackDivergedException(int step, double loss, AttackSettings settings)
    : InvalidOperationException($"The attack loss became {loss} at step {step}; lower the learning rate (x: {settings.LearningRateX}, λ: {settings.LearningRateLambda}).")
{
    /// <summary>The step at which the loss stopped being finite.</summary>
    public int Step { get; } = step;
}
