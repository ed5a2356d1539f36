using System.Text;
using System.Text.RegularExpressions;

namespace NoPrior.Runner;

/// <summary>
/// Jupyter's treatment of math in markdown cells, so a page renders a cell as Jupyter does: before the markdown
/// parser runs, every math span (<c>$…$</c>, <c>$$…$$</c>, <c>\\(…\\)</c>, <c>\\[…\\]</c>,
/// <c>\begin{env}…\end{env}</c>, braces balanced, never across a blank line, never inside code spans or fences) is
/// replaced by a placeholder <c>@@n@@</c> and put back, HTML-escaped, into the parser's HTML.
/// A port of <c>removeMath</c>/<c>replaceMath</c> in JupyterLab's <c>@jupyterlab/rendermime</c> (latex.ts,
/// BSD-3-Clause, © Jupyter Development Team), itself from the classic notebook's mathjaxutils.js.
/// </summary>
public static partial class JupyterMath
{
    // Math delimiters and the symbols that matter while scanning math (as JupyterLab's MATHSPLIT).
    [GeneratedRegex(@"(\$\$?|\\(?:begin|end)\{[a-z]*\*?\}|\\[{}$]|[{}]|(?:\n\s*)+|@@\d+@@|\\\\(?:\(|\)|\[|\]))", RegexOptions.IgnoreCase)]
    private static partial Regex MathSplit();

    [GeneratedRegex(@"^(?<fence>`{3,}|(~T){3,})[^`\n]*\n([\s\S]*?)^\k<fence>`*$", RegexOptions.Multiline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"(^|[^\\])(`+)([^\n]*?[^`\n])\2(?!`)", RegexOptions.Multiline)]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"~([TD])")]
    private static partial Regex Tilde();

    [GeneratedRegex(@"\n.*\n")]
    private static partial Regex TwoLineBreaks();

    [GeneratedRegex(@"@@(\d+)@@")]
    private static partial Regex Placeholder();

    /// <summary>The text with math replaced by <c>@@n@@</c>, and the math (HTML-escaped) in order.</summary>
    public static (string Text, List<string> Math) Remove(string text)
    {
        var math = new List<string>();
        Func<string, string> deTilde = s => s;
        if (text.Contains('`') || text.Contains("~~~"))
        {
            // Dollars inside code spans and fences are not math: hide them as ~D (and real tildes as ~T) meanwhile.
            text = text.Replace("~", "~T");
            text = Fence().Replace(text, m => m.Value.Replace("$", "~D"));
            text = CodeSpan().Replace(text, m => m.Value.Replace("$", "~D"));
            deTilde = s => Tilde().Replace(s, m => m.Groups[1].Value == "T" ? "~" : "$");
        }
        var blocks = MathSplit().Split(text.Replace("\r\n", "\n").Replace('\r', '\n'));
        int? start = null, last = null;
        string? end = null;
        int braces = 0;
        for (int i = 1; i < blocks.Length; i += 2)
        {
            string block = blocks[i];
            if (block.StartsWith('@'))
            {
                // Text that looks like a placeholder is stored too, so it comes back unchanged.
                blocks[i] = $"@@{math.Count}@@";
                math.Add(block);
            }
            else if (start is int s)
            {
                if (block == end)
                {
                    if (braces > 0) last = i;
                    else { Process(s, i); start = null; end = null; last = null; }
                }
                else if (TwoLineBreaks().IsMatch(block))
                {
                    if (last is int l) { i = l; Process(s, i); }
                    start = null; end = null; last = null; braces = 0;
                }
                else if (block == "{") braces++;
                else if (block == "}" && braces > 0) braces--;
            }
            else if (block is "$" or "$$") { start = i; end = block; braces = 0; }
            else if (block is @"\\(" or @"\\[") { start = i; end = block.EndsWith('(') ? @"\\)" : @"\\]"; braces = 0; }
            else if (block.Length > 6 && block.Substring(1, 5) == "begin") { start = i; end = @"\end" + block[6..]; braces = 0; }
        }
        if (start is int s2 && last is int l2) Process(s2, l2);
        return (deTilde(string.Concat(blocks)), math);

        void Process(int i, int j)
        {
            var sb = new StringBuilder();
            for (int k = i; k <= j; k++) sb.Append(blocks[k]);
            string block = sb.ToString().Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
            for (int k = j; k > i; k--) blocks[k] = "";
            blocks[i] = $"@@{math.Count}@@";
            math.Add(deTilde(block));
        }
    }

    /// <summary>Puts the math back in place of its placeholders (<c>\\(</c> … becoming <c>\(</c> …, as Jupyter does).</summary>
    public static string Replace(string html, IReadOnlyList<string> math) => Placeholder().Replace(html, m =>
    {
        int n = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        if (n >= math.Count) return m.Value;
        string group = math[n];
        if (group.StartsWith(@"\\(", StringComparison.Ordinal) && group.EndsWith(@"\\)", StringComparison.Ordinal))
            group = @"\(" + group[3..^3] + @"\)";
        else if (group.StartsWith(@"\\[", StringComparison.Ordinal) && group.EndsWith(@"\\]", StringComparison.Ordinal))
            group = @"\[" + group[3..^3] + @"\]";
        return group;
    });
}
