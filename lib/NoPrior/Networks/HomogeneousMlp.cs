using TorchSharp;
using static TorchSharp.torch;

namespace NoPrior.Networks;

/// <summary>How the layers after the first are drawn.</summary>
public enum OtherLayersInit
{
    /// <summary>Gaussian with standard deviation <see cref="MlpInit.OtherLayersStd"/>, or He scaling √(2/fan_in) for hidden
    /// layers and √(1/fan_in) for the output when that is null.</summary>
    Gaussian,
    /// <summary>PyTorch's <c>nn.Linear</c> default, U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5). The reference
    /// network of Haim et al. (2022) keeps it for every layer but the first.</summary>
    PyTorchUniform,
}

/// <summary>How the weights of a <see cref="HomogeneousMlp"/> are drawn.</summary>
/// <param name="FirstLayerStd">Standard deviation of the first layer's entries (Gaussian). The reference attack code
/// (Haim et al. 2022) uses 1e-4, which makes training reach the max-margin regime quickly. Null: as the other layers.</param>
/// <param name="OtherLayersStd">Standard deviation of the other layers when <paramref name="Others"/> is Gaussian; null means
/// He scaling √(2/fan_in) for hidden layers and √(1/fan_in) for the output.</param>
/// <param name="Others">The distribution of the layers after the first.</param>
public sealed record MlpInit(double? FirstLayerStd = null, double? OtherLayersStd = null, OtherLayersInit Others = OtherLayersInit.Gaussian)
{
    /// <summary>He-style scaling in every layer.</summary>
    public static MlpInit Default { get; } = new();
    /// <summary>A small first layer, N(0,1)·1e-4; other layers He-scaled Gaussians.</summary>
    public static MlpInit SmallFirstLayer { get; } = new(FirstLayerStd: 1e-4);
    /// <summary>The reference network's initialisation (Haim et al. 2022; used by the paper's experiments): first layer
    /// N(0,1)·1e-4, every other layer PyTorch's <c>nn.Linear</c> default U(−1/√fan_in, 1/√fan_in). With 1000-unit layers
    /// the random middle layer is large, E‖W₂(0)‖²_F = fan_out/3.</summary>
    public static MlpInit Reference { get; } = new(FirstLayerStd: 1e-4, Others: OtherLayersInit.PyTorchUniform);
}

/// <summary>
/// A bias-free ReLU multilayer perceptron Φ(θ; x) = W_L σ(W_{L−1} ⋯ σ(W_1 x)) with scalar output.
/// It is positively homogeneous of degree L (the number of weight layers): Φ(cθ; x) = c^L Φ(θ; x) for c &gt; 0
/// (docs/theory.md §1). Weights are stored as in PyTorch's nn.Linear, <c>layers.{k}.weight</c> with shape [out, in], input
/// side first. All computations run on the device and dtype of the weights (float64 by default).
/// </summary>
public sealed class HomogeneousMlp : IDisposable
{
    readonly Tensor[] _weights;

    /// <summary>Builds a network from weight matrices [out, in], input side first, whose last layer has one output.</summary>
    public HomogeneousMlp(IEnumerable<Tensor> weights)
    {
        // The network owns its weights: detach them from any enclosing dispose scope so that building a network
        // inside a scope (a loop body, a checkpoint) does not leave it with freed tensors. Dispose() frees them.
        _weights = weights.Select(w => w.detach().clone().DetachFromDisposeScope()).ToArray();
        Validate(_weights);
    }

    /// <summary>Builds a network from (weight, bias) pairs, refusing a bias: a bias breaks homogeneity, which every
    /// result of the paper needs.</summary>
    public static HomogeneousMlp FromLayers(IEnumerable<(Tensor Weight, Tensor? Bias)> layers)
    {
        var list = layers.ToList();
        for (int k = 0; k < list.Count; k++)
            if (list[k].Bias is { } b && b.numel() > 0)
                throw new ArgumentException(
                    $"Non-homogeneous network: layer {k} has a bias (shape [{string.Join(", ", b.shape)}]). " +
                    "The KKT analysis needs a bias-free ReLU network, Φ(cθ; x) = c^L Φ(θ; x); drop the bias or fold it into an input coordinate.");
        return new HomogeneousMlp(list.Select(l => l.Weight));
    }

    /// <summary>A random network with layer widths <paramref name="widths"/> = [d, h_1, …, h_{L−1}, 1], drawn from the
    /// <see cref="RandomRole.NetworkInit"/> stream of <paramref name="seed"/> (so data drawn with the same seed are unrelated).
    /// The reference network of the paper's experiments is <c>Create([784, 1000, 1000, 1], seed, MlpInit.Reference)</c>.</summary>
    public static HomogeneousMlp Create(int[] widths, long seed, MlpInit? init = null, Device? device = null, ScalarType dtype = ScalarType.Float64)
    {
        if (widths is null || widths.Length < 2) throw new ArgumentException("widths must list at least the input dimension and the output width 1, e.g. [784, 1000, 1].", nameof(widths));
        if (widths[^1] != 1) throw new ArgumentException($"The last width must be 1 (scalar output), got {widths[^1]}.", nameof(widths));
        if (widths.Any(w => w <= 0)) throw new ArgumentException($"Widths must be positive, got [{string.Join(", ", widths)}].", nameof(widths));
        init ??= MlpInit.Default;
        using var gen = RandomStreams.Generator(RandomRole.NetworkInit, seed);
        var weights = new Tensor[widths.Length - 1];
        for (int k = 0; k < weights.Length; k++)
        {
            int fanIn = widths[k];
            bool last = k == weights.Length - 1;
            // Draw on the CPU in float64 so the same seed gives the same numbers on every device.
            using var w = k == 0 && init.FirstLayerStd is { } f
                ? torch.randn(widths[k + 1], fanIn, dtype: ScalarType.Float64, generator: gen) * f
                : init.Others == OtherLayersInit.PyTorchUniform
                    ? (torch.rand(widths[k + 1], fanIn, dtype: ScalarType.Float64, generator: gen) * 2 - 1) / Math.Sqrt(fanIn)
                    : torch.randn(widths[k + 1], fanIn, dtype: ScalarType.Float64, generator: gen) * (init.OtherLayersStd ?? Math.Sqrt((last ? 1.0 : 2.0) / fanIn));
            weights[k] = w.to(dtype, device ?? CPU);
        }
        var net = new HomogeneousMlp(weights);
        foreach (var w in weights) w.Dispose();
        return net;
    }

    static void Validate(Tensor[] w)
    {
        if (w.Length == 0) throw new ArgumentException("A network needs at least one weight layer.");
        for (int k = 0; k < w.Length; k++)
        {
            if (w[k].dim() != 2) throw new ArgumentException($"layers.{k}.weight must be a matrix [out, in], got shape [{string.Join(", ", w[k].shape)}].");
            if (!w[k].is_floating_point()) throw new ArgumentException($"layers.{k}.weight must be floating point, got {w[k].dtype}.");
            if (k > 0 && w[k].shape[1] != w[k - 1].shape[0])
                throw new ArgumentException($"layers.{k}.weight has {w[k].shape[1]} inputs but layers.{k - 1}.weight has {w[k - 1].shape[0]} outputs.");
            if (w[k].device_type != w[0].device_type || w[k].dtype != w[0].dtype)
                throw new ArgumentException($"All layers must share one device and dtype; layers.{k}.weight is {w[k].dtype} on {w[k].device}.");
        }
        if (w[^1].shape[0] != 1) throw new ArgumentException($"The last layer must have one output, got {w[^1].shape[0]}.");
        for (int k = 0; k < w.Length; k++) Numerics.CheckFinite(w[k], $"layers.{k}.weight");
    }

    /// <summary>Weight matrices, input side first; layer k is PyTorch's <c>layers.{k}.weight</c>.</summary>
    public IReadOnlyList<Tensor> Weights => _weights;
    /// <summary>Degree of homogeneity L = number of weight layers.</summary>
    public int Depth => _weights.Length;
    /// <summary>Input dimension d.</summary>
    public int InputDim => (int)_weights[0].shape[1];
    /// <summary>Layer widths [d, h_1, …, 1].</summary>
    public int[] Widths => new[] { InputDim }.Concat(_weights.Select(w => (int)w.shape[0])).ToArray();
    /// <summary>Number of parameters P.</summary>
    public long ParameterCount => _weights.Sum(w => w.numel());
    /// <summary>Number of hidden units (length of an activation pattern).</summary>
    public int HiddenUnits => _weights.Take(Depth - 1).Sum(w => (int)w.shape[0]);
    public Device Device => _weights[0].device;
    public ScalarType DType => _weights[0].dtype;

    /// <summary>Moves/casts <paramref name="x"/> to the network's device and dtype and checks it is [n, d] (a single [d] row is accepted).</summary>
    public Tensor PrepareInputs(Tensor x, string name = "X")
    {
        if (x.dim() == 1) x = x.unsqueeze(0);
        if (x.dim() != 2 || x.shape[1] != InputDim)
            throw new ArgumentException($"{name} must have shape [n, {InputDim}] for this network, got [{string.Join(", ", x.shape)}].", name);
        return x.to(DType, Device);
    }

    /// <summary>Φ(θ; x_i) for every row of X: [n, d] → [n].</summary>
    public Tensor Forward(Tensor X) => Forward(Numerics.CheckFinite(X, nameof(X)), _weights);

    /// <summary>Φ for explicit weights (which may carry autograd history); the building block of training and the attack.</summary>
    public Tensor Forward(Tensor X, IReadOnlyList<Tensor> weights)
    {
        using var scope = torch.NewDisposeScope();
        var a = PrepareInputs(X);
        for (int k = 0; k < weights.Count - 1; k++) a = torch.nn.functional.relu(a.matmul(weights[k].t()));
        return a.matmul(weights[^1].t()).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Pre-activations h_k = W_k a_{k−1} of every hidden layer, [n, h_k] each.</summary>
    public Tensor[] PreActivations(Tensor X)
    {
        using var scope = torch.NewDisposeScope();
        var a = PrepareInputs(X);
        var hs = new Tensor[Depth - 1];
        for (int k = 0; k < Depth - 1; k++)
        {
            hs[k] = a.matmul(_weights[k].t());
            a = torch.nn.functional.relu(hs[k]);
        }
        foreach (var h in hs) h.MoveToOuterDisposeScope();
        return hs;
    }

    /// <summary>Activation pattern A(x): the on/off state 1[h &gt; 0] of every hidden unit, layers concatenated, [n, HiddenUnits] bool.
    /// Inputs with the same pattern form a convex polyhedral cone R_A on which Φ and ∇_θΦ are linear in x (docs/theory.md §2).</summary>
    public Tensor ActivationPattern(Tensor X)
    {
        // A linear model (L = 1) has no hidden units: the whole input space is one region, the pattern is empty.
        if (Depth == 1) { using var x = PrepareInputs(X); return torch.zeros(x.shape[0], 0, dtype: ScalarType.Bool, device: Device); }
        var hs = PreActivations(X);
        using var cat = torch.cat(hs, 1);
        var pattern = cat.gt(0);
        foreach (var h in hs) h.Dispose();
        return pattern;
    }

    /// <summary>Margins y_i Φ(θ; x_i), [n].</summary>
    public Tensor Margins(Tensor X, Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        Numerics.CheckFinite(X, nameof(X));
        var labels = Labels.Check(y, PrepareInputs(X).shape[0]).to(DType, Device);
        return (labels * Forward(X)).MoveToOuterDisposeScope();
    }

    /// <summary>Minimum margin q_min = min_i y_i Φ(θ; x_i).</summary>
    public double MinMargin(Tensor X, Tensor y) { using var m = Margins(X, y); return m.min().ToDouble(); }

    /// <summary>‖θ‖, the Euclidean norm of all weights together.</summary>
    public double Norm() => Math.Sqrt(_weights.Sum(w => w.square().sum().ToDouble()));

    /// <summary>Normalised margin q_min / ‖θ‖^L; Lyu &amp; Li (2020) show it increases once the data are fitted.</summary>
    public double NormalisedMargin(Tensor X, Tensor y) => MinMargin(X, y) / Math.Pow(Norm(), Depth);

    /// <summary>cθ: every weight multiplied by c, so Φ(cθ; x) = c^L Φ(θ; x) for c &gt; 0.</summary>
    public HomogeneousMlp Scaled(double c) => new(_weights.Select(w => w * c));

    /// <summary>θ̃ = θ / q_min^{1/L}: the same direction rescaled so that the minimum margin is exactly 1, the
    /// normalisation of the max-margin problem (P). Requires all training points to be correctly classified.</summary>
    public HomogeneousMlp RescaledToUnitMargin(Tensor X, Tensor y)
    {
        double q = MinMargin(X, y);
        if (!(q > 0)) throw new InvalidOperationException($"Cannot rescale to unit margin: the minimum margin is {q:G6} ≤ 0 (some point is misclassified); train longer first.");
        return Scaled(Math.Pow(q, -1.0 / Depth));
    }

    /// <summary>All weights flattened into one vector θ ∈ R^P, layer 0 first, row-major (the order of <see cref="ParameterGradients.Matrix"/>).</summary>
    public Tensor Flatten() => torch.cat(_weights.Select(w => w.reshape(-1)).ToArray());

    /// <summary>A network with the same shapes whose weights are taken from a flat vector (inverse of <see cref="Flatten"/>).</summary>
    public HomogeneousMlp WithFlat(Tensor theta)
    {
        if (theta.dim() != 1 || theta.shape[0] != ParameterCount)
            throw new ArgumentException($"theta must be a vector of length {ParameterCount}, got shape [{string.Join(", ", theta.shape)}].", nameof(theta));
        var parts = new List<Tensor>();
        long at = 0;
        foreach (var w in _weights)
        {
            parts.Add(theta.narrow(0, at, w.numel()).reshape(w.shape));
            at += w.numel();
        }
        return new HomogeneousMlp(parts);
    }

    /// <summary>A copy with every weight cast to <paramref name="dtype"/> (e.g. <see cref="ScalarType.Float32"/> for the opt-in
    /// single-precision attack or training, about twice as fast) and moved to <paramref name="device"/> (default: the current device).</summary>
    public HomogeneousMlp To(ScalarType dtype, Device? device = null)
    {
        var cast = _weights.Select(w => w.to(dtype, device ?? Device)).ToArray();
        var net = new HomogeneousMlp(cast);
        for (int k = 0; k < cast.Length; k++) if (!ReferenceEquals(cast[k], _weights[k])) cast[k].Dispose();
        return net;
    }

    /// <summary>A deep copy.</summary>
    public HomogeneousMlp Clone() => new(_weights);

    /// <summary>The same network with new weights for layer <paramref name="layer"/>.</summary>
    public HomogeneousMlp WithLayer(int layer, Tensor weight) => new(_weights.Select((w, k) => k == layer ? weight : w));

    public void Dispose() { foreach (var w in _weights) w.Dispose(); }
}
