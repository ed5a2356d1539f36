using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Attack;

/// <summary>How the stationarity sum Σ_k λ_k y_k ∇_θΦ̃(x'_k) is formed.</summary>
public enum StationarityPath
{
    /// <summary>Closed form (<see cref="ParameterGradients.WeightedSum"/>): one ordinary forward graph in X and λ, one backward.
    /// Same numbers as <see cref="Autograd"/> to rounding, faster and lighter on memory.</summary>
    ClosedForm,
    /// <summary>The reference formulation (Haim et al. 2022): forward Φ̃ with weights requiring grad, then
    /// <c>autograd.grad(Σ_k c_k Φ̃(x'_k), θ, create_graph: true)</c> and a second backward through that graph (double backprop).</summary>
    Autograd,
}

/// <summary>Loss terms as differentiable scalar tensors (see <see cref="AttackObjective.Terms"/>).</summary>
public sealed class AttackLossTerms : IDisposable
{
    /// <summary>L = w_stat·L_stationary + w_λ·L_λ + w_prior·L_prior.</summary>
    public required Tensor Total { get; init; }
    /// <summary>L_stationary (unweighted).</summary>
    public required Tensor Stationary { get; init; }
    /// <summary>L_λ (unweighted, including its coefficient).</summary>
    public required Tensor Lambda { get; init; }
    /// <summary>L_prior (unweighted).</summary>
    public required Tensor Prior { get; init; }

    /// <summary>The values as numbers; <paramref name="thetaNorm"/> = ‖θ‖ gives the normalised residual √L_stationary / ‖θ‖.</summary>
    public AttackLossValues ToValues(double thetaNorm)
    {
        double stat = Stationary.ToDouble();
        return new AttackLossValues(Total.ToDouble(), stat, Lambda.ToDouble(), Prior.ToDouble(), Math.Sqrt(stat) / thetaNorm);
    }

    public void Dispose() { Total.Dispose(); Stationary.Dispose(); Lambda.Dispose(); Prior.Dispose(); }
}

/// <summary>The stationarity residual of one weight layer k (0 = first).</summary>
/// <param name="Layer">k, input side first (<c>layers.{k}.weight</c>).</param>
/// <param name="Residual">‖W_k − G_k‖², G_k = (1/m) Σ_j λ_j y_j ∇_{W_k}Φ̃(x_j).</param>
/// <param name="WeightNormSquared">‖W_k‖²: the residual when G_k = 0.</param>
/// <param name="SumNormSquared">‖G_k‖².</param>
public sealed record LayerStationarity(int Layer, double Residual, double WeightNormSquared, double SumNormSquared);

/// <summary>The attack's loss terms at one point.</summary>
/// <param name="Total">L = w_stat·L_stationary + w_λ·L_λ + w_prior·L_prior.</param>
/// <param name="Stationary">L_stationary = Σ_layers ‖W_k − (1/m) Σ_j λ_j y_j ∇_{W_k}Φ̃(x'_j)‖².</param>
/// <param name="Lambda">L_λ = c Σ relu(λ_min − λ_j)².</param>
/// <param name="Prior">L_prior.</param>
/// <param name="RelativeStationary">√L_stationary / ‖θ‖: the stationarity residual relative to the weights (not in the reference).</param>
public sealed record AttackLossValues(double Total, double Stationary, double Lambda, double Prior, double RelativeStationary);

/// <summary>
/// The objective of the reconstruction attack of Haim et al. (2022) as the paper analyses it:
/// <c>L = w_stat·L_stationary + w_λ·L_λ + w_prior·L_prior</c> with
/// <c>L_stationary = Σ_layers ‖W_k − (1/m) Σ_j λ_j y_j ∇_{W_k}Φ̃(x'_j)‖²</c> (squared, not normalised, 1/m inside as in the
/// reference), <c>L_λ = c·Σ_j relu(λ_min − λ_j)²</c> (c = 5 in the reference) and L_prior from <see cref="CandidatePrior"/>.
/// Φ̃ is the network with the modified ReLU (value ReLU, derivative sigmoid(α h)), <see cref="Activation.Modified"/>.
/// Because of the 1/m inside, the attack's λ_j correspond to m·λ_j of the KKT conditions.
/// </summary>
public sealed record AttackObjective
{
    /// <summary>Slope α of the modified ReLU's derivative sigmoid(αh). Reference sweep: α ∈ [10, 500]; published MNIST winners 150 and 19.</summary>
    public double Alpha { get; init; } = 150;
    /// <summary>λ_min of L_λ. Reference sweep: [0.01, 0.5]; published MNIST winners 0.45 and 0.42.</summary>
    public double LambdaMin { get; init; } = 0.45;
    /// <summary>The coefficient c of L_λ = c Σ relu(λ_min − λ)²; the reference uses 5.</summary>
    public double LambdaPenaltyCoefficient { get; init; } = 5;
    /// <summary>Weight of L_stationary (0 switches it off).</summary>
    public double StationaryWeight { get; init; } = 1;
    /// <summary>Weight of L_λ (0 switches it off).</summary>
    public double LambdaWeight { get; init; } = 1;
    /// <summary>Weight of L_prior (0 switches it off).</summary>
    public double PriorWeight { get; init; } = 1;
    /// <summary>The prior; the reference uses <see cref="CandidatePrior.Box"/>, the paper studies <see cref="CandidatePrior.None"/>.</summary>
    public CandidatePrior Prior { get; init; } = CandidatePrior.Box();
    /// <summary>How the stationarity sum is computed.</summary>
    public StationarityPath Path { get; init; } = StationarityPath.ClosedForm;
    /// <summary>Evaluate ∇_θΦ with the plain ReLU (derivative 1[h &gt; 0]) instead of the modified one: the objective as the KKT
    /// conditions state it, for scoring a set (e.g. the truth) without the α-smoothing. For evaluation only: the attack
    /// itself needs the modified ReLU, and <see cref="ReconstructionAttack.Run"/> refuses this.</summary>
    public bool PlainRelu { get; init; }

    /// <summary>The activation whose derivative forms ∇_θΦ̃: modified ReLU with slope α, or the plain ReLU.</summary>
    public Activation StationarityActivation => PlainRelu ? Activation.Relu : Activation.Modified(Alpha);

    /// <summary>Reference objective (box prior on).</summary>
    public static AttackObjective Reference { get; } = new();
    /// <summary>The objective the paper studies: the reference without the prior.</summary>
    public static AttackObjective WithoutPrior { get; } = new() { Prior = CandidatePrior.None };

    /// <summary>Throws if a parameter is out of range.</summary>
    public void Validate()
    {
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), $"α must be positive and finite, got {Alpha}.");
        if (!double.IsFinite(LambdaMin)) throw new ArgumentOutOfRangeException(nameof(LambdaMin), $"λ_min must be finite, got {LambdaMin}.");
        foreach (var (name, v) in new[] { (nameof(LambdaPenaltyCoefficient), LambdaPenaltyCoefficient), (nameof(StationaryWeight), StationaryWeight), (nameof(LambdaWeight), LambdaWeight), (nameof(PriorWeight), PriorWeight) })
            if (!(v >= 0) || double.IsInfinity(v)) throw new ArgumentOutOfRangeException(name, $"{name} must be finite and ≥ 0, got {v}.");
        if (StationaryWeight == 0 && LambdaWeight == 0 && (PriorWeight == 0 || Prior == CandidatePrior.None))
            throw new ArgumentException("Every term of the attack loss is switched off; nothing to optimise.");
        if (Prior is null) throw new ArgumentNullException(nameof(Prior), "Use CandidatePrior.None for no prior.");
    }

    /// <summary>The loss terms at candidates X [m, d] with labels y [m] (±1) and multipliers λ [m], as scalar tensors that are
    /// differentiable w.r.t. X and λ (whatever autograd history they carry). Works on the network's device and dtype.</summary>
    public AttackLossTerms Terms(HomogeneousMlp net, Tensor X, Tensor y, Tensor lambda)
    {
        var Xc = CheckArguments(net, X, y, lambda);
        long m = Xc.shape[0];

        using var scope = torch.NewDisposeScope();
        var lam = lambda.to(net.DType, net.Device);
        var yy = y.to(net.DType, net.Device);
        Tensor zero = torch.zeros(Array.Empty<long>(), dtype: net.DType, device: net.Device);
        // c_j = λ_j y_j / m: the reference divides the sum by m, so its λ is m times the KKT multiplier.
        var c = lam * yy / (double)m;
        var stat = StationaryWeight > 0 ? Stationarity(net, Xc, c, StationarityActivation, Path) : zero;
        var lamPen = LambdaWeight > 0 ? LambdaPenaltyCoefficient * nn.functional.relu(LambdaMin - lam).square().sum() : zero;
        var prior = PriorWeight > 0 ? Prior.Penalty(Xc) : zero;
        var total = StationaryWeight * stat + LambdaWeight * lamPen + PriorWeight * prior;
        return new AttackLossTerms
        {
            Total = total.MoveToOuterDisposeScope(),
            Stationary = stat.MoveToOuterDisposeScope(),
            Lambda = lamPen.MoveToOuterDisposeScope(),
            Prior = prior.MoveToOuterDisposeScope(),
        };
    }

    /// <summary>The set with multipliers in the attack's scaling: λ = m·λ*, λ* = argmin_{λ≥0} ‖θ − Σ_i λ_i y_i ∇_θΦ(x_i)‖ fitted by
    /// NNLS (with the plain ReLU's gradients), m = |set| (the objective has 1/m inside). How the truth is scored.</summary>
    public static LabelledSet FitAttackMultipliers(HomogeneousMlp net, LabelledSet set)
    {
        ArgumentNullException.ThrowIfNull(net); ArgumentNullException.ThrowIfNull(set);
        using var lambda = Kkt.KktConditions.FitMultipliers(net, set);
        using var scaled = lambda * (double)set.Count;
        return new LabelledSet(set.X, set.Y, scaled);
    }

    /// <summary>
    /// The stationarity term split per weight layer k at a weighted set (λ as the attack's, i.e. m·λ_KKT):
    /// ‖W_k − (1/m) Σ_j λ_j y_j ∇_{W_k}Φ̃(x_j)‖², beside ‖W_k‖². Their sum over k is L_stationary. Tells where a final loss
    /// level comes from (e.g. a layer whose sum stays near 0, leaving ‖W_k‖² as the residual).
    /// </summary>
    public IReadOnlyList<LayerStationarity> StationarityByLayer(HomogeneousMlp net, LabelledSet set)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(set);
        if (set.Lambda is null) throw new ArgumentException("The set needs multipliers λ (fit them first).", nameof(set));
        Validate();
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var X = CheckCandidates(net, set.X);
        var c = set.Lambda.to(net.DType, net.Device) * set.Y.to(net.DType, net.Device) / (double)set.Count;
        using var g = ParameterGradients.Compute(net, X, activation: StationarityActivation);
        var sums = g.WeightedSum(c);
        return Enumerable.Range(0, net.Depth).Select(k => new LayerStationarity(k,
            (net.Weights[k] - sums[k]).square().sum().ToDouble(), net.Weights[k].square().sum().ToDouble(), sums[k].square().sum().ToDouble())).ToArray();
    }

    /// <summary>The loss values (no autograd) at a labelled, weighted set, e.g. the true training set with λ = m·λ_KKT,
    /// a far-away KKT set or the attack's output — the objective an attacker can compute.</summary>
    public AttackLossValues Evaluate(HomogeneousMlp net, LabelledSet set)
    {
        if (set.Lambda is null) throw new ArgumentException("The set needs multipliers λ to evaluate the attack loss (fit them first).", nameof(set));
        using var _ = torch.no_grad();
        using var terms = Terms(net, set.X, set.Y, set.Lambda);
        return terms.ToValues(net.Norm());
    }

    /// <summary>
    /// L_stationary = Σ_layers ‖W_k − S_k‖² with S = Σ_j c_j ∇_θΦ̃(x'_j) formed along <paramref name="path"/>.
    /// The weights are constants here: the attacker optimises X and λ only.
    /// </summary>
    public static Tensor Stationarity(HomogeneousMlp net, Tensor X, Tensor c, double alpha, StationarityPath path)
        => Stationarity(net, X, c, Activation.Modified(alpha), path);

    /// <summary>As above with an explicit activation (<see cref="StationarityActivation"/>).</summary>
    public static Tensor Stationarity(HomogeneousMlp net, Tensor X, Tensor c, Activation act, StationarityPath path)
    {
        using var scope = torch.NewDisposeScope();
        Tensor[] sums;
        if (path == StationarityPath.ClosedForm)
        {
            using var g = ParameterGradients.Compute(net, X, activation: act);
            sums = g.WeightedSum(c);
        }
        else
        {
            // Fresh leaves that require grad, so autograd.grad can differentiate Φ̃ w.r.t. θ; create_graph keeps that
            // derivative differentiable w.r.t. X and λ. TorchSharp does not default retain_graph to create_graph.
            // The first derivative needs a graph even when the caller evaluates under no_grad (e.g. Evaluate); an
            // autograd.grad without one aborts the process in TorchSharp rather than throwing.
            using var gradMode = torch.enable_grad();
            var ws = net.Weights.Select(w => w.detach().requires_grad_(true)).ToArray();
            var a = net.PrepareInputs(X);
            for (int k = 0; k < ws.Length - 1; k++) a = act.Value(a.matmul(ws[k].t()));
            var phi = a.matmul(ws[^1].t()).squeeze(1);
            var weighted = (phi * c).sum();
            sums = torch.autograd.grad(new[] { weighted }, ws, create_graph: true, retain_graph: true).ToArray();
        }
        Tensor loss = torch.zeros(Array.Empty<long>(), dtype: net.DType, device: net.Device);
        for (int k = 0; k < sums.Length; k++) loss = loss + (net.Weights[k] - sums[k]).square().sum();
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Validates the objective and the arguments of <see cref="Terms"/> (candidates, labels, multipliers) and returns
    /// the candidates on the network's device and dtype.</summary>
    internal Tensor CheckArguments(HomogeneousMlp net, Tensor X, Tensor y, Tensor lambda)
    {
        Validate();
        var Xc = CheckCandidates(net, X);
        long m = Xc.shape[0];
        Labels.Check(y, m, nameof(y));
        if (lambda.dim() != 1 || lambda.shape[0] != m)
            throw new ArgumentException($"lambda must be a vector of {m} multipliers, got shape [{string.Join(", ", lambda.shape)}].", nameof(lambda));
        return Xc;
    }

    internal static Tensor CheckCandidates(HomogeneousMlp net, Tensor X)
    {
        if (X.dim() != 2) throw new ArgumentException($"Candidates must be a matrix [m, d], got shape [{string.Join(", ", X.shape)}].", nameof(X));
        if (X.shape[0] == 0) throw new ArgumentException("The attack needs at least one candidate (m = 0).", nameof(X));
        if (X.shape[1] != net.InputDim)
            throw new ArgumentException($"Candidate dimension {X.shape[1]} does not match the network's input dimension {net.InputDim}.", nameof(X));
        return net.PrepareInputs(X);
    }
}
