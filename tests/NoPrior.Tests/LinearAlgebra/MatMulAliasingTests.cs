using System.Runtime.Intrinsics.X86;
using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

[Collection("MatMul settings")]
public class MatMulAliasingTests
{
    [Fact]
    public void An_accumulator_that_is_also_a_factor_gets_the_right_answer() => MatMulTests.ForEachKernel(kernel =>
    {
        // c ← c + c·b with c both the accumulator and the left factor: computed in place, the second k-block of a row
        // block would read columns the first one has already updated (this test fails without MatMul's overlap check).
        // An aliased right factor is safe either way (B is packed whole before anything is written); checked too.
        using var c0 = TestData.Randn(40, 300, 300); // k = 300: two k-blocks, so a row block is read after it was written
        using var b = TestData.Randn(41, 300, 300);
        using var want = c0 + c0.mm(b);
        using var c = c0.clone();
        MatMul.AddProductInPlace(c, c, b);
        Assert.True(TestData.MaxAbs(c - want) <= 1e-12 * TestData.MaxAbs(want), $"error {TestData.MaxAbs(c - want):E2}");
        using var d = c0.clone();
        MatMul.AddProductInPlace(d, b, d.t()); // aliasing through a transposed view
        using var want2 = c0 + b.mm(c0.t());
        Assert.True(TestData.MaxAbs(d - want2) <= 1e-12 * TestData.MaxAbs(want2), $"error {TestData.MaxAbs(d - want2):E2}");
    });
}
