using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Networks;

/// <summary>
/// The hidden-unit nonlinearity as the calculus of <see cref="ParameterGradients"/> sees it: a value used in the
/// forward pass and a derivative used when forming ∇_θΦ. For the plain ReLU the derivative is the step 1[h &gt; 0].
/// </summary>
public abstract record Activation
{
    /// <summary>σ(h) as it enters the next layer.</summary>
    public abstract Tensor Value(Tensor h);
    /// <summary>σ'(h) as it enters ∇_θΦ.</summary>
    public abstract Tensor Derivative(Tensor h);

    /// <summary><see cref="Value"/> written into <paramref name="into"/> (shaped like h), for sweeps without autograd
    /// into a <see cref="TensorWorkspace"/>; the same values bit for bit. This default computes it out of place and copies.</summary>
    internal virtual void ValueInto(Tensor h, Tensor into) { using var v = Value(h); into.copy_(v); }

    /// <summary><see cref="Derivative"/> written into <paramref name="into"/>, as <see cref="ValueInto"/>.</summary>
    internal virtual void DerivativeInto(Tensor h, Tensor into) { using var v = Derivative(h); into.copy_(v); }

    /// <summary>d ← d ⊙ σ'(h) in place, for sweeps without autograd; <paramref name="scratch"/> (shaped like h) may be
    /// overwritten. The same bits as <c>DerivativeInto(h, scratch); d.mul_(scratch)</c>, which this default does.</summary>
    internal virtual void MultiplyByDerivative(Tensor h, Tensor d, Tensor scratch) { DerivativeInto(h, scratch); d.mul_(scratch); }

    /// <summary>σ(z) = max(z, 0), σ'(z) = 1[z &gt; 0].</summary>
    public static Activation Relu { get; } = new ReluActivation();
    /// <summary>The attack's modified ReLU with slope parameter α (Haim et al. 2022).</summary>
    public static Activation Modified(double alpha) => new ModifiedRelu(alpha);
}

/// <summary>The plain ReLU.</summary>
public sealed record ReluActivation : Activation
{
    public override Tensor Value(Tensor h) => nn.functional.relu(h);
    public override Tensor Derivative(Tensor h) => h.gt(0).to(h.dtype);
    internal override void ValueInto(Tensor h, Tensor into) => FusedElementwise.Relu(h, into);
    // One pass: d ⊙ 1[h > 0] without storing the step (FusedElementwise.MultiplyByStep, whose libtorch fallback is
    // copy_(h).gt_(0) and a multiplication; the same bits as Derivative's gt(0).to(dtype) multiplied in).
    internal override void MultiplyByDerivative(Tensor h, Tensor d, Tensor scratch) => FusedElementwise.MultiplyByStep(d, h, scratch);
}

/// <summary>
/// Modified ReLU of the reconstruction attack: value max(h, 0), derivative sigmoid(αh). Without it the second
/// differentiation (∂/∂x of ∇_θΦ) sees only the piecewise-constant step and gives no signal through the kinks.
/// The value is built with the detach trick a = (relu(h) − s(h)).detach() + s(h), s(h) = softplus(αh)/α = −logsigmoid(−αh)/α, so that
/// autograd differentiates it as s, whose derivative is sigmoid(αh) — no custom autograd function needed.
/// </summary>
public sealed record ModifiedRelu(double Alpha) : Activation
{
    public override Tensor Value(Tensor h)
    {
        if (!(Alpha > 0)) throw new ArgumentOutOfRangeException(nameof(Alpha), $"α must be positive, got {Alpha}.");
        // s(h) = softplus(αh)/α written as −logsigmoid(−αh)/α: PyTorch's softplus switches to the identity for
        // αh > 20 (derivative exactly 1 instead of sigmoid(αh), an error up to e^−20 ≈ 2e-9), which would make
        // double backprop disagree with the closed form sigmoid(αh) of Derivative. logsigmoid has no threshold.
        using var s = nn.functional.logsigmoid(h * -Alpha) / -Alpha;
        using var relu = nn.functional.relu(h);
        using var gap = (relu - s).detach();
        return gap + s;
    }
    public override Tensor Derivative(Tensor h) => (h * Alpha).sigmoid();
    internal override void DerivativeInto(Tensor h, Tensor into) => into.copy_(h).mul_(Alpha).sigmoid_();
}
