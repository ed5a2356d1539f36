using System.Numerics;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace NoPrior.LinearAlgebra;

/// <summary>
/// The hot loops' chains of elementwise operations (the attack step's, <see cref="Attack.AttackGradient"/>, and the
/// training sweep's, <see cref="Networks.ParameterGradients"/>), each done in one pass over
/// memory instead of one libtorch call per operation: the same IEEE operations on the same operands in the same order,
/// so the same bits as the libtorch chain each method names (a product or sum rounds once whichever code computes it;
/// nothing here is contracted into a fused multiply-add, reassociated or approximated). On CPU tensors of float32 or
/// float64 that are contiguous (or, where a method says so, a row broadcast over m rows) the pass runs here, split by
/// rows over <see cref="MatMul.Threads"/> threads; anything else — another device, dtype or layout — runs the libtorch
/// chain itself, so callers need not care and a CUDA build runs the same code.
/// </summary>
/// <remarks>
/// Why: the reference attack step (m = 1000, 784-1000-1000-1, float64) made ~50 passes over [1000, 1000] tensors (8 MB,
/// far beyond the caches) for elementwise work — a copy_ before every in-place operation (TorchSharp 0.107 has no out=
/// forms) and one pass per factor of a product such as ∂L/∂δ ⊙ u ⊙ (s − s²) ⊙ α. Those passes are bound by memory
/// bandwidth, not arithmetic; fused, the same arithmetic reads and writes each tensor once. Sigmoid (libtorch's SLEEF
/// exp), sums (libtorch's reduction order) and addcmul (whose rounding is libtorch's compiler's business) stay in
/// libtorch. The bitwise equality with the libtorch chains is tested (FusedElementwiseTests, special values included)
/// and so is the whole attack step against its out-of-place formulation (AttackWorkspaceTests).
/// </remarks>
internal static class FusedElementwise
{
    /// <summary>Passes over fewer elements than this run on one thread (waking a second costs more than it saves).</summary>
    const long SingleThreadBelow = 1 << 16;

    /// <summary>s ← h·α, h ← relu(h): libtorch's <c>s.copy_(h).mul_(α); h.relu_()</c> (relu as libtorch's clamp_min(0):
    /// negative → +0; −0 and NaN kept).</summary>
    public static void ScaleAndRelu(Tensor h, Tensor s, double alpha)
    {
        if (!Runs(new[] { h, s })) { s.copy_(h).mul_(alpha); h.relu_(); return; }
        Run<ScaleRelu>(h, s, h, h, alpha);
    }

    /// <summary>δ ← u ⊙ s, D ← δ ⊙ c (c [m] scaling row r): libtorch's <c>δ.copy_(u).mul_(s); D.copy_(δ).mul_(c.unsqueeze(1))</c>.
    /// u may be a row broadcast over the m rows (an expand of a [1, n] or [n] tensor).</summary>
    public static void ProductAndRowScale(Tensor u, Tensor s, Tensor c, Tensor delta, Tensor D)
    {
        if (!Runs(new[] { delta, D }, u, s) || !RowScale(c, delta)) { delta.copy_(u).mul_(s); D.copy_(delta).mul_(c.unsqueeze(1)); return; }
        Run<MulRowScale>(u, s, delta, D, 0, c);
    }

    /// <summary>squares ← R ⊙ R, R ← R·f: libtorch's <c>squares.copy_(R).pow_(2); R.mul_(f)</c> (pow 2 is libtorch's x·x).</summary>
    public static void SquareAndScale(Tensor R, Tensor squares, double factor)
    {
        if (!Runs(new[] { R, squares })) { squares.copy_(R).pow_(2); R.mul_(factor); return; }
        Run<SquareScale>(R, squares, R, R, factor);
    }

    /// <summary>δ ← δ ⊙ g, g ← g ⊙ c (c [m] scaling row r): libtorch's <c>δ.mul_(g); g.mul_(c.unsqueeze(1))</c>.</summary>
    public static void MultiplyAndRowScale(Tensor delta, Tensor g, Tensor c)
    {
        if (!Runs(new[] { delta, g }) || !RowScale(c, delta)) { delta.mul_(g); g.mul_(c.unsqueeze(1)); return; }
        Run<MulThenRowScale>(delta, g, delta, delta, 0, c);
    }

    /// <summary>t ← g ⊙ s: libtorch's <c>t.copy_(g).mul_(s)</c>.</summary>
    public static void Multiply(Tensor g, Tensor s, Tensor t)
    {
        if (!Runs(new[] { t }, g, s)) { t.copy_(g).mul_(s); return; }
        Run<Mul>(g, s, t, t, 0);
    }

    /// <summary>g ← ((g ⊙ u) ⊙ ((−s²) + s)) · α, the modified ReLU's second derivative chained into g: libtorch's
    /// <c>t.copy_(s).pow_(2).neg_().add_(s); g.mul_(u).mul_(t).mul_(α)</c>. u may be a row broadcast over the m rows.</summary>
    public static void SigmoidSlope(Tensor g, Tensor u, Tensor s, double alpha)
    {
        if (!Runs(new[] { g }, u, s))
        {
            using var t = s.square().neg_().add_(s);
            g.mul_(u).mul_(t).mul_(alpha);
            return;
        }
        Run<Slope>(g, u, s, g, alpha);
    }

    /// <summary>The box prior's excesses and gradient from candidates X and per-coordinate bounds lo, hi (row broadcasts
    /// [d] over the m rows): above = relu(X − hi), below = relu(lo − X), grad ← (above − below)·2, then the excesses
    /// squared in place — libtorch's <c>above.copy_(X).sub_(hi); below.copy_(lo).sub_(X); above.relu_(); below.relu_();
    /// grad.copy_(above).sub_(below).mul_(2); above.pow_(2); below.pow_(2)</c>. The scalar box's −b − X, formed as
    /// (−X) + (−b), is lo − X with lo = −b: the same sum.</summary>
    public static void BoxExcesses(Tensor X, Tensor lo, Tensor hi, Tensor above, Tensor below, Tensor grad)
    {
        if (!Runs(new[] { above, below, grad }, X, lo, hi))
        {
            above.copy_(X).sub_(hi);
            below.copy_(lo).sub_(X);
            above.relu_();
            below.relu_();
            grad.copy_(above).sub_(below).mul_(2);
            above.pow_(2);
            below.pow_(2);
            return;
        }
        Run<Box>(X, lo, hi, grad, 0, e: above, f: below);
    }

    /// <summary>into ← relu(h): libtorch's <c>into.copy_(h).relu_()</c> (a training sweep's layer input).</summary>
    public static void Relu(Tensor h, Tensor into)
    {
        if (!Runs(new[] { into }, h)) { into.copy_(h).relu_(); return; }
        Run<ReluOp>(h, into, into, into, 0);
    }

    /// <summary>d ← d ⊙ 1[h &gt; 0], the ReLU's derivative multiplied in without storing it: libtorch's
    /// <c>scratch.copy_(h).gt_(0); d.mul_(scratch)</c> (a multiplication by 1 or 0, so −0 for negative d and NaN for
    /// infinite d where h ≤ 0, as there). <paramref name="scratch"/> (shaped like h) is written only on the libtorch path.</summary>
    public static void MultiplyByStep(Tensor d, Tensor h, Tensor scratch)
    {
        // gt_ on a float tensor stores the comparison as 1 or 0 in its own dtype, as gt(0).to(dtype) does.
        if (!Runs(new[] { d }, h)) { scratch.copy_(h).gt_(0); d.mul_(scratch); return; }
        Run<StepMul>(d, h, d, d, 0);
    }

    /// <summary>into ← x ⊙ c (c [m] scaling row r): libtorch's <c>into.copy_(x).mul_(c.unsqueeze(1))</c>.</summary>
    public static void ScaleRows(Tensor x, Tensor c, Tensor into)
    {
        if (!Runs(new[] { into }, x) || !RowScale(c, into)) { into.copy_(x).mul_(c.unsqueeze(1)); return; }
        Run<ScaleRowsOp>(x, into, into, into, 0, c);
    }

    // ---- where a pass runs ----

    /// <summary>Whether the pass can run here: the <paramref name="written"/> tensors contiguous 2-D CPU float32/float64
    /// tensors of one dtype and shape, and every <paramref name="read"/>-only operand of that dtype and shape, contiguous
    /// or a row broadcast (stride 0 across rows, unit stride along them).</summary>
    static bool Runs(Tensor[] written, params Tensor[] read)
    {
        var target = written[0];
        if (target.dtype != ScalarType.Float64 && target.dtype != ScalarType.Float32) return false;
        bool Fits(Tensor t) => t.device_type == DeviceType.CPU && t.dtype == target.dtype && t.dim() == 2
            && t.shape[0] == target.shape[0] && t.shape[1] == target.shape[1];
        // No Array.IndexOf or Contains over tensors here: TorchSharp's Tensor.Equals is torch.equal, a full elementwise
        // comparison (cpu_equal took ~0.6 % of the reference attack step's CPU samples under perf, and a written tensor
        // equal by value to a read one would have passed as read).
        foreach (var t in written)
            if (!Fits(t) || !t.is_contiguous()) return false;
        foreach (var t in read)
            if (!Fits(t) || !(t.is_contiguous() || (t.stride(0) == 0 && (t.stride(1) == 1 || t.shape[1] == 1)))) return false;
        return true;
    }

    /// <summary>Whether c is a contiguous CPU vector of one scale per row of <paramref name="target"/>.</summary>
    static bool RowScale(Tensor c, Tensor target)
        => c.device_type == DeviceType.CPU && c.dtype == target.dtype && c.dim() == 1 && c.shape[0] == target.shape[0] && c.is_contiguous();

    /// <summary>Runs <typeparamref name="TOp"/> row by row on the operands a–f (repeats allowed; e and f default to d) and
    /// the per-row scales <paramref name="rowScale"/> (or none), split over the threads.</summary>
    static unsafe void Run<TOp>(Tensor a, Tensor b, Tensor c, Tensor d, double scalar, Tensor? rowScale = null, Tensor? e = null, Tensor? f = null)
        where TOp : IRowOp
    {
        long rows = d.shape[0], cols = d.shape[1];
        if (rows == 0 || cols == 0) return;
        e ??= d; f ??= d;
        var p = new Operands(MatMul.Data(a), a.stride(0), MatMul.Data(b), b.stride(0),
            MatMul.Data(c), c.stride(0), MatMul.Data(d), d.stride(0),
            MatMul.Data(e), e.stride(0), MatMul.Data(f), f.stride(0),
            rowScale is null ? IntPtr.Zero : MatMul.Data(rowScale), cols);
        bool f64 = d.dtype == ScalarType.Float64;
        int threads = rows * cols < SingleThreadBelow || rows < 2 ? 1 : Math.Max(1, MatMul.Threads ?? torch.get_num_threads());
        // A few blocks per thread, so a thread the machine slows down does not hold up the pass.
        int blocks = threads == 1 ? 1 : (int)Math.Min(rows, 4L * threads);
        WorkerTeam.Run(threads, blocks, i =>
        {
            long r0 = rows * i / blocks, r1 = rows * (i + 1) / blocks;
            if (f64) Rows<TOp, double>(p, r0, r1, scalar);
            else Rows<TOp, float>(p, r0, r1, (float)scalar);
        });
        GC.KeepAlive(a); GC.KeepAlive(b); GC.KeepAlive(c); GC.KeepAlive(d); GC.KeepAlive(e); GC.KeepAlive(f); GC.KeepAlive(rowScale);
    }

    readonly record struct Operands(IntPtr A, long Sa, IntPtr B, long Sb, IntPtr C, long Sc, IntPtr D, long Sd,
        IntPtr E, long Se, IntPtr F, long Sf, IntPtr RowScale, long Cols);

    static unsafe void Rows<TOp, T>(Operands p, long r0, long r1, T scalar) where TOp : IRowOp where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* a = (T*)p.A, b = (T*)p.B, c = (T*)p.C, d = (T*)p.D, e = (T*)p.E, f = (T*)p.F, scale = (T*)p.RowScale;
        int n = (int)p.Cols;
        for (long r = r0; r < r1; r++)
            TOp.Row(a + r * p.Sa, b + r * p.Sb, c + r * p.Sc, d + r * p.Sd, e + r * p.Se, f + r * p.Sf, scalar,
                scale == null ? T.Zero : scale[r], n);
    }

    /// <summary>One row of a pass: operands a–f (which ones are written is the op's business) over n elements.</summary>
    interface IRowOp
    {
        static abstract unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>;
    }

    /// <summary>b ← a·α, a ← relu(a) (libtorch's clamp_min(0): x &lt; 0 → +0, else x, so −0 and NaN stay).</summary>
    readonly struct ScaleRelu : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T alpha, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var va = Vector256.Create(alpha);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x = Vector256.Load(a + i);
                Vector256.Store(x * va, b + i);
                Vector256.Store(Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), Vector256<T>.Zero, x), a + i);
            }
            for (; i < n; i++)
            {
                T x = a[i];
                b[i] = x * alpha;
                a[i] = x < T.Zero ? T.Zero : x;
            }
        }
    }

    /// <summary>b ← relu(a) (x &lt; 0 → +0, else x).</summary>
    readonly struct ReluOp : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x = Vector256.Load(a + i);
                Vector256.Store(Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), Vector256<T>.Zero, x), b + i);
            }
            for (; i < n; i++) b[i] = a[i] < T.Zero ? T.Zero : a[i];
        }
    }

    /// <summary>a ← a ⊙ (b &gt; 0 ? 1 : 0).</summary>
    readonly struct StepMul : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var one = Vector256<T>.One;
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var step = Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(b + i), Vector256<T>.Zero), one, Vector256<T>.Zero);
                Vector256.Store(Vector256.Load(a + i) * step, a + i);
            }
            for (; i < n; i++) a[i] = a[i] * (b[i] > T.Zero ? T.One : T.Zero);
        }
    }

    /// <summary>b ← a · rowScale.</summary>
    readonly struct ScaleRowsOp : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var vc = Vector256.Create(rowScale);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                Vector256.Store(Vector256.Load(a + i) * vc, b + i);
            for (; i < n; i++) b[i] = a[i] * rowScale;
        }
    }

    /// <summary>c ← a ⊙ b, d ← c · rowScale.</summary>
    readonly struct MulRowScale : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var vc = Vector256.Create(rowScale);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var delta = Vector256.Load(a + i) * Vector256.Load(b + i);
                Vector256.Store(delta, c + i);
                Vector256.Store(delta * vc, d + i);
            }
            for (; i < n; i++)
            {
                T delta = a[i] * b[i];
                c[i] = delta;
                d[i] = delta * rowScale;
            }
        }
    }

    /// <summary>b ← a ⊙ a, a ← a·f.</summary>
    readonly struct SquareScale : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T factor, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var vf = Vector256.Create(factor);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x = Vector256.Load(a + i);
                Vector256.Store(x * x, b + i);
                Vector256.Store(x * vf, a + i);
            }
            for (; i < n; i++)
            {
                T x = a[i];
                b[i] = x * x;
                a[i] = x * factor;
            }
        }
    }

    /// <summary>a ← a ⊙ b, b ← b · rowScale.</summary>
    readonly struct MulThenRowScale : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var vc = Vector256.Create(rowScale);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var g = Vector256.Load(b + i);
                Vector256.Store(Vector256.Load(a + i) * g, a + i);
                Vector256.Store(g * vc, b + i);
            }
            for (; i < n; i++)
            {
                T g = b[i];
                a[i] = a[i] * g;
                b[i] = g * rowScale;
            }
        }
    }

    /// <summary>c ← a ⊙ b.</summary>
    readonly struct Mul : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                Vector256.Store(Vector256.Load(a + i) * Vector256.Load(b + i), c + i);
            for (; i < n; i++) c[i] = a[i] * b[i];
        }
    }

    /// <summary>With x = a, lo = b, hi = c: e ← relu(x − hi)², f ← relu(lo − x)², d ← (relu(x − hi) − relu(lo − x))·2.</summary>
    readonly struct Box : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T scalar, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var zero = Vector256<T>.Zero;
            var two = Vector256.Create(T.One + T.One);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var x = Vector256.Load(a + i);
                var above = x - Vector256.Load(c + i);
                var below = Vector256.Load(b + i) - x;
                above = Vector256.ConditionalSelect(Vector256.LessThan(above, zero), zero, above);
                below = Vector256.ConditionalSelect(Vector256.LessThan(below, zero), zero, below);
                Vector256.Store((above - below) * two, d + i);
                Vector256.Store(above * above, e + i);
                Vector256.Store(below * below, f + i);
            }
            for (; i < n; i++)
            {
                T x = a[i];
                T above = x - c[i], below = b[i] - x;
                if (above < T.Zero) above = T.Zero;
                if (below < T.Zero) below = T.Zero;
                d[i] = (above - below) * (T.One + T.One);
                e[i] = above * above;
                f[i] = below * below;
            }
        }
    }

    /// <summary>a ← ((a ⊙ b) ⊙ ((−c²) + c)) · α.</summary>
    readonly struct Slope : IRowOp
    {
        public static unsafe void Row<T>(T* a, T* b, T* c, T* d, T* e, T* f, T alpha, T rowScale, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0;
            var va = Vector256.Create(alpha);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var s = Vector256.Load(c + i);
                var slope = -(s * s) + s;
                Vector256.Store(Vector256.Load(a + i) * Vector256.Load(b + i) * slope * va, a + i);
            }
            for (; i < n; i++)
            {
                T s = c[i];
                T slope = -(s * s) + s;
                a[i] = a[i] * b[i] * slope * alpha;
            }
        }
    }
}
