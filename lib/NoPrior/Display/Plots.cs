using NoPrior.Networks;
using Plotly.NET;
using static TorchSharp.torch;
using Chart = Plotly.NET.CSharp.Chart;
using Plotly.NET.CSharp;

namespace NoPrior.Display;

/// <summary>How a line is drawn: solid (the default), dashed, dotted or dash-dotted.</summary>
public enum LineStyle { Solid, Dash, Dot, DashDot }

/// <summary>
/// A named series of (x, y) points. Optional styling: <see cref="Style"/> (e.g. a dashed line for a reference curve)
/// and <see cref="Color"/> (any CSS colour). <c>new Series("truth", x, y).Dashed()</c> is the usual way to dash one.
/// </summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>Line style of this series in <see cref="Plots.Lines"/> (ignored by scatter charts).</summary>
    public LineStyle Style { get; init; } = LineStyle.Solid;

    /// <summary>A CSS colour (e.g. "black", "#d62728"); null lets Plotly pick the next colour of its cycle.</summary>
    public string? Color { get; init; }

    /// <summary>The same series drawn with a dashed line.</summary>
    public Series Dashed() => this with { Style = LineStyle.Dash };

    /// <summary>Two numeric columns of a table (e.g. a training log's "step" and "loss") as a series.</summary>
    public static Series FromColumns(Microsoft.Data.Analysis.DataFrame table, string x, string y, string? name = null) =>
        new(name ?? y, ColumnValues(table, x), ColumnValues(table, y));

    /// <summary>A numeric column as doubles; refuses missing columns and null entries by name.</summary>
    public static double[] ColumnValues(Microsoft.Data.Analysis.DataFrame table, string column)
    {
        if (!table.Columns.Any(c => c.Name == column))
            throw new ArgumentException($"The table has no column '{column}'; it has {string.Join(", ", table.Columns.Select(c => c.Name))}.", nameof(column));
        var col = table[column];
        var values = new double[col.Length];
        for (long i = 0; i < col.Length; i++)
            values[i] = col[i] is { } v ? Convert.ToDouble(v) : throw new ArgumentException($"Column '{column}' has a missing value at row {i}.", nameof(column));
        return values;
    }
}

/// <summary>
/// A horizontal or vertical line across the whole plot at a fixed value, labelled on the plot (e.g. the true training
/// set's loss, or an SSIM threshold of 0.4). Build one with <see cref="Horizontal"/> or <see cref="Vertical"/>.
/// </summary>
public sealed record ReferenceLine
{
    /// <summary>True for a vertical line at x = <see cref="Value"/>, false for a horizontal line at y = <see cref="Value"/>.</summary>
    public bool IsVertical { get; private init; }
    /// <summary>Where the line is, in data units of its axis (not log10 on log axes).</summary>
    public double Value { get; private init; }
    /// <summary>The text written next to the line.</summary>
    public string Label { get; private init; } = "";
    /// <summary>Dashed by default.</summary>
    public LineStyle Style { get; init; } = LineStyle.Dash;
    /// <summary>A CSS colour; black by default.</summary>
    public string Color { get; init; } = "black";

    /// <summary>A line y = <paramref name="y"/> across the plot's full width.</summary>
    public static ReferenceLine Horizontal(double y, string label) => new() { IsVertical = false, Value = Finite(y, nameof(y)), Label = label };

    /// <summary>A line x = <paramref name="x"/> across the plot's full height.</summary>
    public static ReferenceLine Vertical(double x, string label) => new() { IsVertical = true, Value = Finite(x, nameof(x)), Label = label };

    static double Finite(double v, string name) =>
        double.IsFinite(v) ? v : throw new ArgumentException($"A reference line needs a finite position, got {v}.", name);
}

/// <summary>
/// The workbook's charts (Plotly.NET). Every chart has a title and titled axes; notebooks call these instead of
/// assembling traces themselves. Charts render offline in the notebook host (plotly.js is embedded, never fetched).
/// </summary>
public static class Plots
{
    /// <summary>
    /// Line chart of several series (e.g. loss or normalised margin against steps). Series keep their
    /// <see cref="Series.Style"/> and <see cref="Series.Color"/>; <paramref name="lines"/> adds labelled reference lines.
    /// Log axes label their ticks as powers of ten.
    /// </summary>
    public static GenericChart Lines(string title, string xTitle, string yTitle, IEnumerable<Series> series, bool logX = false, bool logY = false, bool markers = false,
        IEnumerable<ReferenceLine>? lines = null)
    {
        var list = series.ToList();
        var chart = Chart.Combine(list.Select(s => Chart.Line<double, double, string>(s.X, s.Y, ShowMarkers: markers, Name: s.Name, LineDash: Dash(s.Style),
            LineColor: s.Color is null ? default(Optional<Color>) : Color.fromString(s.Color))));
        return WithReferenceLines(Styled(chart, title, xTitle, yTitle, logX, logY, list), lines, logX, logY);
    }

    /// <summary>Scatter chart of several series, with optional labelled reference lines.</summary>
    public static GenericChart Scatter(string title, string xTitle, string yTitle, IEnumerable<Series> series, bool logX = false, bool logY = false,
        IEnumerable<ReferenceLine>? lines = null)
    {
        var list = series.ToList();
        var chart = Chart.Combine(list.Select(s => Chart.Point<double, double, string>(s.X, s.Y, Name: s.Name,
            MarkerColor: s.Color is null ? default(Optional<Color>) : Color.fromString(s.Color))));
        return WithReferenceLines(Styled(chart, title, xTitle, yTitle, logX, logY, list), lines, logX, logY);
    }

    /// <summary>
    /// Overlaid histograms of several named samples on shared bins: <paramref name="bins"/> equal bins from the
    /// smallest to the largest value over all samples, so the bars of different samples line up and their counts
    /// compare. <paramref name="lines"/> adds labelled reference lines (e.g. a vertical threshold).
    /// </summary>
    public static GenericChart Histogram(string title, string xTitle, IEnumerable<(string Name, IReadOnlyList<double> Values)> samples, int bins = 30,
        IEnumerable<ReferenceLine>? lines = null)
    {
        if (bins < 1) throw new ArgumentOutOfRangeException(nameof(bins), bins, "A histogram needs at least one bin.");
        var list = samples.ToList();
        var shared = SharedBins(list.SelectMany(s => s.Values), bins);
        var chart = Chart.Combine(list.Select(s => Chart.Histogram<double, double, string>(X: s.Values.ToArray(), Name: s.Name, XBins: shared, Opacity: 0.6)));
        return WithReferenceLines(WithLayoutValue(Styled(chart, title, xTitle, "count", false, false, []), "barmode", "overlay"), lines, false, false);
    }

    /// <summary>
    /// The chart stretched to the width of the page or notebook cell (and resized with it), at the given height in pixels.
    /// </summary>
    public static GenericChart FullWidth(this GenericChart chart, int height = 450)
    {
        if (height < 50) throw new ArgumentOutOfRangeException(nameof(height), height, "A chart needs a height of at least 50 pixels.");
        var layout = GenericChart.getLayout(chart);
        layout.RemoveProperty("width");
        layout.SetProperty("autosize", true);
        layout.SetProperty("height", height);
        return GenericChart.setLayout(layout, chart);
    }

    /// <summary>Equal bins from the smallest to the largest finite value (a unit-wide bin around a single value).</summary>
    static Plotly.NET.TraceObjects.Bins SharedBins(IEnumerable<double> values, int bins)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values) if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo > hi) { lo = 0; hi = 1; }
        if (lo == hi) { lo -= 0.5; hi += 0.5; }
        double size = (hi - lo) / bins;
        var b = new Plotly.NET.TraceObjects.Bins();
        b.SetProperty("start", lo);
        b.SetProperty("end", hi + size / 2);   // the last bin closes at hi (plotly's bins are right-open)
        b.SetProperty("size", size);
        return b;
    }

    static StyleParam.DrawingStyle Dash(LineStyle style) => style switch
    {
        LineStyle.Solid => StyleParam.DrawingStyle.Solid,
        LineStyle.Dash => StyleParam.DrawingStyle.Dash,
        LineStyle.Dot => StyleParam.DrawingStyle.Dot,
        LineStyle.DashDot => StyleParam.DrawingStyle.DashDot,
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown line style."),
    };

    static string DashName(LineStyle style) => style switch
    {
        LineStyle.Solid => "solid", LineStyle.Dash => "dash", LineStyle.Dot => "dot", LineStyle.DashDot => "dashdot",
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown line style."),
    };

    /// <summary>
    /// Reference lines as layout shapes spanning the plot area (paper coordinates along the line) with a label at the
    /// right (horizontal) or top (vertical) end. Shapes take data units on log axes; annotations take log10.
    /// </summary>
    static GenericChart WithReferenceLines(GenericChart chart, IEnumerable<ReferenceLine>? lines, bool logX, bool logY)
    {
        var list = lines?.ToList() ?? [];
        if (list.Count == 0) return chart;
        var shapes = new List<Plotly.NET.LayoutObjects.Shape>();
        var notes = new List<Plotly.NET.LayoutObjects.Annotation>();
        foreach (var l in list)
        {
            bool log = l.IsVertical ? logX : logY;
            if (log && l.Value <= 0) throw new ArgumentException($"Reference line '{l.Label}' at {l.Value} cannot be drawn on a log axis.", nameof(lines));
            var shape = new Plotly.NET.LayoutObjects.Shape();
            var stroke = new Plotly.NET.Line();
            stroke.SetProperty("color", l.Color);
            stroke.SetProperty("width", 2.0);
            stroke.SetProperty("dash", DashName(l.Style));
            var note = new Plotly.NET.LayoutObjects.Annotation();
            double at = log ? Math.Log10(l.Value) : l.Value;
            var props = l.IsVertical
                ? new (string, object)[] { ("type", "line"), ("xref", "x"), ("x0", l.Value), ("x1", l.Value), ("yref", "paper"), ("y0", 0.0), ("y1", 1.0) }
                : new (string, object)[] { ("type", "line"), ("xref", "paper"), ("x0", 0.0), ("x1", 1.0), ("yref", "y"), ("y0", l.Value), ("y1", l.Value) };
            foreach (var (k, v) in props) shape.SetProperty(k, v);
            shape.SetProperty("line", stroke);
            shape.SetProperty("layer", "above");
            var text = l.IsVertical
                ? new (string, object)[] { ("xref", "x"), ("x", at), ("xanchor", "left"), ("yref", "paper"), ("y", 1.0), ("yanchor", "top") }
                : new (string, object)[] { ("xref", "paper"), ("x", 1.0), ("xanchor", "right"), ("yref", "y"), ("y", at), ("yanchor", "bottom") };
            foreach (var (k, v) in text) note.SetProperty(k, v);
            note.SetProperty("text", l.Label);
            note.SetProperty("showarrow", false);
            note.SetProperty("bgcolor", "rgba(255, 255, 255, 0.7)");
            shapes.Add(shape); notes.Add(note);
        }
        var layout = GenericChart.getLayout(chart);
        layout.SetProperty("shapes", shapes);
        layout.SetProperty("annotations", notes);
        return GenericChart.setLayout(layout, chart);
    }

    /// <summary>Planar labelled points coloured by label.</summary>
    public static GenericChart Points2D(LabelledSet data, string title = "the data")
    {
        if (data.Dim != 2) throw new ArgumentException($"Points2D needs two-dimensional points, got dimension {data.Dim}.");
        return Styled(Chart.Combine(PointsByLabel(data)), title, "x₁", "x₂", false, false).WithSize(600, 550);
    }

    /// <summary>
    /// A 2-D picture of a network on planar data: Φ(θ; x) as a filled contour, the decision boundary Φ = 0 and the
    /// margin levels Φ = ±q (q the minimum margin, so the lines pass through the support vectors of a converged
    /// network), the points coloured by label, and highlighted points (e.g. support vectors) ringed.
    /// </summary>
    public static GenericChart DecisionRegions2D(HomogeneousMlp net, LabelledSet data, IEnumerable<int>? highlight = null, string title = "Φ(θ; x) on the plane", int resolution = 150)
    {
        if (net.InputDim != 2 || data.Dim != 2) throw new ArgumentException("DecisionRegions2D needs a network and data in two dimensions.");
        var (xs, ys, grid) = Grid(data.X, resolution);
        using var phi = net.Forward(grid);
        var z = ToRows(phi, xs.Length, ys.Length);
        double q = Math.Abs(net.MinMargin(data.X, data.Y));
        var field = Chart.Contour<double, double, double, string>(z, X: xs, Y: ys, ShowScale: true, Opacity: 0.55, NContours: 30, Name: "Φ");
        // Level sets Φ = −q, 0, q traced as the grid's sign changes (linear interpolation along rows and columns):
        // exact on the grid and independent of Plotly's contour-line styling.
        var levels = new[] { (-q, "Φ = −q (margin)", "gray"), (0.0, "Φ = 0 (decision boundary)", "black"), (q, "Φ = +q (margin)", "gray") }
            .Select(l => { var (lx, ly) = LevelSet(z, xs, ys, l.Item1);
                return Chart.Point<double, double, string>(lx, ly, Name: l.Item2, MarkerColor: Color.fromString(l.Item3), MarkerSymbol: StyleParam.MarkerSymbol.Circle, Opacity: 0.8); });
        var charts = new List<GenericChart> { field };
        charts.AddRange(levels);
        charts.AddRange(PointsByLabel(data));
        if (highlight is not null)
        {
            var idx = highlight.ToArray();
            var px = Column(data.X, 0); var py = Column(data.X, 1);
            charts.Add(Chart.Point<double, double, string>(idx.Select(i => px[i]), idx.Select(i => py[i]), Name: "support vectors",
                MarkerSymbol: StyleParam.MarkerSymbol.X, MarkerColor: Color.fromString("black")));
        }
        return Styled(Chart.Combine(charts), title, "x₁", "x₂", false, false).WithSize(700, 600);
    }

    /// <summary>
    /// The activation regions of a network on the plane: each colour is one activation pattern A, a convex cone R_A
    /// on which Φ and ∇θΦ are linear in x (docs/theory.md). Optional point sets are drawn on top (e.g. before/after a merge).
    /// </summary>
    public static GenericChart ActivationRegions2D(HomogeneousMlp net, double extent, IEnumerable<(string Name, LabelledSet Points, string Symbol)>? layers = null, string title = "activation regions", int resolution = 200)
    {
        if (net.InputDim != 2) throw new ArgumentException("ActivationRegions2D needs a network on two-dimensional inputs.");
        var axis = Enumerable.Range(0, resolution).Select(i => -extent + 2 * extent * i / (resolution - 1)).ToArray();
        using var grid = GridOf(axis, axis);
        using var pattern = net.ActivationPattern(grid);
        // Hash each pattern to a region id, numbered in order of first appearance.
        using var p64 = pattern.to(ScalarType.Float64).contiguous();
        var bits = p64.data<double>().ToArray();
        int units = (int)pattern.shape[1];
        var ids = new Dictionary<string, int>();
        var z = new double[resolution][];
        for (int r = 0; r < resolution; r++)
        {
            z[r] = new double[resolution];
            for (int c = 0; c < resolution; c++)
            {
                int i = r * resolution + c;
                var key = string.Concat(Enumerable.Range(0, units).Select(u => bits[i * units + u] > 0 ? '1' : '0'));
                if (!ids.TryGetValue(key, out int id)) ids[key] = id = ids.Count;
                z[r][c] = id;
            }
        }
        var charts = new List<GenericChart> { Chart.Heatmap<double, double, double, string>(z, X: axis, Y: axis, ShowScale: false, Opacity: 0.45, Name: "region") };
        foreach (var (name, pts, symbol) in layers ?? Array.Empty<(string, LabelledSet, string)>())
        {
            var px = Column(pts.X, 0); var py = Column(pts.X, 1);
            var sym = symbol is "x" or "diamond" or "square" ? symbol : "circle";   // plotly.js symbol names
            // Large outlined markers: the region colours underneath must not hide the points.
            var marker = new Plotly.NET.TraceObjects.Marker();
            marker.SetProperty("size", 10);
            marker.SetProperty("symbol", sym);
            var outline = new Plotly.NET.Line();
            outline.SetProperty("color", "black");
            outline.SetProperty("width", 1.0);
            marker.SetProperty("line", outline);
            charts.Add(Chart.Point<double, double, string>(px, py, Name: name, Marker: marker));
        }
        return Styled(Chart.Combine(charts), $"{title} ({ids.Count} patterns in view)", "x₁", "x₂", false, false).WithSize(650, 600);
    }

    static IEnumerable<GenericChart> PointsByLabel(LabelledSet data)
    {
        var px = Column(data.X, 0); var py = Column(data.X, 1); var y = Column(data.Y.unsqueeze(1), 0);
        foreach (var label in new[] { 1.0, -1.0 })
        {
            var idx = Enumerable.Range(0, y.Length).Where(i => y[i] == label).ToArray();
            yield return Chart.Point<double, double, string>(idx.Select(i => px[i]), idx.Select(i => py[i]), Name: label > 0 ? "y = +1" : "y = −1",
                MarkerColor: Color.fromString(label > 0 ? "crimson" : "royalblue"));
        }
    }

    static (double[] Xs, double[] Ys, Tensor Grid) Grid(Tensor X, int resolution)
    {
        var c0 = Column(X, 0); var c1 = Column(X, 1);
        double pad0 = 0.15 * (c0.Max() - c0.Min() + 1e-9), pad1 = 0.15 * (c1.Max() - c1.Min() + 1e-9);
        var xs = Enumerable.Range(0, resolution).Select(i => c0.Min() - pad0 + (c0.Max() - c0.Min() + 2 * pad0) * i / (resolution - 1)).ToArray();
        var ys = Enumerable.Range(0, resolution).Select(i => c1.Min() - pad1 + (c1.Max() - c1.Min() + 2 * pad1) * i / (resolution - 1)).ToArray();
        return (xs, ys, GridOf(xs, ys));
    }

    /// <summary>Row-major grid: row r holds y = ys[r], column c holds x = xs[c].</summary>
    static Tensor GridOf(double[] xs, double[] ys)
    {
        var pts = new double[xs.Length * ys.Length * 2];
        for (int r = 0; r < ys.Length; r++)
            for (int c = 0; c < xs.Length; c++) { int i = r * xs.Length + c; pts[2 * i] = xs[c]; pts[2 * i + 1] = ys[r]; }
        return HostArrays.ToTensor(pts, new long[] { xs.Length * ys.Length, 2 });
    }

    static (List<double> X, List<double> Y) LevelSet(double[][] z, double[] xs, double[] ys, double level)
    {
        var px = new List<double>(); var py = new List<double>();
        for (int r = 0; r < ys.Length; r++)
            for (int c = 0; c < xs.Length; c++)
            {
                double a = z[r][c] - level;
                if (c + 1 < xs.Length) { double b = z[r][c + 1] - level; if (a * b < 0) { px.Add(xs[c] + (xs[c + 1] - xs[c]) * a / (a - b)); py.Add(ys[r]); } }
                if (r + 1 < ys.Length) { double b = z[r + 1][c] - level; if (a * b < 0) { px.Add(xs[c]); py.Add(ys[r] + (ys[r + 1] - ys[r]) * a / (a - b)); } }
            }
        return (px, py);
    }

    static double[][] ToRows(Tensor flat, int cols, int rows)
    {
        using var c = flat.to(ScalarType.Float64, CPU).contiguous();
        var v = c.data<double>().ToArray();
        return Enumerable.Range(0, rows).Select(r => v.Skip(r * cols).Take(cols).ToArray()).ToArray();
    }

    static double[] Column(Tensor X, int j) { using var c = X[.., j].to(ScalarType.Float64, CPU).contiguous(); return c.data<double>().ToArray(); }

    /// <summary>Sets one top-level layout attribute (Plotly.NET's F# layout API has no C# overloads for most of them).</summary>
    static GenericChart WithLayoutValue(GenericChart chart, string name, object value)
    {
        var layout = new Layout();
        layout.SetProperty(name, value);
        return Plotly.NET.Chart.withLayout(layout).Invoke(chart);
    }

    /// <summary>A horizontal legend under the plot, clear of colour bars.</summary>
    static GenericChart LegendBelow(GenericChart chart)
    {
        var legend = new Plotly.NET.LayoutObjects.Legend();
        foreach (var (k, v) in new (string, object)[] { ("orientation", "h"), ("y", -0.18), ("x", 0.0) }) legend.SetProperty(k, v);
        return WithLayoutValue(chart, "legend", legend);
    }

    static GenericChart Styled(GenericChart chart, string title, string xTitle, string yTitle, bool logX, bool logY, IReadOnlyList<Series>? series = null)
    {
        var styled = LegendBelow(Plotly.NET.Chart.withTitle(title, null).Invoke(chart))
             .WithXAxisStyle<double, double, string>(TitleText: xTitle, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
             .WithYAxisStyle<double, double, string>(TitleText: yTitle, AxisType: logY ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear);
        if (!logX && !logY) return styled;
        var layout = GenericChart.getLayout(styled);
        if (logX) PowerTicks(layout, "xaxis", series?.SelectMany(s => s.X));
        if (logY) PowerTicks(layout, "yaxis", series?.SelectMany(s => s.Y));
        return GenericChart.setLayout(layout, styled);
    }

    /// <summary>
    /// Log-axis ticks labelled 1, 10, 10², 10³, … (and 10⁻¹, …): one tick per decade when the data span at least one
    /// decade; within a single decade Plotly's own sub-decade ticks stay, still in power notation.
    /// </summary>
    static void PowerTicks(Layout layout, string axisName, IEnumerable<double>? values)
    {
        if (layout.TryGetTypedPropertyValue<DynamicObj.DynamicObj>(axisName) is not { } some || some.Value is not { } axis) return;
        axis.SetProperty("exponentformat", "power");
        axis.SetProperty("showexponent", "all");
        var positive = values?.Where(v => v > 0 && double.IsFinite(v)).ToList();
        if (positive is { Count: > 0 } && Math.Log10(positive.Max()) - Math.Log10(positive.Min()) >= 1) axis.SetProperty("dtick", 1);
    }
}
