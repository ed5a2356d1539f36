using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Lemmas;

/// <summary>
/// How far one can move from x along ±ν before the activation pattern changes: the ray x + tν keeps the pattern
/// A(x) exactly for 0 ≤ t &lt; <see cref="Forward"/> (and at t = Forward itself when the limiting unit is an off unit
/// reaching 0), likewise x − tν up to <see cref="Backward"/>. +∞ when no unit ever changes state along that side.
/// The limiting unit is given as an index into the concatenated pattern of <see cref="HomogeneousMlp.ActivationPattern"/>
/// (−1 when the length is infinite).
/// </summary>
public sealed record PatternInterval(double Forward, double Backward, int ForwardUnit, int BackwardUnit)
{
    /// <summary>The largest symmetric half-length: x ± tν both keep the pattern for t below it.</summary>
    public double Symmetric => Math.Min(Forward, Backward);
}

/// <summary>
/// Linear-region facts (docs/theory.md §2). The inputs with a given activation pattern A form a convex polyhedral cone R_A,
/// and on R_A both Φ(θ; x) = u_A·x and ∇_θΦ(θ; x) = G_A x are linear in x. Lemmas 2 and 3 and Theorems 4 and 5
/// all follow from these two facts.
/// </summary>
public static class LinearRegion
{
    /// <summary>
    /// u_A, the effective linear map of the region of each input: u_A = W_L D_{L−1} W_{L−1} ⋯ D_1 W_1 with
    /// D_k = diag(1[h_k &gt; 0]) the masks of the pattern, so that Φ(θ; x) = u_A(x)·x (docs/theory.md §2). For a linear model
    /// (L = 1) u_A = w. X [n, d] gives [n, d] (row i is u_{A(x_i)}); a single point [d] gives [d].
    /// </summary>
    public static Tensor EffectiveMap(HomogeneousMlp net, Tensor X)
    {
        bool single = X.dim() == 1;
        using var scope = torch.NewDisposeScope();
        using var g = ParameterGradients.Compute(net, X);
        // δ_0 = ∂Φ/∂h_1 = W_L D_{L−1} ⋯ W_2 D_1 (row per input), so u_A = δ_0 W_1.
        var u = g.Signals[0].matmul(net.Weights[0]);
        return (single ? u.squeeze(0) : u).MoveToOuterDisposeScope();
    }

    /// <summary>The activation pattern A(x) of one point, as a bool vector of length <see cref="HomogeneousMlp.HiddenUnits"/>.</summary>
    public static bool[] Pattern(HomogeneousMlp net, Tensor x)
    {
        using var point = LemmaMath.Point(net, x);
        using var p = net.ActivationPattern(point);
        using var c = p.reshape(-1).to(ScalarType.Int32, CPU).contiguous();
        return c.data<int>().Select(v => v != 0).ToArray();
    }

    /// <summary>Hidden units (indices into the concatenated pattern) that are on at one point and off at the other.</summary>
    public static int[] PatternDifference(HomogeneousMlp net, Tensor x1, Tensor x2)
    {
        var a = Pattern(net, x1);
        var b = Pattern(net, x2);
        return Enumerable.Range(0, a.Length).Where(k => a[k] != b[k]).ToArray();
    }

    /// <summary>True if the two points have the same activation pattern, i.e. lie in the same linear region R_A.</summary>
    public static bool SamePattern(HomogeneousMlp net, Tensor x1, Tensor x2) => PatternDifference(net, x1, x2).Length == 0;

    /// <summary>
    /// The exact pattern-preserving interval of x along ±ν. Inside R_A every layer is linear in t along the ray, so
    /// walking layer by layer with the masks of A(x), h_k(t) = h_k(x) + t g_k with g_1 = W_1 ν and
    /// g_k = W_k D_{k−1} g_{k−1}; the first breakpoint is min over units of the first t &gt; 0 at which a unit changes
    /// state: an on unit (h &gt; 0) with g &lt; 0 switches off at h/|g|, an off unit (h ≤ 0) with g &gt; 0 switches on
    /// beyond |h|/g (at once if h = 0). For a two-layer net this is min_j |h_j| / |w_j·ν| over the units whose sign
    /// would flip in that direction. Exact for every depth: no sampling along the ray.
    /// </summary>
    public static PatternInterval PatternPreservingInterval(HomogeneousMlp net, Tensor x, Tensor nu)
    {
        using var scope = torch.NewDisposeScope();
        var p = LemmaMath.Point(net, x);
        var v = LemmaMath.Direction(net, nu);
        var (fwd, fu) = FirstBreakpoint(net, p, v);
        var (bwd, bu) = FirstBreakpoint(net, p, -v);
        return new PatternInterval(fwd, bwd, fu, bu);
    }

    static (double T, int Unit) FirstBreakpoint(HomogeneousMlp net, Tensor x, Tensor nu)
    {
        var a = x.unsqueeze(0);
        var g = nu.unsqueeze(0);
        double best = double.PositiveInfinity;
        int unit = -1, offset = 0;
        for (int k = 0; k < net.Depth - 1; k++)
        {
            var W = net.Weights[k];
            var h = a.matmul(W.t());
            var gh = g.matmul(W.t());
            var hv = LemmaMath.ToArray(h);
            var gv = LemmaMath.ToArray(gh);
            for (int j = 0; j < hv.Length; j++)
            {
                double t = double.PositiveInfinity;
                if (hv[j] > 0 && gv[j] < 0) t = hv[j] / -gv[j];
                else if (hv[j] <= 0 && gv[j] > 0) t = Math.Abs(hv[j]) / gv[j];
                if (t < best) { best = t; unit = offset + j; }
            }
            var on = h.gt(0).to(h.dtype);
            a = h * on;
            g = gh * on;
            offset += hv.Length;
        }
        return (best, unit);
    }
}
