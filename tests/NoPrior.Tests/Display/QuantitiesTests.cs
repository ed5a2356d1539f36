using static TorchSharp.torch;

namespace NoPrior.Tests;

public class QuantitiesTests
{
    [Fact]
    public void Table_names_every_value()
    {
        var df = NoPrior.Display.Tables.Quantities(("a", 1.0 / 3), ("n", 40), ("ok", true));
        Assert.Equal(3, df.Rows.Count);
        Assert.Equal("0.333333", df["value"][0]);
        Assert.Equal("40", df["value"][1]);
        Assert.Equal("True", df["value"][2]);
        Assert.Equal("ok", df["quantity"][2]);
    }
}
