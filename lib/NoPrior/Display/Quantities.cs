using System.Globalization;
using Microsoft.Data.Analysis;

namespace NoPrior.Display;

/// <summary>Named key figures of a notebook cell (a measured change, a count, a flag) as a two-column table, so a cell can
/// end with a readable value instead of a tuple without names.</summary>
public static class Quantities
{
    /// <summary>A table with columns "quantity" and "value"; numbers are shown with 6 significant digits.</summary>
    public static DataFrame Table(params (string Name, object? Value)[] rows) =>
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
