namespace NoPrior.Notebooks;

/// <summary>
/// The script globals of a notebook: its public members are callable bare from any cell, as in the .NET Interactive
/// C# kernel (<c>display(x)</c>).
/// </summary>
public sealed class NotebookGlobals
{
    readonly NotebookSession _session;

    internal NotebookGlobals(NotebookSession session) => _session = session;

    /// <summary>Shows <paramref name="value"/> as a display output and returns a handle to update it in place.</summary>
    /// <param name="value">Any value; rendered through the registered formatters.</param>
    /// <param name="mimeType">Render only this mime type (e.g. "text/html"); default: the type's preferred types plus text/plain.</param>
    public DisplayHandle display(object? value, string? mimeType = null) => _session.Display(value, mimeType);
}

/// <summary>A shown value that can be replaced in place (Jupyter's <c>update_display_data</c>).</summary>
public sealed class DisplayHandle
{
    readonly NotebookSession _session;
    readonly string? _mimeType;

    internal DisplayHandle(NotebookSession session, string displayId, string? mimeType)
    {
        _session = session; DisplayId = displayId; _mimeType = mimeType;
    }

    /// <summary>The display id shared by the original output and its updates.</summary>
    public string DisplayId { get; }

    /// <summary>Replaces the displayed value with <paramref name="newValue"/>.</summary>
    public void Update(object? newValue) => _session.UpdateDisplay(DisplayId, newValue, _mimeType);
}

/// <summary>The state of a library task as shown in a notebook (see <see cref="NoPrior.Progress"/>).</summary>
/// <param name="Title">Task name.</param>
/// <param name="Done">Steps finished.</param>
/// <param name="Total">Steps in all.</param>
/// <param name="Message">Latest status message (e.g. the loss).</param>
/// <param name="Elapsed">Time since the task started.</param>
public sealed record ProgressView(string Title, long Done, long Total, string Message, TimeSpan Elapsed)
{
    /// <summary>The same line the text sink prints.</summary>
    public override string ToString() => NoPrior.Progress.Format(Title, Done, Total, Message, Elapsed);
}
