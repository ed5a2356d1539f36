using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>The attack loss at one point and its gradients, from <see cref="AttackGradient.ValueAndGradient"/>.
/// All tensors are plain (no autograd history) and owned by this object.</summary>
public sealed class AttackLossGradient : IDisposable
{
    /// <summary>The loss terms (values only).</summary>
    public required AttackLossTerms Terms { get; init; }
    /// <summary>∂L/∂X, [m, d].</summary>
    public required Tensor GradX { get; init; }
    /// <summary>∂L/∂λ, [m].</summary>
    public required Tensor GradLambda { get; init; }

    public void Dispose() { Terms.Dispose(); GradX.Dispose(); GradLambda.Dispose(); }
}

/// <summary>
/// The attack loss and its gradient w.r.t. the candidates X and the multipliers λ written out by hand: one forward sweep
/// (the closed-form stationarity sum of <see cref="ParameterGradients"/>) and one hand-derived backward sweep, no autograd.
/// Same numbers as autograd through <see cref="AttackObjective.Terms"/> (either path) to rounding; it skips the autograd
/// graph's bookkeeping and extra elementwise passes and accumulates matrix products in place (addmm), so it is the
/// fastest way to take an attack step.
/// </summary>
/// <remarks>
/// Notation (per layer k = 0 … L−1): a_0 = X, h_k = a_k W_kᵀ, a_{k+1} = relu(h_k), s_k = sigmoid(α h_k);
/// δ_{L−1} = 1, u_{k} = δ_{k+1} W_{k+1}, δ_k = u_k ⊙ s_k; D_k = diag(c) δ_k, c = λ ⊙ y / m; S_k = D_kᵀ a_k; R_k = W_k − S_k;
/// L_stationary = Σ_k ‖R_k‖². With Ŝ_k = ∂L/∂S_k = −2 w_stat R_k:
/// ∂L/∂D_k = a_k Ŝ_kᵀ, ∂L/∂a_k ∋ D_k Ŝ_k, ∂L/∂c = Σ_k rowsum(∂L/∂D_k ⊙ δ_k), ∂L/∂δ_k ∋ c ⊙ ∂L/∂D_k;
/// through δ_k = u_k ⊙ s_k (k ascending): ∂L/∂δ_{k+1} += (∂L/∂δ_k ⊙ s_k) W_{k+1}, ∂L/∂h_k ∋ (∂L/∂δ_k ⊙ u_k) ⊙ α s_k (1 − s_k);
/// through the forward pass (k descending): ∂L/∂a_k += ∂L/∂h_k W_k, ∂L/∂h_{k−1} += ∂L/∂a_k ⊙ s_{k−1} (the modified
/// ReLU's derivative). Finally ∂L/∂X = ∂L/∂a_0 and ∂L/∂λ = ∂L/∂c ⊙ y / m.
/// FLOPs: 2·m·Σ_k in_k·out_k × (5 for layer 0, 7 for the others) — the same matrix products as double backprop.
/// </remarks>
public static class AttackGradient
{
    /// <summary>Floating-point operations of one attack step's matrix products (value and gradient) for m candidates and
    /// layer widths [d, h_1, …, 1]: 2·m·Σ_k in_k·out_k·(5 for layer 0, 7 for the others). Double backprop through
    /// <see cref="AttackObjective.Terms"/> needs the same products.</summary>
    public static double FlopsPerStep(IReadOnlyList<int> widths, long m)
    {
        double f = 0;
        for (int k = 0; k + 1 < widths.Count; k++) f += 2.0 * m * widths[k] * widths[k + 1] * (k == 0 ? 5 : 7);
        return f;
    }

    /// <summary>The loss terms of <paramref name="obj"/> at candidates X [m, d] (labels y, multipliers λ) together with ∂L/∂X
    /// and ∂L/∂λ, by the hand-derived backward sweep above and the prior's own <see cref="CandidatePrior.ValueAndGradient"/>
    /// instead of autograd. Equal to <c>autograd.grad(obj.Terms(...).Total, [X, λ])</c> along either
    /// <see cref="AttackObjective.Path"/> to rounding, and the fastest way to take an attack step
    /// (<see cref="ReconstructionAttack.Run"/> uses it for <see cref="StationarityPath.ClosedForm"/>).
    /// The returned tensors carry no autograd history; X and λ need not require grad.</summary>
    public static AttackLossGradient ValueAndGradient(this AttackObjective obj, HomogeneousMlp net, Tensor X, Tensor y, Tensor lambda)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj.PlainRelu)
            throw new InvalidOperationException("The plain-ReLU objective is for evaluation only (its derivative in x is 0 through every kink); attack with the modified ReLU.");
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var Xc = obj.CheckArguments(net, X, y, lambda).detach();
        long m = Xc.shape[0];
        var lam = lambda.detach().to(net.DType, net.Device);
        var yy = y.to(net.DType, net.Device);
        var zero = torch.zeros(Array.Empty<long>(), dtype: net.DType, device: net.Device);

        var gX = torch.zeros_like(Xc);
        var gL = torch.zeros_like(lam);
        var stat = zero;
        if (obj.StationaryWeight > 0)
        {
            var c = lam * yy / (double)m;
            var (st, gXs, gC) = Stationarity(net.Weights, Xc, c, obj.Alpha, obj.StationaryWeight);
            stat = st;
            gX = gXs;
            gL = gC.mul_(yy).div_((double)m);
        }

        var lamPen = zero;
        if (obj.LambdaWeight > 0)
        {
            var gap = (obj.LambdaMin - lam).relu_();
            lamPen = gap.square().sum().mul_(obj.LambdaPenaltyCoefficient);
            gL.add_(gap, alpha: -2 * obj.LambdaPenaltyCoefficient * obj.LambdaWeight);
        }

        var prior = zero;
        if (obj.PriorWeight > 0 && obj.Prior != CandidatePrior.None)
        {
            (prior, var gP) = obj.Prior.ValueAndGradient(Xc);
            gX.add_(gP, alpha: obj.PriorWeight);
        }

        var total = stat * obj.StationaryWeight + lamPen * obj.LambdaWeight + prior * obj.PriorWeight;
        return new AttackLossGradient
        {
            Terms = new AttackLossTerms
            {
                Total = total.MoveToOuterDisposeScope(),
                Stationary = stat.MoveToOuterDisposeScope(),
                Lambda = lamPen.MoveToOuterDisposeScope(),
                Prior = prior.MoveToOuterDisposeScope(),
            },
            GradX = gX.MoveToOuterDisposeScope(),
            GradLambda = gL.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>L_stationary = Σ_k ‖W_k − D_kᵀ a_k‖² and w·∂/∂X, w·∂/∂c (w = <paramref name="weight"/>). Call inside a dispose scope.</summary>
    static (Tensor Loss, Tensor GradX, Tensor GradC) Stationarity(IReadOnlyList<Tensor> W, Tensor X, Tensor c, double alpha, double weight)
    {
        int L = W.Count;
        long m = X.shape[0];
        var cc = c.unsqueeze(1);
        var a = new Tensor[L];     // layer inputs a_k
        var s = new Tensor[L - 1]; // sigmoid(α h_k), the modified ReLU's derivative
        a[0] = X;
        for (int k = 0; k < L - 1; k++)
        {
            var h = MatMul.Product(a[k], W[k].t());
            s[k] = h.mul(alpha).sigmoid_();
            a[k + 1] = h.relu_(); // h is not needed afterwards: s_k carries everything the backward sweep uses
        }
        // δ_{L−1} = 1; u_k = δ_{k+1} W_{k+1}; δ_k = u_k ⊙ s_k.
        var delta = new Tensor[L];
        var u = new Tensor[L - 1];
        delta[L - 1] = torch.ones(m, 1, dtype: X.dtype, device: X.device);
        for (int k = L - 2; k >= 0; k--)
        {
            u[k] = k + 1 == L - 1 ? W[L - 1].expand(m, -1) : MatMul.Product(delta[k + 1], W[k + 1]);
            delta[k] = u[k] * s[k];
        }
        // R_k = W_k − D_kᵀ a_k with D_k = c ⊙ δ_k; the loss Σ‖R_k‖²; Ŝ_k = −2w R_k.
        Tensor loss = torch.zeros(Array.Empty<long>(), dtype: X.dtype, device: X.device);
        var D = new Tensor[L];
        var Shat = new Tensor[L];
        for (int k = 0; k < L; k++)
        {
            D[k] = delta[k] * cc;
            var R = MatMul.AddProduct(W[k], D[k].t(), a[k], beta: 1, alpha: -1);
            loss = loss + R.square().sum();
            Shat[k] = R.mul_(-2 * weight);
        }
        // ∂L/∂δ_k (direct part c ⊙ a_k Ŝ_kᵀ) and ∂L/∂c.
        var gC = torch.zeros(m, dtype: X.dtype, device: X.device);
        var gDelta = new Tensor[L];
        for (int k = 0; k < L; k++)
        {
            var gD = MatMul.Product(a[k], Shat[k].t());
            gC.add_((gD * delta[k]).sum(1));
            gDelta[k] = gD.mul_(cc);
        }
        // Through δ_k = u_k ⊙ s_k, k ascending: ∂L/∂δ_{k+1} += (∂L/∂δ_k ⊙ s_k) W_{k+1}ᵀ; ∂L/∂h_k = (∂L/∂δ_k ⊙ u_k) ⊙ α s_k (1 − s_k).
        var gH = new Tensor[L - 1];
        for (int k = 0; k < L - 1; k++)
        {
            if (k + 1 < L - 1) MatMul.AddProductInPlace(gDelta[k + 1], gDelta[k] * s[k], W[k + 1].t());
            // δ_{L−1} = 1 is a constant: nothing flows further.
            var ds = s[k] - s[k].square();
            gH[k] = gDelta[k].mul_(u[k]).mul_(ds).mul_(alpha);
        }
        // ∂L/∂a_k = D_k Ŝ_k (+ ∂L/∂h_k W_k), k descending; ∂L/∂h_{k−1} += ∂L/∂a_k ⊙ s_{k−1}.
        Tensor gA = MatMul.Product(D[L - 1], Shat[L - 1]);
        for (int k = L - 1; k >= 0; k--)
        {
            if (k < L - 1) MatMul.AddProductInPlace(gA, gH[k], W[k]);
            if (k == 0) break;
            gH[k - 1].addcmul_(gA, s[k - 1], value: 1);
            gA = MatMul.Product(D[k - 1], Shat[k - 1]);
        }
        return (loss, gA, gC);
    }
}
