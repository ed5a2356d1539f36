using System.Text.Json.Nodes;
using NoPrior.Display;
using Plotly.NET;

namespace NoPrior.Tests;

/// <summary>The chart JSON that plotly.js receives: dashes, reference lines, shared bins, full width, log ticks.</summary>
public class PlotsTests
{
    static JsonObject Json(GenericChart chart) => JsonNode.Parse(GenericChart.toJson(chart))!.AsObject();
    static JsonArray Traces(GenericChart chart) => Json(chart)["data"]!.AsArray();
    static JsonObject Layout(GenericChart chart) => Json(chart)["layout"]!.AsObject();

    static readonly double[] Steps = [1, 10, 100, 1000];

    [Fact]
    public void A_dashed_series_is_drawn_dashed_and_the_others_solid()
    {
        var chart = Plots.Lines("loss", "step", "loss", [
            new Series("attack", Steps, [5, 3, 2, 1]),
            new Series("the truth's loss", Steps, [1.5, 1.5, 1.5, 1.5]).Dashed() with { Color = "black" }]);
        var traces = Traces(chart);
        Assert.Equal("solid", (string?)traces[0]!["line"]!["dash"]);
        Assert.Equal("dash", (string?)traces[1]!["line"]!["dash"]);
        Assert.Equal("black", (string?)traces[1]!["line"]!["color"]);
        Assert.Equal("the truth's loss", (string?)traces[1]!["name"]);
    }

    [Fact]
    public void Reference_lines_span_the_plot_dashed_with_their_label()
    {
        var chart = Plots.Scatter("SSIM", "candidate", "SSIM", [new Series("SSIM", [0, 1, 2], [0.2, 0.5, 0.9])],
            lines: [ReferenceLine.Horizontal(0.4, "threshold 0.4"), ReferenceLine.Vertical(1.5, "k") with { Style = LineStyle.Dot, Color = "red" }]);
        var layout = Layout(chart);
        var shapes = layout["shapes"]!.AsArray();
        Assert.Equal(2, shapes.Count);
        var h = shapes[0]!;
        Assert.Equal(("line", "paper", 0.0, 1.0, "y", 0.4, 0.4),
            ((string?)h["type"], (string?)h["xref"], (double)h["x0"]!, (double)h["x1"]!, (string?)h["yref"], (double)h["y0"]!, (double)h["y1"]!));
        Assert.Equal("dash", (string?)h["line"]!["dash"]);
        var v = shapes[1]!;
        Assert.Equal(("x", 1.5, 1.5, "paper", 0.0, 1.0), ((string?)v["xref"], (double)v["x0"]!, (double)v["x1"]!, (string?)v["yref"], (double)v["y0"]!, (double)v["y1"]!));
        Assert.Equal(("dot", "red"), ((string?)v["line"]!["dash"], (string?)v["line"]!["color"]));
        var notes = layout["annotations"]!.AsArray();
        Assert.Equal(new[] { "threshold 0.4", "k" }, notes.Select(n => (string)n!["text"]!).ToArray());
        Assert.Equal(0.4, (double)notes[0]!["y"]!);
    }

    [Fact]
    public void On_a_log_axis_the_label_sits_at_log10_of_the_value_and_a_non_positive_line_is_refused()
    {
        var series = new[] { new Series("loss", Steps, [100, 10, 1, 0.1]) };
        var layout = Layout(Plots.Lines("loss", "step", "loss", series, logY: true, lines: [ReferenceLine.Horizontal(0.5, "truth")]));
        Assert.Equal(0.5, (double)layout["shapes"]![0]!["y0"]!);                        // shapes: data units
        Assert.Equal(Math.Log10(0.5), (double)layout["annotations"]![0]!["y"]!, 1e-15);  // annotations: log10
        var e = Assert.Throws<ArgumentException>(() => Plots.Lines("loss", "step", "loss", series, logY: true, lines: [ReferenceLine.Horizontal(0, "zero")]));
        Assert.Contains("'zero'", e.Message);
        Assert.Contains("log axis", e.Message);
        Assert.Throws<ArgumentException>(() => ReferenceLine.Vertical(double.NaN, "nan"));
    }

    [Fact]
    public void Overlaid_histograms_share_one_set_of_bins_covering_every_sample()
    {
        var a = new double[] { 0.1, 0.2, 0.25, 0.3 };
        var b = new double[] { 0.5, 0.7, 0.9 };
        var chart = Plots.Histogram("SSIM", "SSIM", [("prior off", a), ("prior on", b)], bins: 8, lines: [ReferenceLine.Vertical(0.4, "0.4")]);
        var traces = Traces(chart);
        Assert.Equal(2, traces.Count);
        var bins = traces.Select(t => t!["xbins"]!.ToJsonString()).Distinct().ToList();
        Assert.Single(bins);                                     // the same bins for every sample
        var x = traces[0]!["xbins"]!;
        Assert.Equal(0.1, (double)x["start"]!, 1e-15);
        Assert.Equal(0.1, (double)x["size"]!, 1e-15);           // (0.9 − 0.1) / 8
        Assert.True((double)x["end"]! > 0.9);                    // the largest value falls in the last bin
        Assert.Null(traces[0]!["nbinsx"]);                       // no per-trace automatic binning left
        var layout = Layout(chart);
        Assert.Equal("overlay", (string?)layout["barmode"]);
        Assert.Equal("x", (string?)layout["shapes"]![0]!["xref"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Plots.Histogram("h", "x", [("a", a)], bins: 0));
    }

    [Fact]
    public void Full_width_drops_the_fixed_width_and_keeps_the_height()
    {
        var chart = Plots.Lines("l", "x", "y", [new Series("a", [0, 1], [0, 1])]);
        Assert.Equal(600, (int)Layout(chart)["width"]!);
        var wide = Layout(chart.FullWidth(420));
        Assert.Null(wide["width"]);
        Assert.Equal(420, (int)wide["height"]!);
        Assert.True((bool)wide["autosize"]!);
    }

    [Fact]
    public void Log_axes_label_ticks_as_powers_of_ten_one_per_decade_over_a_decade_or_more()
    {
        var layout = Layout(Plots.Lines("l", "step", "loss", [new Series("a", Steps, [1e-3, 1e-1, 10, 1e3])], logX: true, logY: true));
        foreach (var axis in new[] { "xaxis", "yaxis" })
        {
            Assert.Equal("log", (string?)layout[axis]!["type"]);
            Assert.Equal("power", (string?)layout[axis]!["exponentformat"]);
            Assert.Equal(1, (int)layout[axis]!["dtick"]!);
        }
        var oneDecade = Layout(Plots.Lines("l", "step", "loss", [new Series("a", [1, 2], [0.5, 30])], logY: true));
        Assert.Equal(1, (int)oneDecade["yaxis"]!["dtick"]!);     // 0.5 … 30: ticks at 1 and 10 only, no 2, 3, 5 …
        var narrow = Layout(Plots.Lines("l", "step", "loss", [new Series("a", [1, 2], [2, 5])], logY: true));
        Assert.Equal("power", (string?)narrow["yaxis"]!["exponentformat"]);
        Assert.Null(narrow["yaxis"]!["dtick"]);                  // within one decade: Plotly's sub-decade ticks
        Assert.Null(narrow["xaxis"]!["exponentformat"]);         // linear axes unchanged
    }
}
