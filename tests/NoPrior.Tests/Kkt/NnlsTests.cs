using NoPrior.Kkt;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class NnlsTests
{
    static double Objective(Tensor A, Tensor b, double[] x)
    {
        using var xt = torch.tensor(x, dtype: ScalarType.Float64);
        return (A.matmul(xt) - b).square().sum().ToDouble();
    }

    /// <summary>Brute force: the best unconstrained least-squares solution over every support set that is non-negative.</summary>
    static double BruteForceMinimum(Tensor A, Tensor b)
    {
        int n = (int)A.shape[1];
        double best = b.square().sum().ToDouble();
        for (int mask = 1; mask < 1 << n; mask++)
        {
            var cols = Enumerable.Range(0, n).Where(i => (mask >> i & 1) == 1).ToArray();
            using var idx = torch.tensor(cols.Select(c => (long)c).ToArray());
            using var As = A.index_select(1, idx);
            using var pinv = torch.linalg.pinv(As);
            using var s = pinv.matmul(b);
            if (s.min().ToDouble() < -1e-12) continue;
            var x = new double[n];
            var sv = s.data<double>().ToArray();
            for (int k = 0; k < cols.Length; k++) x[cols[k]] = Math.Max(0, sv[k]);
            best = Math.Min(best, Objective(A, b, x));
        }
        return best;
    }

    [Fact]
    public void Recovers_a_planted_nonnegative_solution()
    {
        using var A = TestData.Randn(1, 12, 6);
        var planted = new double[] { 1.5, 0, 2, 0, 0.3, 1 };
        using var x = torch.tensor(planted, dtype: ScalarType.Float64);
        using var b = A.matmul(x);
        var sol = Nnls.Solve(A, b);
        Assert.True(sol.Converged);
        for (int i = 0; i < 6; i++) Assert.Equal(planted[i], sol.Lambda[i], 10);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Matches_brute_force_when_the_constraint_is_active(int seed)
    {
        using var A = TestData.Randn(seed, 8, 6);
        using var b = TestData.Randn(seed + 100, 8);
        var sol = Nnls.Solve(A, b);
        Assert.True(sol.Lambda.All(v => v >= 0));
        Assert.Contains(sol.Lambda, v => v == 0); // these draws have a negative unconstrained solution
        Assert.Equal(BruteForceMinimum(A, b), Objective(A, b, sol.Lambda), 10);
        // NNLS optimality: gradient w = Aᵀ(b − Aλ) ≤ 0, and = 0 on the support.
        for (int i = 0; i < 6; i++)
        {
            Assert.True(sol.Gradient[i] < 1e-9);
            if (sol.Lambda[i] > 0) Assert.True(Math.Abs(sol.Gradient[i]) < 1e-9);
        }
    }

    [Fact]
    public void Degenerate_problems_duplicate_and_zero_columns()
    {
        using var A0 = TestData.Randn(9, 7, 4);
        using var A = torch.cat(new[] { A0, A0[.., 1..2], torch.zeros(7, 1, dtype: ScalarType.Float64) }, 1); // col 4 = col 1, col 5 = 0
        using var x = torch.tensor(new double[] { 1, 2, 0, 0.5, 0, 0 }, dtype: ScalarType.Float64);
        using var b = A.matmul(x);
        var sol = Nnls.Solve(A, b);
        Assert.True(sol.Converged);
        Assert.True(Objective(A, b, sol.Lambda) < 1e-18);
        Assert.Equal(2.0, sol.Lambda[1] + sol.Lambda[4], 10); // only the sum of the duplicated pair is identified
        Assert.Equal(0.0, sol.Lambda[5]);
        using var b2 = TestData.Randn(10, 7);
        var sol2 = Nnls.Solve(A, b2);
        Assert.Equal(BruteForceMinimum(A, b2), Objective(A, b2, sol2.Lambda), 9);
        using var zeroB = torch.zeros(7, dtype: ScalarType.Float64);
        Assert.All(Nnls.Solve(A, zeroB).Lambda, v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void Bad_shapes_are_refused()
    {
        using var Q = TestData.Randn(1, 3, 4); using var b = TestData.Randn(2, 3);
        Assert.Contains("square", Assert.Throws<ArgumentException>(() => Nnls.SolveGram(Q, b)).Message);
        using var Q2 = torch.eye(3, dtype: ScalarType.Float64); using var b2 = TestData.Randn(2, 4);
        Assert.Contains("length 3", Assert.Throws<ArgumentException>(() => Nnls.SolveGram(Q2, b2)).Message);
    }

    [Fact]
    public void Non_finite_inputs_are_refused_naming_the_argument()
    {
        using var A = TestData.Randn(1, 4, 3); A[1, 2] = double.NaN;
        using var t = TestData.Randn(2, 4);
        Assert.Contains("A contains NaN", Assert.Throws<ArgumentException>(() => Nnls.Solve(A, t)).Message);
        using var A2 = TestData.Randn(1, 4, 3); using var t2 = t.clone(); t2[0] = double.PositiveInfinity;
        Assert.Contains("t contains NaN", Assert.Throws<ArgumentException>(() => Nnls.Solve(A2, t2)).Message);
        using var Q = torch.eye(3, dtype: ScalarType.Float64); using var b = TestData.Randn(3, 3); b[1] = double.NaN;
        Assert.Contains("b contains NaN", Assert.Throws<ArgumentException>(() => Nnls.SolveGram(Q, b)).Message);
    }
}
