using static TorchSharp.torch;

namespace NoPrior.Metrics;

/// <summary>How training images are paired with candidates.</summary>
public enum MatchingKind
{
    /// <summary>Each training image takes its nearest candidate; one candidate may serve several images (reference).</summary>
    ManyToOne,
    /// <summary>A one-to-one assignment of minimum total cost (Hungarian algorithm).</summary>
    Hungarian,
    /// <summary>One-to-one, greedily: repeatedly pair the globally closest unpaired image and candidate.</summary>
    Greedy,
}

/// <summary>A pairing of rows (training images) with columns (candidates) of a cost matrix.</summary>
/// <param name="Assignment">Assignment[i] = the column paired with row i, or −1 if row i is unpaired (one-to-one with more rows than columns).</param>
/// <param name="Costs">The cost of each row's pair (NaN if unpaired).</param>
public sealed record MatchResult(int[] Assignment, double[] Costs)
{
    /// <summary>Sum of the costs of the paired rows.</summary>
    public double Total => Costs.Where(double.IsFinite).Sum();
    /// <summary>How many distinct columns are used (less than the number of rows when many-to-one matching reuses a candidate).</summary>
    public int DistinctColumns => Assignment.Where(j => j >= 0).Distinct().Count();
}

/// <summary>Matchings on a cost matrix C [n, m] (rows: training images, columns: candidates).</summary>
public static class Matching
{
    /// <summary>Matches with the given kind.</summary>
    public static MatchResult Match(Tensor cost, MatchingKind kind) => kind switch
    {
        MatchingKind.ManyToOne => NearestNeighbour(cost),
        MatchingKind.Hungarian => Hungarian(cost),
        MatchingKind.Greedy => Greedy(cost),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Many-to-one: row i takes argmin_j C_ij (ties → the lowest j).</summary>
    public static MatchResult NearestNeighbour(Tensor cost)
    {
        var c = ToArray(cost);
        int n = c.GetLength(0), m = c.GetLength(1);
        var a = new int[n]; var v = new double[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int j = 1; j < m; j++) if (c[i, j] < c[i, best]) best = j;
            a[i] = best; v[i] = c[i, best];
        }
        return new MatchResult(a, v);
    }

    /// <summary>
    /// Exact minimum-cost one-to-one assignment, min_π Σ_i C_{i,π(i)} over injective π, by the Hungarian algorithm with
    /// potentials (Kuhn–Munkres; O(n² m) for n ≤ m). With more rows than columns the problem is solved on Cᵀ and the
    /// n − m rows left over are unpaired (−1).
    /// </summary>
    public static MatchResult Hungarian(Tensor cost)
    {
        var c = ToArray(cost);
        int n = c.GetLength(0), m = c.GetLength(1);
        if (n <= m)
        {
            var a = Solve(c, n, m);
            return new MatchResult(a, a.Select((j, i) => c[i, j]).ToArray());
        }
        var t = new double[m, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) t[j, i] = c[i, j];
        var colToRow = Solve(t, m, n);
        var assignment = Enumerable.Repeat(-1, n).ToArray();
        for (int j = 0; j < m; j++) assignment[colToRow[j]] = j;
        return new MatchResult(assignment, assignment.Select((j, i) => j >= 0 ? c[i, j] : double.NaN).ToArray());
    }

    // Shortest augmenting paths with row potentials u and column potentials v (1-based, column 0 is a sentinel).
    // Invariant: C_ij − u_i − v_j ≥ 0 with equality on matched pairs, which makes the final matching optimal.
    static int[] Solve(double[,] c, int n, int m)
    {
        var u = new double[n + 1]; var v = new double[m + 1];
        var p = new int[m + 1]; var way = new int[m + 1];
        for (int i = 1; i <= n; i++)
        {
            p[0] = i;
            int j0 = 0;
            var minv = Enumerable.Repeat(double.PositiveInfinity, m + 1).ToArray();
            var used = new bool[m + 1];
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = -1;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= m; j++)
                {
                    if (used[j]) continue;
                    double cur = c[i0 - 1, j - 1] - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= m; j++)
                {
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                }
                j0 = j1;
            } while (p[j0] != 0);
            do { int j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0 != 0);
        }
        var a = new int[n];
        for (int j = 1; j <= m; j++) if (p[j] != 0) a[p[j] - 1] = j - 1;
        return a;
    }

    /// <summary>One-to-one greedy matching: sort all pairs by cost and take each pair whose row and column are both free.
    /// Not optimal in total cost (compare <see cref="Hungarian"/>), but simple and often used.</summary>
    public static MatchResult Greedy(Tensor cost)
    {
        var c = ToArray(cost);
        int n = c.GetLength(0), m = c.GetLength(1);
        var pairs = new List<(double C, int I, int J)>(n * m);
        for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) pairs.Add((c[i, j], i, j));
        pairs.Sort((x, y) => x.C != y.C ? x.C.CompareTo(y.C) : x.I != y.I ? x.I.CompareTo(y.I) : x.J.CompareTo(y.J));
        var a = Enumerable.Repeat(-1, n).ToArray();
        var colUsed = new bool[m];
        int left = Math.Min(n, m);
        foreach (var (cc, i, j) in pairs)
        {
            if (left == 0) break;
            if (a[i] >= 0 || colUsed[j]) continue;
            a[i] = j; colUsed[j] = true; left--;
        }
        return new MatchResult(a, a.Select((j, i) => j >= 0 ? c[i, j] : double.NaN).ToArray());
    }

    static double[,] ToArray(Tensor cost)
    {
        if (cost.dim() != 2 || cost.shape[0] == 0 || cost.shape[1] == 0)
            throw new ArgumentException($"The cost matrix must be a non-empty matrix [n, m], got shape [{string.Join(", ", cost.shape)}].", nameof(cost));
        Numerics.CheckFinite(cost, nameof(cost));
        using var c = cost.detach().to(ScalarType.Float64, CPU).contiguous();
        int n = (int)c.shape[0], m = (int)c.shape[1];
        var flat = c.data<double>().ToArray();
        var r = new double[n, m];
        Buffer.BlockCopy(flat, 0, r, 0, flat.Length * sizeof(double));
        return r;
    }
}
