using System.Text.RegularExpressions;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.IO;

public static partial class Safetensors
{
    static readonly Regex LayerKey = new(@"^layers\.(\d+)\.(weight|bias)$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Saves a <see cref="HomogeneousMlp"/> in PyTorch's layout: tensor <c>layers.{k}.weight</c> with shape [out, in] for
    /// layer k = 0 (input side) … L−1, in the network's dtype (float64 by default); metadata <c>format</c> =
    /// <c>NoPrior.HomogeneousMlp</c> and <c>widths</c> = "d,h_1,…,1" plus any <paramref name="metadata"/>.
    /// </summary>
    /// <remarks>
    /// Loading in PyTorch: <c>sd = safetensors.torch.load_file(path)</c>. For a module whose bias-free
    /// <c>nn.Linear</c> layers sit in <c>self.layers = nn.ModuleList([...])</c> the keys match as they are:
    /// <c>model.load_state_dict(sd)</c>. For <c>nn.Sequential(nn.Linear(d, h, bias=False), nn.ReLU(), …,
    /// nn.Linear(h, 1, bias=False))</c> the state-dict keys are <c>"0.weight", "2.weight", …</c> (the ReLUs take the odd
    /// indices), so map them: <c>seq.load_state_dict({f"{2*k}.weight": sd[f"layers.{k}.weight"] for k in range(L)})</c>
    /// and use <c>seq.double()</c> for float64. The reverse mapping saves such a model for <see cref="LoadNetwork"/>.
    /// </remarks>
    public static void SaveNetwork(string path, HomogeneousMlp net, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        var tensors = new Dictionary<string, Tensor>();
        for (int k = 0; k < net.Depth; k++) tensors[$"layers.{k}.weight"] = net.Weights[k];
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>())
        {
            ["format"] = "NoPrior.HomogeneousMlp",
            ["widths"] = string.Join(",", net.Widths),
        };
        Save(path, tensors, meta);
    }

    /// <summary>
    /// Loads a network saved by <see cref="SaveNetwork"/> or by PyTorch with keys <c>layers.{k}.weight</c>
    /// (shape [out, in], k = 0 … L−1 from the input side). A <c>layers.{k}.bias</c> is passed to
    /// <see cref="HomogeneousMlp.FromLayers"/>, which refuses it (non-homogeneous network). Other tensor names, a missing
    /// layer index, non-matrix weights, chained shapes that do not fit, or widths different from
    /// <paramref name="expectedWidths"/> give an <see cref="InvalidDataException"/> naming the file and the tensor.
    /// Weights are cast to <paramref name="dtype"/> (float64 by default) and moved to <paramref name="device"/> (CPU by default).
    /// </summary>
    public static HomogeneousMlp LoadNetwork(string path, int[]? expectedWidths = null, Device? device = null, ScalarType dtype = ScalarType.Float64)
    {
        using var content = Load(path);
        var weights = new SortedDictionary<int, Tensor>();
        var biases = new SortedDictionary<int, Tensor>();
        var unexpected = new List<string>();
        foreach (var (name, t) in content.Tensors)
        {
            var m = LayerKey.Match(name);
            if (!m.Success || !int.TryParse(m.Groups[1].Value, out int k)) { unexpected.Add(name); continue; }
            (m.Groups[2].Value == "weight" ? weights : biases)[k] = t;
        }
        if (unexpected.Count > 0)
            throw new InvalidDataException($"'{path}': unexpected tensors [{string.Join(", ", unexpected.Order(StringComparer.Ordinal))}]; a network file holds only layers.{{k}}.weight (k = 0 input side). A PyTorch nn.Sequential's '0.weight', '2.weight', … must be renamed to layers.0.weight, layers.1.weight, ….");
        if (weights.Count == 0) throw new InvalidDataException($"'{path}': no layers.{{k}}.weight tensors; this is not a network file.");
        int depth = weights.Keys.Max() + 1;
        for (int k = 0; k < depth; k++)
            if (!weights.ContainsKey(k)) throw new InvalidDataException($"'{path}': missing layers.{k}.weight (the file has layers [{string.Join(", ", weights.Keys)}]).");
        foreach (int k in biases.Keys)
            if (k >= depth) throw new InvalidDataException($"'{path}': layers.{k}.bias has no matching layers.{k}.weight.");
        for (int k = 0; k < depth; k++)
        {
            var w = weights[k];
            if (w.dim() != 2) throw new InvalidDataException($"'{path}': layers.{k}.weight must be a matrix [out, in], has shape [{string.Join(", ", w.shape)}].");
            if (!w.is_floating_point()) throw new InvalidDataException($"'{path}': layers.{k}.weight must be floating point, is {w.dtype}.");
            if (k > 0 && w.shape[1] != weights[k - 1].shape[0])
                throw new InvalidDataException($"'{path}': layers.{k}.weight has shape [{string.Join(", ", w.shape)}] ({w.shape[1]} inputs) but layers.{k - 1}.weight has {weights[k - 1].shape[0]} outputs.");
        }
        if (weights[depth - 1].shape[0] != 1)
            throw new InvalidDataException($"'{path}': the last layer layers.{depth - 1}.weight must have one output (scalar Φ), has shape [{string.Join(", ", weights[depth - 1].shape)}].");

        var converted = new List<Tensor>();
        try
        {
            var layers = new List<(Tensor Weight, Tensor? Bias)>();
            for (int k = 0; k < depth; k++)
            {
                var w = weights[k].to(dtype, device ?? CPU);
                converted.Add(w);
                layers.Add((w, biases.TryGetValue(k, out var b) ? b : null));
            }
            // FromLayers is the single place that refuses a bias (non-homogeneous network).
            var net = HomogeneousMlp.FromLayers(layers);
            if (expectedWidths is not null && !net.Widths.SequenceEqual(expectedWidths))
            {
                var widths = net.Widths;
                net.Dispose();
                throw new InvalidDataException($"'{path}': the network has widths [{string.Join(", ", widths)}], expected [{string.Join(", ", expectedWidths)}].");
            }
            return net;
        }
        finally { foreach (var t in converted) t.Dispose(); }
    }

    /// <summary>
    /// Saves a <see cref="LabelledSet"/>: <c>x</c> [m, d], <c>y</c> [m] with entries ±1 and, if present, <c>lambda</c>
    /// [m], in the set's dtype (float64 by default); metadata <c>format</c> = <c>NoPrior.LabelledSet</c> plus any
    /// <paramref name="metadata"/>. In Python: <c>s = load_file(path); X, y = s["x"], s["y"]; lam = s.get("lambda")</c>.
    /// </summary>
    public static void SaveSet(string path, LabelledSet set, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        var tensors = new Dictionary<string, Tensor> { ["x"] = set.X, ["y"] = set.Y };
        if (set.Lambda is not null) tensors["lambda"] = set.Lambda;
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["format"] = "NoPrior.LabelledSet" };
        Save(path, tensors, meta);
    }

    /// <summary>Loads a set saved by <see cref="SaveSet"/> (or any file with <c>x</c> [m, d], <c>y</c> [m] ±1 and
    /// optional <c>lambda</c> [m]; y may be stored as an integer type). Other tensor names or invalid shapes/labels give
    /// an <see cref="InvalidDataException"/> naming the file. Tensors keep x's floating dtype and go to <paramref name="device"/>.</summary>
    public static LabelledSet LoadSet(string path, Device? device = null)
    {
        using var content = Load(path);
        var unexpected = content.Tensors.Keys.Where(k => k is not ("x" or "y" or "lambda")).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0) throw new InvalidDataException($"'{path}': unexpected tensors [{string.Join(", ", unexpected)}]; a labelled set holds x, y and optionally lambda.");
        foreach (var required in new[] { "x", "y" })
            if (!content.Tensors.ContainsKey(required)) throw new InvalidDataException($"'{path}': missing tensor '{required}'; a labelled set holds x [m, d], y [m] and optionally lambda [m].");
        var x = content["x"];
        if (!x.is_floating_point()) throw new InvalidDataException($"'{path}': x must be floating point, is {x.dtype}.");
        try
        {
            using var xd = x.to(device ?? CPU);
            using var yd = content["y"].to(x.dtype, device ?? CPU);
            using var ld = content.Tensors.TryGetValue("lambda", out var l) ? l.to(x.dtype, device ?? CPU) : null;
            return new LabelledSet(xd, yd, ld);
        }
        catch (ArgumentException e) { throw new InvalidDataException($"'{path}': {e.Message}", e); }
    }
}
