using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NoPrior.Notebooks;

namespace NoPrior.Runner;

/// <summary>Reading and writing Jupyter notebooks (nbformat 4) as JSON trees, and converting engine outputs to nbformat outputs.</summary>
public static partial class Ipynb
{
    /// <summary>Loads a notebook; the message names the file when it is not a notebook.</summary>
    public static JsonObject Load(string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not valid JSON: {e.Message}"); }
        if (node is not JsonObject nb || nb["cells"] is not JsonArray)
            throw new InvalidDataException($"{path} is not a Jupyter notebook (no \"cells\" array).");
        return nb;
    }

    /// <summary>Writes a notebook with one-space indentation and a trailing newline, as Jupyter does.</summary>
    public static void Save(JsonObject notebook, string path)
    {
        var json = notebook.ToJsonString(new JsonSerializerOptions { WriteIndented = true, IndentSize = 1, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        AtomicFile.WriteAllText(path, json + "\n");
    }

    /// <summary>The cells array.</summary>
    public static JsonArray Cells(JsonObject nb) => (JsonArray)nb["cells"]!;

    /// <summary>A cell's type: "code", "markdown" or "raw".</summary>
    public static string CellType(JsonNode cell) => (string?)cell["cell_type"] ?? "";

    /// <summary>A cell's source as one string (nbformat allows a string or a list of lines).</summary>
    public static string Source(JsonNode cell) => cell["source"] switch
    {
        JsonArray lines => string.Concat(lines.Select(l => (string?)l)),
        JsonValue v => (string?)v ?? "",
        _ => "",
    };

    /// <summary>Source text as nbformat's list of lines, each but the last keeping its newline.</summary>
    public static JsonArray SourceLines(string text)
    {
        var arr = new JsonArray();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
            if (text[i] == '\n') { arr.Add(text[start..(i + 1)]); start = i + 1; }
        if (start < text.Length) arr.Add(text[start..]);
        return arr;
    }

    /// <summary>The tags in a cell's metadata.</summary>
    public static IReadOnlyList<string> Tags(JsonNode cell) =>
        cell["metadata"]?["tags"] is JsonArray tags ? tags.Select(t => (string?)t ?? "").ToList() : [];

    /// <summary>
    /// A copy ready to receive outputs: nbformat 4.5, every cell with a valid unique id (existing ones kept), code
    /// cells without outputs or execution counts.
    /// </summary>
    public static JsonObject PrepareExecutedCopy(JsonObject source)
    {
        var nb = (JsonObject)source.DeepClone();
        nb["nbformat"] = 4;
        nb["nbformat_minor"] = 5;
        var used = new HashSet<string>();
        var cells = Cells(nb);
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = (JsonObject)cells[i]!;
            string? id = (string?)cell["id"];
            if (id is null || !ValidId().IsMatch(id) || !used.Add(id))
            {
                int k = i + 1;
                do id = $"cell-{k++}"; while (!used.Add(id));
                cell["id"] = id;
            }
            cell["metadata"] ??= new JsonObject();
            if (CellType(cell) == "code") { cell["outputs"] = new JsonArray(); cell["execution_count"] = null; }
        }
        return nb;
    }

    [GeneratedRegex("^[a-zA-Z0-9-_]{1,64}$")]
    private static partial Regex ValidId();

    /// <summary>
    /// Appends a cell's outputs to its nbformat outputs. Stream chunks merge, display updates replace the data of the
    /// display they name (wherever it is in the notebook, as nbclient does), the rest map one to one.
    /// </summary>
    public static void AddOutputs(JsonObject cell, IEnumerable<CellOutput> outputs, IDictionary<string, JsonObject> displays)
    {
        var arr = (JsonArray)cell["outputs"]!;
        foreach (var o in outputs)
        {
            switch (o.Kind)
            {
                case OutputKind.Stdout or OutputKind.Stderr:
                    string name = o.Kind == OutputKind.Stdout ? "stdout" : "stderr";
                    if (arr.Count > 0 && arr[^1] is JsonObject last && (string?)last["output_type"] == "stream" && (string?)last["name"] == name)
                        last["text"] = (string?)last["text"] + o.Text;
                    else arr.Add(new JsonObject { ["output_type"] = "stream", ["name"] = name, ["text"] = o.Text });
                    break;
                case OutputKind.DisplayData:
                    var display = new JsonObject { ["output_type"] = "display_data", ["data"] = Bundle(o), ["metadata"] = new JsonObject() };
                    arr.Add(display);
                    if (o.DisplayId is not null) displays[o.DisplayId] = display;
                    break;
                case OutputKind.UpdateDisplayData:
                    if (o.DisplayId is not null && displays.TryGetValue(o.DisplayId, out var target)) target["data"] = Bundle(o);
                    break;
                case OutputKind.ExecuteResult:
                    arr.Add(new JsonObject { ["output_type"] = "execute_result", ["data"] = Bundle(o), ["metadata"] = new JsonObject(), ["execution_count"] = o.CellNumber });
                    break;
                case OutputKind.Error:
                    arr.Add(ErrorOutput(o.ErrorName ?? "Error", o.ErrorValue ?? "", o.Traceback ?? []));
                    break;
            }
        }
    }

    /// <summary>An nbformat error output.</summary>
    public static JsonObject ErrorOutput(string name, string value, IEnumerable<string> traceback) => new()
    {
        ["output_type"] = "error", ["ename"] = name, ["evalue"] = value,
        ["traceback"] = new JsonArray(traceback.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
    };

    static JsonObject Bundle(CellOutput o)
    {
        var data = new JsonObject();
        foreach (var (mime, text) in o.Data ?? new Dictionary<string, string>()) data[mime] = text;
        return data;
    }
}
