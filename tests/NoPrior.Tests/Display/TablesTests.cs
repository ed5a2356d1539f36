using Microsoft.Data.Analysis;
using NoPrior.Display;

namespace NoPrior.Tests;

public class TablesTests
{
    [Fact]
    public void Rows_of_anonymous_objects_become_typed_columns_in_declaration_order()
    {
        var rows = new[] { 10.0, 100.0 }.Select((r, k) => new { r, count = k + 1, ok = r > 50, name = $"S_{r}" });
        var df = Tables.FromRows(rows);
        Assert.Equal(new[] { "r", "count", "ok", "name" }, df.Columns.Select(c => c.Name));
        Assert.Equal(2, df.Rows.Count);
        Assert.IsType<DoubleDataFrameColumn>(df["r"]);
        Assert.IsType<DoubleDataFrameColumn>(df["count"]);
        Assert.IsType<BooleanDataFrameColumn>(df["ok"]);
        Assert.IsType<StringDataFrameColumn>(df["name"]);
        Assert.Equal(100.0, df["r"][1]);
        Assert.Equal(2.0, df["count"][1]);
        Assert.Equal(false, df["ok"][0]);
        Assert.Equal("S_100", df["name"][1]);
    }

    [Fact]
    public void An_empty_sequence_gives_the_columns_with_no_rows_and_a_type_without_properties_is_refused()
    {
        var df = Tables.FromRows(Array.Empty<(double A, int B)>().Select(t => new { t.A, t.B }));
        Assert.Equal(2, df.Columns.Count);
        Assert.Equal(0, df.Rows.Count);
        Assert.Throws<ArgumentException>(() => Tables.FromRows(new[] { new object() }));
    }
}
