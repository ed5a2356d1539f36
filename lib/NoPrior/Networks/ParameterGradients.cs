using NoPrior.LinearAlgebra;
using TorchSharp;
using static TorchSharp.torch;

namespace NoPrior.Networks;

/// <summary>
/// Closed-form parameter gradients ∇_θΦ(θ; x_i) of a bias-free MLP, by one forward and one backward sweep of
/// matrix products. With a_0 = x, h_k = W_k a_k, a_{k+1} = σ(h_k) and back-propagated signals δ_{L−1} = 1,
/// δ_{k−1} = (W_kᵀ δ_k) ⊙ σ'(h_{k−1}), the gradient for layer k is the outer product δ_k a_kᵀ. Nothing here
/// calls autograd, yet every result is an ordinary differentiable function of X and the weights.
/// </summary>
public sealed class ParameterGradients : IDisposable
{
    /// <summary>Layer inputs a_k, [n, in_k].</summary>
    public Tensor[] Inputs { get; }
    /// <summary>Back-propagated signals δ_k = ∂Φ/∂h_k, [n, out_k].</summary>
    public Tensor[] Signals { get; }
    /// <summary>Pre-activations h_k (the last one is Φ itself, [n, 1]).</summary>
    public Tensor[] PreActivations { get; }

    /// <summary>The tensors <see cref="Dispose"/> releases: all of them, or only the converted input when the rest are a workspace's.</summary>
    readonly Tensor[] _owned;

    ParameterGradients(Tensor[] inputs, Tensor[] signals, Tensor[] pre, Tensor[]? owned = null)
    {
        Inputs = inputs; Signals = signals; PreActivations = pre;
        _owned = owned ?? inputs.Concat(signals).Concat(pre).ToArray();
    }

    /// <summary>Runs the two sweeps for inputs X [n, d] with the given weights (defaults to the network's own) and activation.</summary>
    /// <param name="net">The network (its input dimension, device and dtype; its weights unless <paramref name="weights"/> is given).</param>
    /// <param name="X">Inputs [n, d] (or one row [d]).</param>
    /// <param name="weights">Weights to use instead of the network's, e.g. training's own copies.</param>
    /// <param name="activation">The activation (default the plain ReLU).</param>
    /// <param name="workspace">With one (for loops without autograd, e.g. <see cref="Training.GradientDescent.Train"/>), the
    /// layer inputs, signals and pre-activations are written in place into its tensors from the previous call (allocated
    /// at the first call, replaced when a shape, dtype or device changes) and stay the workspace's: valid until the next
    /// call with it, not disposed with this object. The same numbers as without one to rounding: the products go into
    /// existing tensors (libtorch's addmm_ with β = 0), which need not round like mm into new ones (bit for bit in
    /// TrainingWorkspaceTests' case; notebook 06's trained networks moved in the 15th–16th digit). Refused when X or a weight
    /// requires grad under grad mode (autograd cannot differentiate through reused tensors).</param>
    public static ParameterGradients Compute(HomogeneousMlp net, Tensor X, IReadOnlyList<Tensor>? weights = null, Activation? activation = null,
        TensorWorkspace? workspace = null)
    {
        weights ??= net.Weights;
        activation ??= Activation.Relu;
        if (workspace is not null) return ComputeInto(workspace, net, X, weights, activation);
        using var scope = torch.NewDisposeScope();
        int L = weights.Count;
        var a = new Tensor[L];
        var h = new Tensor[L];
        a[0] = net.PrepareInputs(X);
        for (int k = 0; k < L; k++)
        {
            h[k] = MatMul.Product(a[k], weights[k].t());
            if (k < L - 1) a[k + 1] = activation.Value(h[k]);
        }
        var d = new Tensor[L];
        d[L - 1] = torch.ones_like(h[L - 1]);
        for (int k = L - 1; k > 0; k--)
            d[k - 1] = MatMul.Product(d[k], weights[k]) * activation.Derivative(h[k - 1]);
        foreach (var t in a.Concat(d).Concat(h)) t.MoveToOuterDisposeScope();
        return new ParameterGradients(a, d, h);
    }

    /// <summary><see cref="Compute"/> into <paramref name="ws"/>'s tensors: the same operations on the same operands, in
    /// place (products by <see cref="MatMul.AddProductInPlace"/> with β = 0, elementwise ones by copy_ and the in-place op,
    /// or, for the ReLU, in one pass of <see cref="FusedElementwise"/> with the same bits).</summary>
    static ParameterGradients ComputeInto(TensorWorkspace ws, HomogeneousMlp net, Tensor X, IReadOnlyList<Tensor> weights, Activation activation)
    {
        using var scope = torch.NewDisposeScope();
        var x = net.PrepareInputs(X);
        if (torch.is_grad_enabled() && (x.requires_grad || weights.Any(w => w.requires_grad)))
            throw new ArgumentException("A workspace is for sweeps without autograd history (its tensors are overwritten by the next call); pass none, or run under no_grad.", nameof(X));
        int L = weights.Count;
        long n = x.shape[0];
        Tensor Buffer(string name, int k, long cols) => ws.Get(name, k, x.dtype, x.device, n, cols);
        var a = new Tensor[L];
        var h = new Tensor[L];
        a[0] = x;
        for (int k = 0; k < L; k++)
        {
            h[k] = Buffer("gradients.h", k, weights[k].shape[0]);
            MatMul.AddProductInPlace(h[k], a[k], weights[k].t(), beta: 0);
            if (k == L - 1) break;
            a[k + 1] = Buffer("gradients.a", k + 1, weights[k].shape[0]);
            activation.ValueInto(h[k], a[k + 1]);
        }
        var d = new Tensor[L];
        d[L - 1] = Buffer("gradients.d", L - 1, h[L - 1].shape[1]);
        d[L - 1].fill_(1);
        for (int k = L - 1; k > 0; k--)
        {
            d[k - 1] = Buffer("gradients.d", k - 1, weights[k].shape[1]);
            MatMul.AddProductInPlace(d[k - 1], d[k], weights[k], beta: 0);
            var derivative = Buffer(DerivativeName, k - 1, weights[k].shape[1]);
            activation.MultiplyByDerivative(h[k - 1], d[k - 1], derivative);
        }
        x.MoveToOuterDisposeScope();
        return new ParameterGradients(a, d, h, owned: new[] { x });
    }

    /// <summary>The workspace's σ'(h_k) [n, out_k], which <see cref="WeightedSum"/> reuses for δ_k ⊙ c.</summary>
    const string DerivativeName = "gradients.derivative";

    /// <summary>Number of examples n.</summary>
    public long Count => Inputs[0].shape[0];

    /// <summary>Φ(θ; x_i), [n].</summary>
    public Tensor Output => PreActivations[^1].squeeze(1);

    /// <summary>The stationarity sum Σ_i c_i ∇_θΦ(θ; x_i), one tensor per layer shaped like W_k: layer k is
    /// (δ_k ⊙ c)ᵀ a_k. With c_i = λ_i y_i this is the right-hand side of KKT condition 1.</summary>
    /// <param name="c">The coefficients c_i, [n].</param>
    /// <param name="workspace">With one, δ_k ⊙ c and the sums are written into its tensors (overwritten by the next call
    /// with it, which the caller must not dispose); the same numbers to rounding (see <see cref="Compute"/>). For loops
    /// without autograd, such as
    /// <see cref="Training.GradientDescent.Train"/> with the workspace it gave <see cref="Compute"/>.</param>
    public Tensor[] WeightedSum(Tensor c, TensorWorkspace? workspace = null)
    {
        if (c.dim() != 1 || c.shape[0] != Count)
            throw new ArgumentException($"Coefficients must be a vector of length {Count} (one per example), got shape [{string.Join(", ", c.shape)}].", nameof(c));
        using var scope = torch.NewDisposeScope();
        var (dtype, device) = (Inputs[0].dtype, Inputs[0].device);
        var cv = c.to(dtype, device);
        var cc = cv.unsqueeze(1);
        var sums = new Tensor[Inputs.Length];
        if (workspace is null)
        {
            for (int k = 0; k < Inputs.Length; k++) sums[k] = MatMul.Product((Signals[k] * cc).t(), Inputs[k]).MoveToOuterDisposeScope();
            return sums;
        }
        if (torch.is_grad_enabled() && (c.requires_grad || Signals.Concat(Inputs).Any(t => t.requires_grad)))
            throw new ArgumentException("A workspace is for sums without autograd history; pass none, or run under no_grad.", nameof(workspace));
        for (int k = 0; k < Inputs.Length; k++)
        {
            // σ'(h_k)'s tensor (Compute's scratch of the same shape, [n, out_k]) is free once δ_k is formed: it holds δ_k ⊙ c.
            var weighted = workspace.Get(DerivativeName, k, dtype, device, Signals[k].shape);
            FusedElementwise.ScaleRows(Signals[k], cv, weighted);
            sums[k] = workspace.Get("gradients.sum", k, dtype, device, Signals[k].shape[1], Inputs[k].shape[1]);
            MatMul.AddProductInPlace(sums[k], weighted.t(), Inputs[k], beta: 0);
        }
        return sums;
    }

    /// <summary>The per-example gradient matrix J, [n, P], rows ∇_θΦ(θ; x_i) in the order of <see cref="HomogeneousMlp.Flatten"/>.
    /// Memory n·P: for large networks prefer <see cref="Gram"/>, <see cref="JacobianTimes"/> and <see cref="WeightedSum"/>.</summary>
    public Tensor Matrix()
    {
        using var scope = torch.NewDisposeScope();
        long n = Count;
        var blocks = Enumerable.Range(0, Inputs.Length)
            .Select(k => (Signals[k].unsqueeze(2) * Inputs[k].unsqueeze(1)).reshape(n, -1)).ToArray();
        return torch.cat(blocks, 1).MoveToOuterDisposeScope();
    }

    /// <summary>The Gram matrix G = J Jᵀ, [n, n], without forming J: G = Σ_k (δ_k δ_kᵀ) ⊙ (a_k a_kᵀ).</summary>
    public Tensor Gram()
    {
        using var scope = torch.NewDisposeScope();
        Tensor g = torch.zeros(Count, Count, dtype: Inputs[0].dtype, device: Inputs[0].device);
        for (int k = 0; k < Inputs.Length; k++) g = g + MatMul.Product(Signals[k], Signals[k].t()) * MatMul.Product(Inputs[k], Inputs[k].t());
        return g.MoveToOuterDisposeScope();
    }

    /// <summary>J v for a parameter-shaped v (one tensor per layer): (J v)_i = Σ_k δ_k^iᵀ V_k a_k^i, [n].</summary>
    public Tensor JacobianTimes(IReadOnlyList<Tensor> v)
    {
        using var scope = torch.NewDisposeScope();
        Tensor r = torch.zeros(Count, dtype: Inputs[0].dtype, device: Inputs[0].device);
        for (int k = 0; k < Inputs.Length; k++) r = r + (Signals[k] * MatMul.Product(Inputs[k], v[k].t())).sum(1);
        return r.MoveToOuterDisposeScope();
    }

    public void Dispose() { foreach (var t in _owned) t.Dispose(); }
}
