using System.Diagnostics;

namespace NoPrior;

/// <summary>A running task's progress line: steps done, a status message, elapsed time and time left.</summary>
public interface IProgressSink : IDisposable
{
    /// <summary>Reports that <paramref name="done"/> of the total steps are finished.</summary>
    void Report(long done, string message);
}

/// <summary>
/// Where long library loops (training, the attack) report progress. The default writes a throttled line to
/// standard error; a notebook host replaces <see cref="SinkFactory"/> with one that updates a displayed value in place.
/// </summary>
public static class Progress
{
    /// <summary>Creates a sink for a task with a title and a total number of steps.</summary>
    public static Func<string, long, IProgressSink> SinkFactory { get; set; } = (title, total) => new TextProgressSink(title, total, Console.Error);

    /// <summary>Minimum time between two visible updates.</summary>
    public static TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Starts reporting on a task. Each report also checks <see cref="Interrupt"/>, so a loop that reports every
    /// step stops at an interrupt with "title interrupted at step k".</summary>
    public static IProgressSink Start(string title, long total) => new InterruptibleSink(title, SinkFactory(title, total));

    sealed class InterruptibleSink(string title, IProgressSink inner) : IProgressSink
    {
        public void Report(long done, string message)
        {
            Interrupt.ThrowIfRequested(title, done);
            inner.Report(done, message);
        }

        public void Dispose() => inner.Dispose();
    }

    /// <summary>"title: done/total (pct) message, elapsed, ~left".</summary>
    public static string Format(string title, long done, long total, string message, TimeSpan elapsed)
    {
        double frac = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 0;
        string left = frac > 0 && frac < 1 ? $", ~{TimeSpan.FromSeconds(elapsed.TotalSeconds * (1 - frac) / frac):hh\\:mm\\:ss} left" : "";
        return $"{title}: {done}/{total} ({frac:P0}) {message} [{elapsed:hh\\:mm\\:ss}{left}]";
    }
}

/// <summary>Writes a progress line to a text writer at most once per <see cref="Progress.Interval"/>, and once at the end.</summary>
public sealed class TextProgressSink : IProgressSink
{
    readonly string _title; readonly long _total; readonly TextWriter _out;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    TimeSpan? _last;
    long _done; string _message = "";

    public TextProgressSink(string title, long total, TextWriter output) { _title = title; _total = total; _out = output; }

    public void Report(long done, string message)
    {
        _done = done; _message = message;
        if (_last is { } last && _clock.Elapsed - last < Progress.Interval && done < _total) return;
        _last = _clock.Elapsed;
        _out.WriteLine(Progress.Format(_title, done, _total, message, _clock.Elapsed));
    }

    public void Dispose()
    {
        if (_done < _total) _out.WriteLine(Progress.Format(_title, _done, _total, _message, _clock.Elapsed));
    }
}
