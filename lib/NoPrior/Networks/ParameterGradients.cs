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

    ParameterGradients(Tensor[] inputs, Tensor[] signals, Tensor[] pre) { Inputs = inputs; Signals = signals; PreActivations = pre; }

    /// <summary>Runs the two sweeps for inputs X [n, d] with the given weights (defaults to the network's own) and activation.</summary>
    public static ParameterGradients Compute(HomogeneousMlp net, Tensor X, IReadOnlyList<Tensor>? weights = null, Activation? activation = null)
    {
        weights ??= net.Weights;
        activation ??= Activation.Relu;
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

    /// <summary>Number of examples n.</summary>
    public long Count => Inputs[0].shape[0];

    /// <summary>Φ(θ; x_i), [n].</summary>
    public Tensor Output => PreActivations[^1].squeeze(1);

    /// <summary>The stationarity sum Σ_i c_i ∇_θΦ(θ; x_i), one tensor per layer shaped like W_k: layer k is
    /// (δ_k ⊙ c)ᵀ a_k. With c_i = λ_i y_i this is the right-hand side of KKT condition 1.</summary>
    public Tensor[] WeightedSum(Tensor c)
    {
        if (c.dim() != 1 || c.shape[0] != Count)
            throw new ArgumentException($"Coefficients must be a vector of length {Count} (one per example), got shape [{string.Join(", ", c.shape)}].", nameof(c));
        using var scope = torch.NewDisposeScope();
        var cc = c.to(Inputs[0].dtype, Inputs[0].device).unsqueeze(1);
        var sums = new Tensor[Inputs.Length];
        for (int k = 0; k < Inputs.Length; k++) sums[k] = MatMul.Product((Signals[k] * cc).t(), Inputs[k]).MoveToOuterDisposeScope();
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

    public void Dispose() { foreach (var t in Inputs.Concat(Signals).Concat(PreActivations)) t.Dispose(); }
}
