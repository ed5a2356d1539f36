using System.Globalization;

namespace NoPrior.Runner;

/// <summary>
/// How <c>run</c> (<c>RunCommand</c>, the parent) and its child process (<c>ExecCommand</c>) talk: the child
/// is started with the hidden command <see cref="Name"/> and reports on standard output in lines that begin with
/// <see cref="Marker"/>: <c>cell i cells k codeCells</c>, <c>done i ok|error seconds</c>, <c>error i n message</c>.
/// </summary>
static class ExecProtocol
{
    /// <summary>The hidden command that executes one notebook in the child process.</summary>
    public const string Name = "__exec";
    /// <summary>The prefix of every protocol line.</summary>
    public const string Marker = "##workbook ";

    /// <summary>A message on one protocol line.</summary>
    public static string OneLine(string s) => s.Replace("\r", "").Replace("\n", " ⏎ ");

    /// <summary>Seconds with one decimal, as the protocol and the run summary print them.</summary>
    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
}
