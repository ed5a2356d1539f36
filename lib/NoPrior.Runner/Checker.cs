using System.Text.Json.Nodes;

namespace NoPrior.Runner;

/// <summary>The "clean notebook" rules for committed notebooks (nbdev-style): no outputs, the C# kernel metadata, a
/// parameters cell, and a markdown cell before every code cell.</summary>
public static class Checker
{
    /// <summary>Problems found in one notebook, each a sentence naming the cell; empty when clean.</summary>
    public static IReadOnlyList<string> Check(string path)
    {
        var problems = new List<string>();
        JsonObject nb;
        try { nb = Ipynb.Load(path); }
        catch (InvalidDataException e) { return [e.Message]; }

        var meta = nb["metadata"];
        Expect(problems, (string?)meta?["kernelspec"]?["name"], ".net-csharp", "metadata.kernelspec.name");
        Expect(problems, (string?)meta?["kernelspec"]?["language"], "C#", "metadata.kernelspec.language");
        Expect(problems, (string?)meta?["language_info"]?["name"], "C#", "metadata.language_info.name");

        var cells = Ipynb.Cells(nb);
        bool hasParameters = false;
        for (int i = 0; i < cells.Count; i++)
        {
            var cell = cells[i]!;
            string where = $"cell {i + 1}";
            if (Ipynb.CellType(cell) != "code") continue;
            if (cell["outputs"] is JsonArray { Count: > 0 } outs) problems.Add($"{where} has {outs.Count} output(s); commit notebooks without outputs.");
            if (cell["execution_count"] is JsonValue) problems.Add($"{where} has an execution_count; clear it before committing.");
            if (Ipynb.Tags(cell).Contains(Parameters.Tag)) hasParameters = true;
            if (Ipynb.Tags(cell).Contains(Parameters.InjectedTag)) problems.Add($"{where} is an injected-parameters cell from an executed copy.");
            if (i == 0 || Ipynb.CellType(cells[i - 1]!) != "markdown") problems.Add($"{where} is a code cell not preceded by a markdown cell.");
        }
        if (!hasParameters) problems.Add($"no code cell is tagged '{Parameters.Tag}' (metadata.tags).");
        return problems;
    }

    static void Expect(List<string> problems, string? actual, string expected, string field)
    {
        if (actual != expected) problems.Add($"{field} is {(actual is null ? "missing" : $"\"{actual}\"")}; expected \"{expected}\".");
    }
}
