using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>
/// The prior term L_prior of the attack: a penalty on candidates that leave a plausible range. The paper studies the
/// attack with this term removed (<see cref="None"/>). Each prior gives its value as a differentiable tensor
/// (<see cref="Penalty"/>, for autograd) and its value with ∂L_prior/∂X (<see cref="ValueAndGradient(Tensor)"/>, for the
/// hand-derived attack step).
/// </summary>
public abstract record CandidatePrior
{
    /// <summary>The penalty for candidates X [m, d], a scalar tensor differentiable in X.</summary>
    public abstract Tensor Penalty(Tensor X);

    /// <summary>L_prior(X) and ∂L_prior/∂X [m, d], without autograd history. This default differentiates
    /// <see cref="Penalty"/> by autograd; the box priors override it with their closed form.</summary>
    public virtual (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X)
    {
        using var scope = torch.NewDisposeScope();
        using var grad = torch.enable_grad();
        var leaf = X.detach().requires_grad_(true);
        var value = Penalty(leaf);
        var g = torch.autograd.grad(new[] { value }, new[] { leaf }, allow_unused: true)[0];
        var dX = g is null ? torch.zeros_like(X) : g.detach();
        return (value.detach().MoveToOuterDisposeScope(), dX.MoveToOuterDisposeScope());
    }

    /// <summary><see cref="ValueAndGradient(Tensor)"/> for the attack step (<see cref="AttackGradient.ValueAndGradient"/>):
    /// X detached, called inside the caller's dispose scope. The box priors write their [m, d] intermediates and the
    /// gradient into <paramref name="workspace"/>'s tensors (new ones in the caller's scope when it is null), so the
    /// returned gradient may be the workspace's; this default returns new tensors.</summary>
    internal virtual (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X, TensorWorkspace? workspace) => ValueAndGradient(X);

    /// <summary>No prior: L_prior = 0 (the paper's setting).</summary>
    public static CandidatePrior None { get; } = new NoCandidatePrior();

    /// <summary>The reference box on mean-subtracted pixels, L_prior = Σ relu(x' − b)² + relu(−b − x')² elementwise, b = 1.</summary>
    public static CandidatePrior Box(double bound = 1.0) => new BoxPrior(bound);

    /// <summary>The exact valid range of a mean-subtracted pixel: if raw pixels lie in [lo, hi] and the per-pixel mean μ was
    /// subtracted, then x' ∈ [lo − μ, hi − μ]. A tighter prior than <see cref="Box"/> (which allows [−1, 1] everywhere).</summary>
    public static CandidatePrior PixelBoxFromMean(Tensor mean, double lo = 0.0, double hi = 1.0)
    {
        if (mean.dim() != 1) throw new ArgumentException($"mean must be a vector [d], got shape [{string.Join(", ", mean.shape)}].", nameof(mean));
        Numerics.CheckFinite(mean, nameof(mean));
        if (!double.IsFinite(lo) || !double.IsFinite(hi) || !(hi > lo)) throw new ArgumentException($"Need finite lo < hi, got [{lo}, {hi}].");
        using var m = mean.to(ScalarType.Float64);
        using var l = (lo - m);
        using var u = (hi - m);
        return new PixelBoxPrior(l, u);
    }

    /// <summary>Σ relu(x − hi)² + relu(lo − x)² from the signed excesses <paramref name="above"/> = X − hi and
    /// <paramref name="below"/> = lo − X, as a tensor autograd can differentiate.</summary>
    private protected static Tensor BoxPenalty(Tensor above, Tensor below)
        => nn.functional.relu(above).square().sum() + nn.functional.relu(below).square().sum();

    /// <summary>The same value and its gradient 2(relu(x − hi) − relu(lo − x)) for candidates X and bounds lo, hi ([d]
    /// vectors, broadcast over the rows): the excesses, their squares (square() is pow(2)) and the gradient in one pass
    /// (<see cref="FusedElementwise.BoxExcesses"/>), the sums in libtorch. The squared excesses go to
    /// <paramref name="workspace"/>'s tensors "prior.above"/"prior.below", the gradient to "prior.grad" (new tensors
    /// without a workspace).</summary>
    private protected static (Tensor Value, Tensor Grad) BoxValueAndGradient(Tensor X, Tensor lo, Tensor hi, TensorWorkspace? workspace)
    {
        Tensor Get(string name) => TensorWorkspace.Get(workspace, name, 0, X.dtype, X.device, X.shape);
        var (above, below, grad) = (Get("prior.above"), Get("prior.below"), Get("prior.grad"));
        FusedElementwise.BoxExcesses(X, lo.expand(X.shape), hi.expand(X.shape), above, below, grad);
        var value = above.sum() + below.sum();
        return (value, grad);
    }

    /// <summary>The public <see cref="ValueAndGradient(Tensor)"/> of the box priors: new tensors, no workspace.</summary>
    private protected (Tensor Value, Tensor Grad) ValueAndGradientWithoutWorkspace(Tensor X)
    {
        using var scope = torch.NewDisposeScope();
        var (value, grad) = ValueAndGradient(X.detach(), null);
        return (value.MoveToOuterDisposeScope(), grad.MoveToOuterDisposeScope());
    }
}

/// <summary>L_prior = 0.</summary>
public sealed record NoCandidatePrior : CandidatePrior
{
    public override Tensor Penalty(Tensor X) => torch.zeros(Array.Empty<long>(), dtype: X.dtype, device: X.device);
    public override (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X) => (Penalty(X), torch.zeros_like(X));
}

/// <summary>L_prior = Σ relu(x' − b)² + relu(−b − x')² (reference, b = 1 on mean-subtracted pixels).</summary>
public sealed record BoxPrior : CandidatePrior
{
    public double Bound { get; }
    public BoxPrior(double bound)
    {
        if (!(bound > 0) || double.IsInfinity(bound)) throw new ArgumentOutOfRangeException(nameof(bound), $"The box bound must be positive and finite, got {bound}.");
        Bound = bound;
    }

    public override Tensor Penalty(Tensor X)
    {
        using var scope = torch.NewDisposeScope();
        return BoxPenalty(X - Bound, -Bound - X).MoveToOuterDisposeScope();
    }

    public override (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X) => ValueAndGradientWithoutWorkspace(X);

    internal override (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X, TensorWorkspace? workspace)
    {
        // X − b and −b − X, which TorchSharp forms as (−X) + (−b): the same sum as lo − X with lo = −b.
        using var hi = torch.full(X.shape[^1], Bound, dtype: X.dtype, device: X.device);
        using var lo = torch.full(X.shape[^1], -Bound, dtype: X.dtype, device: X.device);
        return BoxValueAndGradient(X, lo, hi, workspace);
    }
}

/// <summary>L_prior = Σ relu(x' − hi)² + relu(lo − x')² with per-coordinate bounds (<see cref="CandidatePrior.PixelBoxFromMean"/>).</summary>
public sealed record PixelBoxPrior : CandidatePrior
{
    public Tensor Lower { get; }
    public Tensor Upper { get; }
    public PixelBoxPrior(Tensor lower, Tensor upper)
    {
        if (lower.dim() != 1 || upper.dim() != 1 || lower.shape[0] != upper.shape[0])
            throw new ArgumentException($"lower and upper must be vectors [d] of one length, got [{string.Join(", ", lower.shape)}] and [{string.Join(", ", upper.shape)}].");
        Numerics.CheckFinite(lower, nameof(lower));
        Numerics.CheckFinite(upper, nameof(upper));
        using var bad = lower.gt(upper).any();
        if (bad.ToBoolean()) throw new ArgumentException("Every lower bound must be ≤ its upper bound.");
        Lower = lower.detach().to(ScalarType.Float64).clone();
        Upper = upper.detach().to(ScalarType.Float64).clone();
    }

    public override Tensor Penalty(Tensor X)
    {
        using var scope = torch.NewDisposeScope();
        var (lo, hi) = Bounds(X);
        return BoxPenalty(X - hi, lo - X).MoveToOuterDisposeScope();
    }

    public override (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X) => ValueAndGradientWithoutWorkspace(X);

    internal override (Tensor Value, Tensor Grad) ValueAndGradient(Tensor X, TensorWorkspace? workspace)
    {
        var (lo, hi) = Bounds(X);
        return BoxValueAndGradient(X, lo, hi, workspace);
    }

    (Tensor Lo, Tensor Hi) Bounds(Tensor X)
    {
        if (X.shape[^1] != Lower.shape[0])
            throw new ArgumentException($"The pixel box has {Lower.shape[0]} coordinates but the candidates have {X.shape[^1]}.");
        return (Lower.to(X.dtype, X.device), Upper.to(X.dtype, X.device));
    }
}
