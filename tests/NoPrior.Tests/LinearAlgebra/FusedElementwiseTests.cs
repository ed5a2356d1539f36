using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

/// <summary>
/// Each pass of <see cref="FusedElementwise"/> against the libtorch chain it replaces, byte for byte (not to a
/// tolerance): float64 and float32; rows shorter than a vector and with a scalar tail; a size that splits over threads;
/// row-broadcast operands; special values (±0, NaN, ±∞, subnormals, values whose products overflow or underflow); and
/// tensors the pass must hand back to libtorch (non-contiguous ones). The comparison itself is shown to catch an
/// operation done in another order.
/// </summary>
public class FusedElementwiseTests
{
    /// <summary>Rows × columns: one short row, an odd width (scalar tail), and one above the single-thread threshold.</summary>
    public static IEnumerable<object[]> Cases()
    {
        foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
            foreach (var (rows, cols) in new[] { (3L, 3L), (7L, 37L), (300L, 301L) })
                yield return new object[] { dtype, rows, cols };
    }

    /// <summary>Random values with special ones planted: ±0, NaN, ±∞, subnormals, huge and tiny magnitudes.</summary>
    static Tensor Values(long seed, ScalarType dtype, long rows, long cols, bool special = true)
    {
        var t = (TestData.Randn(seed, rows, cols) * 3).to(dtype);
        if (!special) return t;
        var flat = t.view(-1);
        double tiny = dtype == ScalarType.Float64 ? 4e-320 : 1e-40;   // subnormal in each dtype
        double huge = dtype == ScalarType.Float64 ? 1e200 : 1e30;     // squares overflow
        var specials = new[] { 0.0, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, tiny, -tiny, huge, -huge, 1e-200 };
        for (int i = 0; i < specials.Length && i < flat.shape[0]; i++)
            flat[(seed * 7 + i * 5) % flat.shape[0]] = specials[i];
        return t;
    }

    static bool SameBytes(Tensor a, Tensor b)
        => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    static void AssertSame(Tensor fused, Tensor chain, string what)
        => Assert.True(SameBytes(fused, chain), $"{what}: the fused pass and the libtorch chain differ in some bit");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Scale_and_relu_equals_copy_mul_and_relu(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var h = Values(1, dtype, rows, cols);
        var (h1, s1) = (h.clone(), torch.empty_like(h));
        FusedElementwise.ScaleAndRelu(h1, s1, 20.0);
        var (h2, s2) = (h.clone(), torch.empty_like(h));
        s2.copy_(h2).mul_(20.0); h2.relu_();
        AssertSame(s1, s2, "s = αh"); AssertSame(h1, h2, "relu(h)");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Product_and_row_scale_equals_its_chain_with_a_dense_or_broadcast_factor(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var s = Values(2, dtype, rows, cols);
        var c = Values(3, dtype, 1, rows).view(-1);
        foreach (var u in new[] { Values(4, dtype, rows, cols), Values(5, dtype, 1, cols).expand(rows, -1) })
        {
            var (d1, D1) = (torch.empty_like(s), torch.empty_like(s));
            FusedElementwise.ProductAndRowScale(u, s, c, d1, D1);
            var (d2, D2) = (torch.empty_like(s), torch.empty_like(s));
            d2.copy_(u).mul_(s); D2.copy_(d2).mul_(c.unsqueeze(1));
            AssertSame(d1, d2, "δ = u ⊙ s"); AssertSame(D1, D2, "D = δ ⊙ c");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Square_and_scale_equals_pow_and_mul(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var R = Values(6, dtype, rows, cols);
        var (R1, q1) = (R.clone(), torch.empty_like(R));
        FusedElementwise.SquareAndScale(R1, q1, -2 * 1.3);
        var (R2, q2) = (R.clone(), torch.empty_like(R));
        q2.copy_(R2).pow_(2); R2.mul_(-2 * 1.3);
        AssertSame(q1, q2, "R²"); AssertSame(R1, R2, "−2wR");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Multiply_and_row_scale_equals_mul_and_mul(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var delta = Values(7, dtype, rows, cols);
        var g = Values(8, dtype, rows, cols);
        var c = Values(9, dtype, 1, rows).view(-1);
        var (d1, g1) = (delta.clone(), g.clone());
        FusedElementwise.MultiplyAndRowScale(d1, g1, c);
        var (d2, g2) = (delta.clone(), g.clone());
        d2.mul_(g2); g2.mul_(c.unsqueeze(1));
        AssertSame(d1, d2, "δ ⊙ g"); AssertSame(g1, g2, "g ⊙ c");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Multiply_and_sigmoid_slope_equal_their_chains_with_a_dense_or_broadcast_factor(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var g = Values(10, dtype, rows, cols);
        // s in (0, 1) as the sigmoid gives it, with its saturated ends 0 and 1, and the special values too.
        var s = Values(11, dtype, rows, cols, special: false).sigmoid();
        s.view(-1)[0] = 0.0; s.view(-1)[s.numel() - 1] = 1.0;
        var t1 = torch.empty_like(g);
        FusedElementwise.Multiply(g, s, t1);
        var t2 = torch.empty_like(g);
        t2.copy_(g).mul_(s);
        AssertSame(t1, t2, "g ⊙ s");
        foreach (var u in new[] { Values(12, dtype, rows, cols), Values(13, dtype, 1, cols).expand(rows, -1) })
        {
            var g1 = g.clone();
            FusedElementwise.SigmoidSlope(g1, u, s, 20.0);
            var g2 = g.clone();
            var t = torch.empty_like(g);
            t.copy_(s).pow_(2).neg_().add_(s);
            g2.mul_(u).mul_(t).mul_(20.0);
            AssertSame(g1, g2, "((g ⊙ u) ⊙ (s − s²)) α");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Box_excesses_equal_their_chain(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var X = Values(18, dtype, rows, cols);
        var lo = (Values(19, dtype, 1, cols, special: false).view(-1).abs() * -1);
        var hi = Values(20, dtype, 1, cols, special: false).view(-1).abs();
        var (a1, b1, g1) = (torch.empty_like(X), torch.empty_like(X), torch.empty_like(X));
        FusedElementwise.BoxExcesses(X, lo.expand(X.shape), hi.expand(X.shape), a1, b1, g1);
        var (a2, b2, g2) = (torch.empty_like(X), torch.empty_like(X), torch.empty_like(X));
        a2.copy_(X).sub_(hi); b2.copy_(lo.expand(X.shape)).sub_(X);
        a2.relu_(); b2.relu_();
        g2.copy_(a2).sub_(b2).mul_(2);
        a2.pow_(2); b2.pow_(2);
        AssertSame(a1, a2, "relu(x − hi)²"); AssertSame(b1, b2, "relu(lo − x)²"); AssertSame(g1, g2, "2(relu(x − hi) − relu(lo − x))");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_training_sweeps_relu_step_and_row_scale_equal_their_chains(ScalarType dtype, long rows, long cols)
    {
        using var scope = torch.NewDisposeScope();
        var h = Values(21, dtype, rows, cols);
        var a1 = torch.empty_like(h);
        FusedElementwise.Relu(h, a1);
        var a2 = torch.empty_like(h);
        a2.copy_(h).relu_();
        AssertSame(a1, a2, "relu(h)");

        // d ⊙ 1[h > 0]: negative d where h ≤ 0 gives −0, infinite d gives NaN there; both must match.
        var d = Values(22, dtype, rows, cols);
        var d1 = d.clone();
        FusedElementwise.MultiplyByStep(d1, h, torch.empty_like(h));
        var (d2, step) = (d.clone(), torch.empty_like(h));
        step.copy_(h).gt_(0); d2.mul_(step);
        AssertSame(d1, d2, "d ⊙ 1[h > 0]");

        var c = Values(23, dtype, 1, rows).view(-1);
        var w1 = torch.empty_like(d);
        FusedElementwise.ScaleRows(d, c, w1);
        var w2 = torch.empty_like(d);
        w2.copy_(d).mul_(c.unsqueeze(1));
        AssertSame(w1, w2, "d ⊙ c");
    }

    [Fact]
    public void Tensors_the_pass_cannot_read_in_place_go_through_libtorch_with_the_same_bits()
    {
        using var scope = torch.NewDisposeScope();
        // Transposed (non-contiguous) tensors take the libtorch chain.
        var h = Values(14, ScalarType.Float64, 40, 30);
        var (h1, s1) = (h.clone().t(), torch.empty(40, 30, dtype: ScalarType.Float64).t());
        Assert.False(h1.is_contiguous() || s1.is_contiguous());
        FusedElementwise.ScaleAndRelu(h1, s1, 3.0);
        var (h2, s2) = (h.clone().t(), torch.empty(30, 40, dtype: ScalarType.Float64));
        s2.copy_(h2).mul_(3.0); h2.relu_();
        AssertSame(s1, s2, "s (non-contiguous)"); AssertSame(h1, h2, "relu(h) (non-contiguous)");

    }

    [Fact]
    public void A_row_broadcast_is_read_in_place_but_never_written_even_when_it_equals_a_read_operand()
    {
        using var scope = torch.NewDisposeScope();
        // δ ⊙ 1[h > 0] with δ written: a broadcast δ (one row seen 50 times) would race and write one row 50 times.
        // libtorch refuses to write it, and so must the pass — also when δ equals h by value (the pass once looked its
        // operands up with Array.IndexOf, i.e. Tensor.Equals, i.e. torch.equal, and took such a δ for the read h).
        var row = Values(18, ScalarType.Float64, 1, 64, special: false); // no NaN, so torch.equal(δ, h) holds
        var d = row.clone().expand(50, -1);
        var h = row.clone().expand(50, -1);
        var e = Assert.ThrowsAny<Exception>(() => FusedElementwise.MultiplyByStep(d, h, torch.empty(50, 64, dtype: ScalarType.Float64)));
        Assert.Contains("single memory location", e.Message);
        AssertSame(d.select(0, 0), row.select(0, 0), "δ untouched");
        // The same broadcast as a read operand runs in place, with the chain's bits.
        var d1 = Values(19, ScalarType.Float64, 50, 64);
        var d2 = d1.clone();
        FusedElementwise.MultiplyByStep(d1, h, torch.empty(50, 64, dtype: ScalarType.Float64));
        d2.mul_(h.gt(0).to(ScalarType.Float64));
        AssertSame(d1, d2, "δ ⊙ 1[h > 0] with a broadcast h");
    }

    [Fact]
    public void The_bytewise_comparison_catches_the_same_arithmetic_in_another_order()
    {
        using var scope = torch.NewDisposeScope();
        var g = Values(15, ScalarType.Float64, 300, 301, special: false);
        var u = Values(16, ScalarType.Float64, 300, 301, special: false);
        var s = Values(17, ScalarType.Float64, 300, 301, special: false).sigmoid();
        var g1 = g.clone();
        FusedElementwise.SigmoidSlope(g1, u, s, 20.0);
        // ((g ⊙ u) ⊙ (s − s²)) α against (g ⊙ u) ⊙ ((s − s²) α): equal in exact arithmetic, not in rounding.
        var g2 = g.clone();
        var t = torch.empty_like(g);
        t.copy_(s).pow_(2).neg_().add_(s).mul_(20.0);
        g2.mul_(u).mul_(t);
        Assert.False(SameBytes(g1, g2));
        Assert.True(TestData.RelDiff(g1, g2) < 1e-15, "the two orders agree to rounding");
    }
}
