using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>The attack loss at one point and its gradients, from <see cref="AttackGradient.ValueAndGradient"/>.
/// All tensors are plain (no autograd history). The loss terms are owned by this object; the gradients too when the call
/// had no <see cref="TensorWorkspace"/>, else they are the workspace's tensors (valid until the next call with it or its
/// disposal, and left alone by <see cref="Dispose"/>).</summary>
public sealed class AttackLossGradient : IDisposable
{
    /// <summary>The loss terms (values only).</summary>
    public required AttackLossTerms Terms { get; init; }
    /// <summary>∂L/∂X, [m, d].</summary>
    public required Tensor GradX { get; init; }
    /// <summary>∂L/∂λ, [m].</summary>
    public required Tensor GradLambda { get; init; }
    /// <summary>False when <see cref="GradX"/> and <see cref="GradLambda"/> belong to a workspace.</summary>
    internal bool OwnsGradients { get; init; } = true;

    public void Dispose()
    {
        Terms.Dispose();
        if (!OwnsGradients) return;
        GradX.Dispose();
        GradLambda.Dispose();
    }
}

/// <summary>
/// The attack loss and its gradient w.r.t. the candidates X and the multipliers λ written out by hand: one forward sweep
/// (the closed-form stationarity sum of <see cref="ParameterGradients"/>) and one hand-derived backward sweep, no autograd.
/// Same numbers as autograd through <see cref="AttackObjective.Terms"/> (either path) to rounding; it skips the autograd
/// graph's bookkeeping and extra elementwise passes and accumulates matrix products in place (addmm), so it is the
/// fastest way to take an attack step. Given a <see cref="TensorWorkspace"/>, a loop of steps allocates no new large
/// tensors: each step writes into the previous step's (the same bits as without one).
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
    /// and ∂L/∂λ, by the hand-derived backward sweep above and the prior's own <see cref="CandidatePrior.ValueAndGradient(Tensor)"/>
    /// instead of autograd. Equal to <c>autograd.grad(obj.Terms(...).Total, [X, λ])</c> along either
    /// <see cref="AttackObjective.Path"/> to rounding, and the fastest way to take an attack step
    /// (<see cref="ReconstructionAttack.Run"/> uses it for <see cref="StationarityPath.ClosedForm"/>).
    /// The returned tensors carry no autograd history; X and λ need not require grad.</summary>
    /// <param name="obj">The objective (its <see cref="AttackObjective.Path"/> is not used: this is the closed form).</param>
    /// <param name="net">The attacked network; tensors follow its device and dtype.</param>
    /// <param name="X">Candidates [m, d].</param>
    /// <param name="y">Labels [m], ±1.</param>
    /// <param name="lambda">Multipliers [m].</param>
    /// <param name="workspace">Where the step's large intermediates ([m, width] and weight-shaped tensors) and the
    /// returned gradients live: with one, a call writes into the tensors of the previous call (in place; allocated on the
    /// first call, replaced when m, the widths, dtype or device change), so a loop of steps allocates no new large tensors
    /// (<see cref="ReconstructionAttack.Run"/> keeps one per run); the returned <see cref="AttackLossGradient.GradX"/> and
    /// <see cref="AttackLossGradient.GradLambda"/> are then the workspace's, overwritten by the next call. Without one
    /// (null) every tensor is new and the result owns its gradients. The numbers are the same either way, bit for bit.</param>
    public static AttackLossGradient ValueAndGradient(this AttackObjective obj, HomogeneousMlp net, Tensor X, Tensor y, Tensor lambda,
        TensorWorkspace? workspace = null)
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

        Tensor gX, gL;
        var stat = zero;
        if (obj.StationaryWeight > 0)
        {
            var c = lam * yy / (double)m;
            (stat, gX, gL) = Stationarity(net.Weights, Xc, c, obj.Alpha, obj.StationaryWeight, workspace);
            gL.mul_(yy).div_((double)m);
        }
        else
        {
            gX = TensorWorkspace.Get(workspace, "gradX", 0, Xc.dtype, Xc.device, Xc.shape);
            gX.fill_(0);
            gL = TensorWorkspace.Get(workspace, "gradLambda", 0, Xc.dtype, Xc.device, m);
            gL.fill_(0);
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
            (prior, var gP) = obj.Prior.ValueAndGradient(Xc, workspace);
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
            // The workspace's tensors belong to no dispose scope; new ones leave this one with the result.
            GradX = workspace is null ? gX.MoveToOuterDisposeScope() : gX,
            GradLambda = workspace is null ? gL.MoveToOuterDisposeScope() : gL,
            OwnsGradients = workspace is null,
        };
    }

    /// <summary>L_stationary = Σ_k ‖W_k − D_kᵀ a_k‖² and w·∂/∂X, w·∂/∂c (w = <paramref name="weight"/>). Call inside a dispose
    /// scope. Every large intermediate is a tensor of <paramref name="ws"/> (new ones in the scope when it is null), written
    /// in place: products by <see cref="MatMul.AddProductInPlace"/> (β = 0 overwrites), elementwise results by copy_ and the
    /// in-place form of the operation the formula names — the same operations on the same operands in the same order as
    /// out-of-place code, so the same bits. The returned ∂/∂X and ∂/∂c are tensors of the workspace.</summary>
    static (Tensor Loss, Tensor GradX, Tensor GradC) Stationarity(IReadOnlyList<Tensor> W, Tensor X, Tensor c, double alpha, double weight, TensorWorkspace? ws)
    {
        int L = W.Count;
        long m = X.shape[0];
        var (dtype, device) = (X.dtype, X.device);
        Tensor Buffer(string name, int k, params long[] shape) => TensorWorkspace.Get(ws, name, k, dtype, device, shape);
        long Out(int k) => W[k].shape[0];
        long In(int k) => W[k].shape[1];
        // The arrays hold the workspace's tensors themselves, not what an in-place operation returns.
        var cc = c.unsqueeze(1);
        var a = new Tensor[L];     // layer inputs a_k
        var s = new Tensor[L - 1]; // sigmoid(α h_k), the modified ReLU's derivative
        a[0] = X;
        for (int k = 0; k < L - 1; k++)
        {
            var h = Buffer("h", k, m, Out(k));
            MatMul.AddProductInPlace(h, a[k], W[k].t(), beta: 0);
            s[k] = Buffer("s", k, m, Out(k));
            // s_k = α h_k, then relu in place (h_k is not needed afterwards: s_k carries everything the backward sweep
            // uses), then the sigmoid in libtorch.
            FusedElementwise.ScaleAndRelu(h, s[k], alpha);
            s[k].sigmoid_();
            a[k + 1] = h;
        }
        // δ_{L−1} = 1; u_k = δ_{k+1} W_{k+1}; δ_k = u_k ⊙ s_k; D_k = c ⊙ δ_k.
        var delta = new Tensor[L];
        var D = new Tensor[L];
        var u = new Tensor[L - 1];
        delta[L - 1] = Buffer("delta", L - 1, m, 1);
        delta[L - 1].fill_(1);
        for (int k = L - 2; k >= 0; k--)
        {
            if (k + 1 == L - 1) u[k] = W[L - 1].expand(m, -1);
            else
            {
                u[k] = Buffer("u", k, m, Out(k));
                MatMul.AddProductInPlace(u[k], delta[k + 1], W[k + 1], beta: 0);
            }
            delta[k] = Buffer("delta", k, m, Out(k));
            // D_k = c ⊙ δ_k (scaling row r by c_r) in the same pass as δ_k.
            D[k] = Buffer("D", k, m, Out(k));
            FusedElementwise.ProductAndRowScale(u[k], s[k], c, delta[k], D[k]);
        }
        D[L - 1] = Buffer("D", L - 1, m, 1);
        D[L - 1].copy_(delta[L - 1]).mul_(cc);
        // R_k = W_k − D_kᵀ a_k; the loss Σ‖R_k‖²; Ŝ_k = −2w R_k.
        Tensor loss = torch.zeros(Array.Empty<long>(), dtype: dtype, device: device);
        var Shat = new Tensor[L];
        for (int k = 0; k < L; k++)
        {
            var R = Buffer("R", k, Out(k), In(k));
            R.copy_(W[k]);
            MatMul.AddProductInPlace(R, D[k].t(), a[k], beta: 1, alpha: -1);
            var squares = Buffer("Rsq", k, Out(k), In(k));
            FusedElementwise.SquareAndScale(R, squares, -2 * weight); // R.square() is pow(2), i.e. R ⊙ R
            loss = loss + squares.sum();
            Shat[k] = R;
        }
        // ∂L/∂δ_k (direct part c ⊙ a_k Ŝ_kᵀ) and ∂L/∂c.
        var gC = Buffer("gC", 0, m);
        gC.fill_(0);
        var gDelta = new Tensor[L];
        for (int k = 0; k < L; k++)
        {
            var gD = Buffer("gD", k, m, Out(k));
            MatMul.AddProductInPlace(gD, a[k], Shat[k].t(), beta: 0);
            // δ_k is not needed after this, so δ_k ⊙ ∂L/∂D_k overwrites it (the same products as ∂L/∂D_k ⊙ δ_k).
            FusedElementwise.MultiplyAndRowScale(delta[k], gD, c);
            gC.add_(delta[k].sum(1));
            gDelta[k] = gD;
        }
        // Through δ_k = u_k ⊙ s_k, k ascending: ∂L/∂δ_{k+1} += (∂L/∂δ_k ⊙ s_k) W_{k+1}ᵀ; ∂L/∂h_k = (∂L/∂δ_k ⊙ u_k) ⊙ α s_k (1 − s_k).
        var gH = new Tensor[L - 1];
        for (int k = 0; k < L - 1; k++)
        {
            if (k + 1 < L - 1)
            {
                var t = Buffer("t", k, m, Out(k));
                FusedElementwise.Multiply(gDelta[k], s[k], t);
                MatMul.AddProductInPlace(gDelta[k + 1], t, W[k + 1].t());
            }
            // δ_{L−1} = 1 is a constant: nothing flows further.
            // s − s² formed as (−s²) + s: IEEE subtraction is that addition, so the same bits (and +0 where s² = s).
            FusedElementwise.SigmoidSlope(gDelta[k], u[k], s[k], alpha);
            gH[k] = gDelta[k];
        }
        // ∂L/∂a_k = D_k Ŝ_k (+ ∂L/∂h_k W_k), k descending; ∂L/∂h_{k−1} += ∂L/∂a_k ⊙ s_{k−1}.
        Tensor gA = Buffer("gA", L - 1, m, In(L - 1));
        MatMul.AddProductInPlace(gA, D[L - 1], Shat[L - 1], beta: 0);
        for (int k = L - 1; k >= 0; k--)
        {
            if (k < L - 1) MatMul.AddProductInPlace(gA, gH[k], W[k]);
            if (k == 0) break;
            gH[k - 1].addcmul_(gA, s[k - 1], value: 1);
            gA = Buffer("gA", k - 1, m, In(k - 1));
            MatMul.AddProductInPlace(gA, D[k - 1], Shat[k - 1], beta: 0);
        }
        return (loss, gA, gC);
    }
}
