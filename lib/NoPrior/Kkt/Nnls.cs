using static TorchSharp.torch;

namespace NoPrior.Kkt;

/// <summary>
/// Exact non-negative least squares by the Lawson–Hanson active-set method (Lawson &amp; Hanson 1974, ch. 23),
/// written for the Gram form: minimise ½λᵀQλ − bᵀλ subject to λ ≥ 0, with Q = AᵀA and b = Aᵀt, which is
/// min_{λ≥0} ‖Aλ − t‖² without ever forming A. The KKT multipliers of a network are fitted this way with
/// A = J(X)ᵀ diag(y) (n × P, P up to millions) and t = θ, so Q = diag(y) J Jᵀ diag(y) is only n × n.
/// The passive-set subproblems are solved with the pseudo-inverse of the passive block, so duplicate
/// or zero columns (degenerate problems) are handled: the method then returns one minimiser.
/// </summary>
public static class Nnls
{
    /// <summary>Result of a solve: the minimiser, the final gradient w = b − Qλ (≤ 0 off the support at optimality), and the iterations used.</summary>
    public sealed record Solution(double[] Lambda, double[] Gradient, int Iterations, bool Converged);

    /// <summary>Solves min_{λ≥0} ½λᵀQλ − bᵀλ for a symmetric positive semi-definite Q [n, n] and b [n].</summary>
    /// <param name="Q">Gram matrix AᵀA, [n, n].</param>
    /// <param name="b">Aᵀt, [n].</param>
    /// <param name="maxIterations">Cap on inner iterations; default 3n + 30.</param>
    /// <param name="tolerance">Optimality tolerance on the gradient w = b − Qλ; default 1e-12·max(1, ‖b‖_∞, ‖Q‖_max)·n.</param>
    public static Solution SolveGram(Tensor Q, Tensor b, double? tolerance = null, int? maxIterations = null)
    {
        if (Q.dim() != 2 || Q.shape[0] != Q.shape[1]) throw new ArgumentException($"Q must be a square matrix, got shape [{string.Join(", ", Q.shape)}].", nameof(Q));
        if (b.dim() != 1 || b.shape[0] != Q.shape[0]) throw new ArgumentException($"b must be a vector of length {Q.shape[0]}, got shape [{string.Join(", ", b.shape)}].", nameof(b));
        Numerics.CheckFinite(Q, "Q"); Numerics.CheckFinite(b, "b");
        int n = (int)Q.shape[0];
        using var q64 = Q.detach().to(ScalarType.Float64, CPU).contiguous();
        var q = q64.data<double>().ToArray();
        using var b64 = b.detach().to(ScalarType.Float64, CPU).contiguous();
        var bb = b64.data<double>().ToArray();
        double scale = Math.Max(1.0, Math.Max(bb.Select(Math.Abs).DefaultIfEmpty(0).Max(), q.Select(Math.Abs).DefaultIfEmpty(0).Max()));
        double tol = tolerance ?? 1e-12 * scale * Math.Max(1, n);
        int maxIt = maxIterations ?? 3 * n + 30;

        var x = new double[n];
        var passive = new bool[n];
        var w = Gradient(q, bb, x, n);
        int it = 0;
        while (it < maxIt)
        {
            int j = -1; double best = tol;
            for (int i = 0; i < n; i++) if (!passive[i] && w[i] > best) { best = w[i]; j = i; }
            if (j < 0) return new Solution(x, w, it, true);
            passive[j] = true;
            while (true)
            {
                it++;
                var s = SolvePassive(q, bb, passive, n);
                bool feasible = true;
                for (int i = 0; i < n; i++) if (passive[i] && s[i] <= 0) { feasible = false; break; }
                if (feasible) { x = s; break; }
                // Step from x towards s until the first passive coordinate hits zero, then drop the zeros.
                double step = double.PositiveInfinity;
                for (int i = 0; i < n; i++)
                    if (passive[i] && s[i] <= 0) step = Math.Min(step, x[i] / (x[i] - s[i]));
                for (int i = 0; i < n; i++) x[i] += step * (s[i] - x[i]);
                bool removed = false;
                for (int i = 0; i < n; i++)
                    if (passive[i] && x[i] <= tol * 1e-3) { passive[i] = false; x[i] = 0; removed = true; }
                if (!removed || it >= maxIt) { x = s.Select(v => Math.Max(v, 0)).ToArray(); break; }
            }
            w = Gradient(q, bb, x, n);
        }
        return new Solution(x, w, it, false);
    }

    /// <summary>Solves min_{λ≥0} ‖Aλ − t‖² for A [m, n] and t [m] (forms the Gram matrix; for tests and small problems).</summary>
    public static Solution Solve(Tensor A, Tensor t, double? tolerance = null)
    {
        if (A.dim() != 2) throw new ArgumentException($"A must be a matrix, got shape [{string.Join(", ", A.shape)}].", nameof(A));
        if (t.dim() != 1 || t.shape[0] != A.shape[0]) throw new ArgumentException($"t must be a vector of length {A.shape[0]}, got shape [{string.Join(", ", t.shape)}].", nameof(t));
        Numerics.CheckFinite(A, nameof(A)); Numerics.CheckFinite(t, nameof(t));
        using var a = A.to(ScalarType.Float64);
        using var at = a.t();
        using var Q = at.matmul(a);
        using var b = at.matmul(t.to(ScalarType.Float64));
        return SolveGram(Q, b, tolerance);
    }

    static double[] Gradient(double[] q, double[] b, double[] x, int n)
    {
        var w = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < n; k++) if (x[k] != 0) s -= q[i * n + k] * x[k];
            w[i] = s;
        }
        return w;
    }

    static double[] SolvePassive(double[] q, double[] b, bool[] passive, int n)
    {
        var idx = Enumerable.Range(0, n).Where(i => passive[i]).ToArray();
        int p = idx.Length;
        var qp = new double[p * p];
        var bp = new double[p];
        for (int r = 0; r < p; r++)
        {
            bp[r] = b[idx[r]];
            for (int c = 0; c < p; c++) qp[r * p + c] = q[idx[r] * n + idx[c]];
        }
        using var Qp = HostArrays.ToTensor(qp, new long[] { p, p });
        using var Bp = HostArrays.ToTensor(bp, new long[] { p, 1 });
        // Q_PP is symmetric PSD; its pseudo-inverse (eigen-decomposition, small eigenvalues cut) gives the
        // minimum-norm solution when passive columns are linearly dependent.
        using var pinv = torch.linalg.pinv(Qp, hermitian: true);
        using var sol = pinv.matmul(Bp).contiguous();
        var sv = sol.data<double>().ToArray();
        var s = new double[n];
        for (int r = 0; r < p; r++) s[idx[r]] = sv[r];
        return s;
    }
}
