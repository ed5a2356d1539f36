using System.Globalization;
using System.Reflection;
using Microsoft.Data.Analysis;

namespace NoPrior.Display;

/// <summary>Tables for notebooks: one row per object, one column per public property (e.g. anonymous objects).</summary>
public static class Tables
{
    /// <summary>
    /// A <see cref="DataFrame"/> with one row per element of <paramref name="rows"/> and one column per public instance
    /// property of <typeparamref name="T"/>, in declaration order: numbers become double columns, booleans boolean
    /// columns, everything else its string form. Lets a notebook write <c>Tables.FromRows(xs.Select(x =&gt; new { … }))</c>
    /// and get a real table instead of a list of collapsed objects.
    /// </summary>
    public static DataFrame FromRows<T>(IEnumerable<T> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var list = rows.ToList();
        var props = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0).ToArray();
        if (props.Length == 0) throw new ArgumentException($"{typeof(T).Name} has no public properties to make columns of.", nameof(rows));
        var columns = new List<DataFrameColumn>();
        foreach (var p in props)
        {
            var type = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            var values = list.Select(r => p.GetValue(r)).ToList();
            if (type == typeof(bool))
                columns.Add(new BooleanDataFrameColumn(p.Name, values.Select(v => (bool?)v)));
            else if (IsNumber(type))
                columns.Add(new DoubleDataFrameColumn(p.Name, values.Select(v => v is null ? (double?)null : Convert.ToDouble(v))));
            else
                columns.Add(new StringDataFrameColumn(p.Name, values.Select(v => v?.ToString())));
        }
        return new DataFrame(columns);
    }

    static bool IsNumber(Type t) => t == typeof(double) || t == typeof(float) || t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(decimal);

    /// <summary>Named key figures of a cell (a measured change, a count, a flag) as a two-column table with columns
    /// "quantity" and "value" (numbers with 6 significant digits), so a cell ends with a readable value, not a nameless tuple.</summary>
    public static DataFrame Quantities(params (string Name, object? Value)[] rows) =>
        new(new StringDataFrameColumn("quantity", rows.Select(r => r.Name)),
            new StringDataFrameColumn("value", rows.Select(r => Format(r.Value))));

    static string Format(object? v) => v switch
    {
        null => "",
        double d => d.ToString("G6", CultureInfo.InvariantCulture),
        float f => f.ToString("G6", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
