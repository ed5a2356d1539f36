using NoPrior.Networks;
using Plotly.NET;
using static TorchSharp.torch;
using Chart = Plotly.NET.CSharp.Chart;
using Plotly.NET.CSharp;

namespace NoPrior.Display;

/// <summary>A named series of (x, y) points.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
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
/// The workbook's charts (Plotly.NET). Every chart has a title and titled axes; notebooks call these instead of
/// assembling traces themselves. Charts render offline in the notebook host (plotly.js is embedded, never fetched).
/// </summary>
public static class Plots
{
    /// <summary>Line chart of several series (e.g. loss or normalised margin against steps).</summary>
    public static GenericChart Lines(string title, string xTitle, string yTitle, IEnumerable<Series> series, bool logX = false, bool logY = false, bool markers = false) =>
        Styled(Chart.Combine(series.Select(s => Chart.Line<double, double, string>(s.X, s.Y, ShowMarkers: markers, Name: s.Name))), title, xTitle, yTitle, logX, logY);

    /// <summary>Scatter chart of several series.</summary>
    public static GenericChart Scatter(string title, string xTitle, string yTitle, IEnumerable<Series> series, bool logX = false, bool logY = false) =>
        Styled(Chart.Combine(series.Select(s => Chart.Point<double, double, string>(s.X, s.Y, Name: s.Name))), title, xTitle, yTitle, logX, logY);

    /// <summary>Overlaid histograms of several named samples.</summary>
    public static GenericChart Histogram(string title, string xTitle, IEnumerable<(string Name, IReadOnlyList<double> Values)> samples, int bins = 30) =>
        WithLayoutValue(Styled(Chart.Combine(samples.Select(s => Chart.Histogram<double, double, string>(X: s.Values.ToArray(), Name: s.Name, NBinsX: bins, Opacity: 0.6))),
            title, xTitle, "count", false, false), "barmode", "overlay");

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
    /// on which Φ and ∇θΦ are linear in x (PAPER §1). Optional point sets are drawn on top (e.g. before/after a merge).
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
        return torch.tensor(pts, new long[] { xs.Length * ys.Length, 2 }, ScalarType.Float64);
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

    static GenericChart Styled(GenericChart chart, string title, string xTitle, string yTitle, bool logX, bool logY) =>
        LegendBelow(Plotly.NET.Chart.withTitle(title, null).Invoke(chart))
             .WithXAxisStyle<double, double, string>(TitleText: xTitle, AxisType: logX ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear)
             .WithYAxisStyle<double, double, string>(TitleText: yTitle, AxisType: logY ? StyleParam.AxisType.Log : StyleParam.AxisType.Linear);
}
