using static TorchSharp.torch;

namespace NoPrior.Metrics;

/// <summary>How the Gaussian window treats the image border.</summary>
public enum SsimPadding
{
    /// <summary>"Same"-size map with reflected borders (kornia's <c>metrics.ssim</c> default, used by the reference evaluation).</summary>
    Reflect,
    /// <summary>"Same"-size map with zero padding (the popular pytorch-ssim code).</summary>
    Zero,
    /// <summary>Only windows that fit inside the image (scikit-image / Wang et al.'s MATLAB "valid" map).</summary>
    Valid,
}

/// <summary>Parameters of SSIM.</summary>
/// <param name="WindowSize">Side of the Gaussian window (odd). Reference evaluation: 3; Wang et al.: 11.</param>
/// <param name="Sigma">Standard deviation of the Gaussian window; 1.5 in both.</param>
/// <param name="DataRange">L, the dynamic range of the pixel values (1 for images in [0, 1]).</param>
/// <param name="K1">C1 = (K1·L)².</param>
/// <param name="K2">C2 = (K2·L)².</param>
/// <param name="Padding">Border treatment of the map.</param>
/// <param name="Eps">Added to the denominator (kornia adds 1e-12; 0 gives the textbook formula).</param>
public sealed record SsimOptions(int WindowSize = 3, double Sigma = 1.5, double DataRange = 1.0, double K1 = 0.01, double K2 = 0.03,
    SsimPadding Padding = SsimPadding.Reflect, double Eps = 0.0)
{
    /// <summary>The reference evaluation's SSIM (kornia, window 3, σ 1.5, L = 1, reflect padding, ε = 1e-12).</summary>
    public static SsimOptions Reference { get; } = new(Eps: 1e-12);
    /// <summary>Wang et al. (2004): 11×11 Gaussian window, σ 1.5, valid region.</summary>
    public static SsimOptions Wang2004 { get; } = new(WindowSize: 11, Padding: SsimPadding.Valid);

    public void Validate()
    {
        if (WindowSize < 1 || WindowSize % 2 == 0) throw new ArgumentOutOfRangeException(nameof(WindowSize), $"The window size must be a positive odd number, got {WindowSize}.");
        if (!(Sigma > 0)) throw new ArgumentOutOfRangeException(nameof(Sigma), $"σ must be positive, got {Sigma}.");
        if (!(DataRange > 0)) throw new ArgumentOutOfRangeException(nameof(DataRange), $"The data range L must be positive, got {DataRange}.");
        if (!(Eps >= 0)) throw new ArgumentOutOfRangeException(nameof(Eps));
    }
}

/// <summary>
/// Structural similarity (Wang, Bovik, Sheikh &amp; Simoncelli 2004) with a Gaussian window w:
/// μ_x = w * x, σ_x² = w * x² − μ_x², σ_xy = w * (xy) − μ_x μ_y, and the map
/// SSIM = (2μ_xμ_y + C1)(2σ_xy + C2) / ((μ_x² + μ_y² + C1)(σ_x² + σ_y² + C2)), C1 = (K1 L)², C2 = (K2 L)²,
/// averaged over the map (and channels). DSSIM = (1 − SSIM)/2.
/// </summary>
public static class Ssim
{
    /// <summary>The normalised 2-D Gaussian window w_ab = g_a g_b, g_a ∝ exp(−(a − c)²/(2σ²)), c = (k − 1)/2, Σ w = 1.</summary>
    public static Tensor Window(int size, double sigma)
    {
        var g = Enumerable.Range(0, size).Select(a => Math.Exp(-Math.Pow(a - (size - 1) / 2.0, 2) / (2 * sigma * sigma))).ToArray();
        double s = g.Sum();
        using var g1 = HostArrays.ToTensor(g.Select(x => x / s).ToArray());
        return g1.unsqueeze(1).matmul(g1.unsqueeze(0));
    }

    /// <summary>SSIM of corresponding images: a and b of the same shape [H, W], [C, H, W] or [N, C, H, W]; returns [N] (a scalar
    /// tensor for a single image).</summary>
    public static Tensor Compute(Tensor a, Tensor b, SsimOptions? options = null)
    {
        options ??= SsimOptions.Reference;
        options.Validate();
        if (!a.shape.SequenceEqual(b.shape)) throw new ArgumentException($"Images must have the same shape, got [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        int dims = (int)a.dim();
        if (dims < 2 || dims > 4) throw new ArgumentException($"Images must be [H, W], [C, H, W] or [N, C, H, W], got [{string.Join(", ", a.shape)}].");
        using var scope = torch.NewDisposeScope();
        var x = a.to(ScalarType.Float64);
        var y = b.to(ScalarType.Float64, x.device);
        while (x.dim() < 4) { x = x.unsqueeze(0); y = y.unsqueeze(0); }
        if (dims == 2) { /* [1, 1, H, W] */ }
        long C = x.shape[1], H = x.shape[2], W = x.shape[3];
        int k = options.WindowSize, p = k / 2;
        if (options.Padding == SsimPadding.Valid && (H < k || W < k)) throw new ArgumentException($"A {k}×{k} window does not fit in a {H}×{W} image (valid padding).");
        if (options.Padding == SsimPadding.Reflect && (H <= p || W <= p)) throw new ArgumentException($"Reflect padding of {p} needs images larger than {p} pixels per side, got {H}×{W}.");
        var w = Window(k, options.Sigma).to(x.device).expand(C, 1, k, k).contiguous();

        Tensor Filter(Tensor t) => options.Padding switch
        {
            SsimPadding.Reflect => nn.functional.conv2d(nn.functional.pad(t, new long[] { p, p, p, p }, PaddingModes.Reflect), w, groups: C),
            SsimPadding.Zero => nn.functional.conv2d(t, w, padding: new long[] { p, p }, groups: C),
            _ => nn.functional.conv2d(t, w, groups: C),
        };

        double c1 = Math.Pow(options.K1 * options.DataRange, 2), c2 = Math.Pow(options.K2 * options.DataRange, 2);
        var mx = Filter(x); var my = Filter(y);
        var sxx = Filter(x * x) - mx * mx;
        var syy = Filter(y * y) - my * my;
        var sxy = Filter(x * y) - mx * my;
        var map = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2) + options.Eps);
        var r = map.mean(new long[] { 1, 2, 3 });
        if (dims < 4) r = r.squeeze(0);
        return r.MoveToOuterDisposeScope();
    }

    /// <summary>DSSIM = (1 − SSIM)/2 ∈ [0, 1].</summary>
    public static Tensor Dssim(Tensor a, Tensor b, SsimOptions? options = null)
    {
        using var s = Compute(a, b, options);
        return (1 - s) / 2;
    }

    /// <summary>SSIM of every image of A [n, C, H, W] against every image of B [m, C, H, W], [n, m].</summary>
    public static Tensor Pairwise(Tensor A, Tensor B, SsimOptions? options = null)
    {
        if (A.dim() != 4 || B.dim() != 4) throw new ArgumentException("Pairwise SSIM needs image batches [N, C, H, W].");
        using var scope = torch.NewDisposeScope();
        long n = A.shape[0], m = B.shape[0];
        var rows = new List<Tensor>();
        for (long i = 0; i < n; i++)
            rows.Add(Compute(A[i].unsqueeze(0).expand(B.shape), B, options));
        return torch.stack(rows).MoveToOuterDisposeScope();
    }

    /// <summary>Min-max scaling of each image (row) to [0, 1]: (x − min x)/(max x − min x); a constant image becomes 0.
    /// The reference applies it to the candidates before SSIM because their overall scale is not determined.</summary>
    public static Tensor MinMaxScale(Tensor X)
    {
        using var scope = torch.NewDisposeScope();
        var flat = X.reshape(X.shape[0], -1);
        var lo = flat.min(1, keepdim: true).values;
        var hi = flat.max(1, keepdim: true).values;
        var range = hi - lo;
        var scaled = (flat - lo) / range.clamp_min(1e-300) * range.gt(0).to(flat.dtype);
        return scaled.reshape(X.shape).MoveToOuterDisposeScope();
    }
}
