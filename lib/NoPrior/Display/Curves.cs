namespace NoPrior.Display;

/// <summary>Chart series from typed result rows (training logs, KKT trajectories, sweeps), so notebooks plot fields by
/// name checked by the compiler instead of by a table's column strings.</summary>
public static class Curves
{
    /// <summary>The series (x(r), y(r)) over <paramref name="rows"/>, in their order.</summary>
    public static Series Of<T>(string name, IEnumerable<T> rows, Func<T, double> x, Func<T, double> y)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows as IReadOnlyList<T> ?? rows.ToList();
        return new Series(name, list.Select(x).ToArray(), list.Select(y).ToArray());
    }
}
