using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>How the candidates x'_k are drawn before optimisation.</summary>
public enum CandidateInitKind
{
    /// <summary>x' = s·g, g ~ N(0, I) (reference; s log-uniform in [1e-6, 0.1] in its sweep).</summary>
    Gaussian,
    /// <summary>x' = r·g/‖g‖, uniform on the sphere of radius r (the paper's Experiment A: r ∈ {0.1, 1, 10}).</summary>
    Sphere,
}

/// <summary>Initialisation of the candidates: x'_k = init_k + offset, with init from <see cref="Kind"/> and an optional offset
/// (a scalar added to every coordinate and/or a vector [d] added to every candidate).</summary>
/// <param name="Kind">Gaussian or sphere.</param>
/// <param name="Scale">s (Gaussian standard deviation) or r (sphere radius); must be ≥ 0.</param>
public sealed record CandidateInit(CandidateInitKind Kind, double Scale)
{
    /// <summary>A scalar added to every coordinate.</summary>
    public double OffsetScalar { get; init; }
    /// <summary>A vector [d] added to every candidate (e.g. along one coordinate, Experiment A).</summary>
    public Tensor? OffsetVector { get; init; }

    /// <summary>x' = s·N(0, I).</summary>
    public static CandidateInit Gaussian(double scale) => new(CandidateInitKind.Gaussian, scale);
    /// <summary>x' uniform on the sphere of radius r.</summary>
    public static CandidateInit Sphere(double radius) => new(CandidateInitKind.Sphere, radius);

    /// <summary>Draws m candidates in R^d from <paramref name="gen"/> (CPU, float64, so the same seed gives the same numbers on any device).</summary>
    public Tensor Draw(long m, long d, Generator gen)
    {
        if (!(Scale >= 0) || double.IsInfinity(Scale)) throw new ArgumentOutOfRangeException(nameof(Scale), $"The initial scale/radius must be finite and ≥ 0, got {Scale}.");
        using var scope = torch.NewDisposeScope();
        var g = torch.randn(m, d, dtype: ScalarType.Float64, generator: gen);
        var x = Kind == CandidateInitKind.Sphere ? g / g.norm(1, keepdim: true) * Scale : g * Scale;
        if (OffsetScalar != 0) x = x + OffsetScalar;
        if (OffsetVector is { } v)
        {
            if (v.dim() != 1 || v.shape[0] != d) throw new ArgumentException($"OffsetVector must be a vector of length {d}, got shape [{string.Join(", ", v.shape)}].");
            x = x + v.to(ScalarType.Float64, CPU).unsqueeze(0);
        }
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>The optimiser for X and λ.</summary>
public enum AttackOptimiser
{
    /// <summary>SGD with momentum (PyTorch semantics: b ← μ b + g, p ← p − lr b; the first step uses b = g). Reference, μ = 0.9.</summary>
    SgdMomentum,
    /// <summary>Adam (Kingma &amp; Ba, PyTorch semantics with bias correction).</summary>
    Adam,
}

/// <summary>
/// Settings of one attack run. Defaults are the reference's (Haim et al. 2022, first published MNIST winner
/// (s, lr, λ_min, α) = (3.5e-2, 0.031, 0.45, 150), λ lr 1e-4, SGD momentum 0.9, 50 000 steps); the reference chose
/// s, lr, λ_min, α by a random sweep: s log-uniform [1e-6, 0.1], lr log-uniform [1e-5, 1], λ_min [0.01, 0.5], α [10, 500].
/// </summary>
public sealed record AttackSettings
{
    /// <summary>Number of candidates m (reference: m = 2n).</summary>
    public int Candidates { get; init; } = 40;
    /// <summary>Fixed labels y'_k; null means the reference choice: the first ⌊m/2⌋ are −1, the rest +1.</summary>
    public Tensor? Labels { get; init; }
    /// <summary>The loss (α, λ_min, weights, prior, stationarity path).</summary>
    public AttackObjective Objective { get; init; } = AttackObjective.Reference;
    /// <summary>Candidate initialisation; reference N(0, 1)·s.</summary>
    public CandidateInit Init { get; init; } = CandidateInit.Gaussian(3.5e-2);
    /// <summary>Initial candidates [m, d], used instead of <see cref="Init"/> (e.g. the training set itself, to see where the
    /// attack goes from the truth); null means draw from <see cref="Init"/>.</summary>
    public Tensor? InitialCandidates { get; init; }
    /// <summary>Initial multipliers [m]; null means the reference's λ ~ U[0, 1).</summary>
    public Tensor? InitialLambda { get; init; }
    /// <summary>Optimiser for both X and λ.</summary>
    public AttackOptimiser Optimiser { get; init; } = AttackOptimiser.SgdMomentum;
    /// <summary>Learning rate for the candidates X (reference sweep: log-uniform [1e-5, 1]).</summary>
    public double LearningRateX { get; init; } = 0.031;
    /// <summary>Learning rate for λ (reference 1e-4; 0 keeps λ at its initial value).</summary>
    public double LearningRateLambda { get; init; } = 1e-4;
    /// <summary>Momentum μ of SGD (reference 0.9).</summary>
    public double Momentum { get; init; } = 0.9;
    /// <summary>Adam's β₁, β₂ and ε.</summary>
    public (double Beta1, double Beta2, double Eps) Adam { get; init; } = (0.9, 0.999, 1e-8);
    /// <summary>Budget of optimisation steps (reference 50 000).</summary>
    public int Steps { get; init; } = 50_000;
    /// <summary>Stop early once the attacker's total loss falls below this (the attacker's own loss only — no oracle). 0 = never.</summary>
    public double StopBelowLoss { get; init; }
    /// <summary>Record the loss terms every this many steps in the history DataFrame (1 = every step).</summary>
    public int HistoryInterval { get; init; } = 1;
    /// <summary>Store the candidates, λ and the loss terms every this many steps; 0 = no snapshots.</summary>
    public int SnapshotInterval { get; init; }
    /// <summary>Seed of the initialisation; the same seed gives the same numbers.</summary>
    public long Seed { get; init; }
    /// <summary>Title of the progress line (<see cref="NoPrior.Progress"/>); null = no progress reporting.</summary>
    public string? ProgressTitle { get; init; } = "attack";

    /// <summary>Throws on out-of-range settings, naming the setting.</summary>
    public void Validate()
    {
        if (Candidates <= 0) throw new ArgumentOutOfRangeException(nameof(Candidates), $"The attack needs m ≥ 1 candidates, got {Candidates}.");
        if (Steps <= 0) throw new ArgumentOutOfRangeException(nameof(Steps), $"The step budget must be positive, got {Steps}.");
        if (HistoryInterval <= 0) throw new ArgumentOutOfRangeException(nameof(HistoryInterval), $"HistoryInterval must be ≥ 1, got {HistoryInterval}.");
        if (SnapshotInterval < 0) throw new ArgumentOutOfRangeException(nameof(SnapshotInterval), $"SnapshotInterval must be ≥ 0 (0 = none), got {SnapshotInterval}.");
        if (!(LearningRateX > 0) || double.IsInfinity(LearningRateX)) throw new ArgumentOutOfRangeException(nameof(LearningRateX), $"The candidates' learning rate must be positive and finite, got {LearningRateX}.");
        if (!(LearningRateLambda >= 0) || double.IsInfinity(LearningRateLambda)) throw new ArgumentOutOfRangeException(nameof(LearningRateLambda), $"λ's learning rate must be finite and ≥ 0, got {LearningRateLambda}.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), $"Momentum must be in [0, 1), got {Momentum}.");
        if (!(Adam.Beta1 >= 0 && Adam.Beta1 < 1 && Adam.Beta2 >= 0 && Adam.Beta2 < 1 && Adam.Eps > 0)) throw new ArgumentOutOfRangeException(nameof(Adam), $"Adam needs β₁, β₂ ∈ [0, 1) and ε > 0, got {Adam}.");
        if (!(StopBelowLoss >= 0)) throw new ArgumentOutOfRangeException(nameof(StopBelowLoss), $"StopBelowLoss must be ≥ 0, got {StopBelowLoss}.");
        if (Objective is null) throw new ArgumentNullException(nameof(Objective));
        if (Init is null) throw new ArgumentNullException(nameof(Init));
        Objective.Validate();
        if (Objective.PlainRelu) throw new ArgumentException("The attack needs the modified ReLU (Objective.PlainRelu is for evaluating the objective only).", nameof(Objective));
    }

    /// <summary>The labels actually used: <see cref="Labels"/> or the reference's half −1, half +1, as float64 on the CPU.</summary>
    public Tensor ResolveLabels()
    {
        if (Labels is { } y)
        {
            NoPrior.Labels.Check(y, Candidates, nameof(Labels));
            return y.detach().to(ScalarType.Float64, CPU).clone();
        }
        var v = new double[Candidates];
        for (int k = 0; k < Candidates; k++) v[k] = k < Candidates / 2 ? -1 : 1;
        return HostArrays.ToTensor(v);
    }
}
