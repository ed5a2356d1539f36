using Microsoft.Data.Analysis;

namespace NoPrior;

/// <summary>
/// The "sanity checks" section of a notebook: numerical claims with explicit tolerances, each paired where possible
/// with the same comparison on a case where the hypothesis is violated, which must FAIL — a check that would pass on
/// anything is not a check. <see cref="Verify"/> throws (failing the notebook) if a claim does not hold or a
/// counter-example unexpectedly passes, and returns the table of all checks.
/// </summary>
public sealed class SanityChecks
{
    readonly record struct Row(string Claim, string Case, double Value, string Relation, double Bound, bool ExpectHolds);
    readonly List<Row> _rows = new();

    /// <summary>Records that <paramref name="value"/> <paramref name="relation"/> <paramref name="bound"/> must hold (relation: "&lt;", "&lt;=", "&gt;", "&gt;=", "==").</summary>
    public SanityChecks Holds(string claim, double value, string relation, double bound)
    {
        _ = Compare(value, relation, bound);
        _rows.Add(new Row(claim, "hypothesis holds", value, relation, bound, true));
        return this;
    }

    /// <summary>Records that the same comparison must NOT hold on a case where the hypothesis is violated.</summary>
    public SanityChecks FailsWhen(string violatedHypothesis, string claim, double value, string relation, double bound)
    {
        _ = Compare(value, relation, bound);
        _rows.Add(new Row(claim, "violated: " + violatedHypothesis, value, relation, bound, false));
        return this;
    }

    /// <summary>Records a boolean claim (e.g. "patterns identical").</summary>
    public SanityChecks Holds(string claim, bool value) => Holds(claim, value ? 1 : 0, "==", 1);

    /// <summary>Records a boolean claim that must be false on a case violating the hypothesis.</summary>
    public SanityChecks FailsWhen(string violatedHypothesis, string claim, bool value) => FailsWhen(violatedHypothesis, claim, value ? 1 : 0, "==", 1);

    static bool Compare(double v, string rel, double b) => rel switch
    {
        "<" => v < b, "<=" => v <= b, ">" => v > b, ">=" => v >= b, "==" => v == b,
        _ => throw new ArgumentException($"Unknown relation '{rel}'; use <, <=, >, >= or ==.", nameof(rel)),
    };

    /// <summary>All checks as a table (claim, case, value, relation, bound, expected, ok).</summary>
    public DataFrame Table()
    {
        var ok = _rows.Select(r => Compare(r.Value, r.Relation, r.Bound) == r.ExpectHolds).ToArray();
        return new DataFrame(
            new StringDataFrameColumn("claim", _rows.Select(r => r.Claim)),
            new StringDataFrameColumn("case", _rows.Select(r => r.Case)),
            new DoubleDataFrameColumn("value", _rows.Select(r => r.Value)),
            new StringDataFrameColumn("relation", _rows.Select(r => r.Relation)),
            new DoubleDataFrameColumn("bound", _rows.Select(r => r.Bound)),
            new StringDataFrameColumn("expected", _rows.Select(r => r.ExpectHolds ? "holds" : "fails")),
            new BooleanDataFrameColumn("ok", ok));
    }

    /// <summary>Throws <see cref="SanityCheckException"/> listing every claim that did not behave as expected; otherwise returns <see cref="Table"/>.</summary>
    public DataFrame Verify()
    {
        if (_rows.Count == 0) throw new SanityCheckException("No sanity checks were recorded.");
        var bad = _rows.Where(r => Compare(r.Value, r.Relation, r.Bound) != r.ExpectHolds).ToList();
        if (bad.Count > 0)
            throw new SanityCheckException(string.Join(Environment.NewLine, bad.Select(r =>
                $"{(r.ExpectHolds ? "claim failed" : "counter-example passed")}: {r.Claim} [{r.Case}]: {r.Value:G6} {r.Relation} {r.Bound:G6} is {!r.ExpectHolds}")));
        return Table();
    }
}

/// <summary>A notebook's sanity check did not behave as expected.</summary>
public sealed class SanityCheckException(string message) : Exception(message);
