using System.Globalization;
using System.Text.RegularExpressions;

namespace NoPrior.Runner;

/// <summary>How a range of <c>workbook sweep</c> draws its values.</summary>
public enum SweepDistribution
{
    /// <summary><c>uniform:LOW:HIGH</c>: doubles, uniform on [LOW, HIGH).</summary>
    Uniform,
    /// <summary><c>loguniform:LOW:HIGH</c>: doubles whose logarithm is uniform on [log LOW, log HIGH); 0 &lt; LOW.</summary>
    LogUniform,
    /// <summary><c>int:LOW:HIGH</c>: integers, each of LOW, LOW+1, …, HIGH−1 equally likely.</summary>
    Int,
    /// <summary><c>intlog:LOW:HIGH</c>: ⌊a loguniform draw on [LOW, HIGH)⌋, integers in LOW…HIGH−1; 0 &lt; LOW.</summary>
    IntLog,
}

/// <summary>
/// A range given as the whole value of <c>-p name=DIST:LOW:HIGH</c> (<c>uniform</c>, <c>loguniform</c>, <c>int</c>,
/// <c>intlog</c>), drawn once per run under <c>--random K</c>. The form is not C#, so it cannot be a value meant as an
/// expression; text of that form for a string parameter is given quoted (<c>-p 'label="int:1:2"'</c>).
/// </summary>
/// <param name="Name">The parameter.</param>
/// <param name="Text">The range as given, e.g. <c>loguniform:1e-4:1e-1</c>.</param>
/// <param name="Distribution">How values are drawn.</param>
/// <param name="Low">Lower bound, included.</param>
/// <param name="High">Upper bound, excluded (an integer range's largest value is HIGH − 1).</param>
public sealed partial record SweepRange(string Name, string Text, SweepDistribution Distribution, double Low, double High)
{
    /// <summary>The distribution names, as written before the first ':'.</summary>
    public static readonly IReadOnlyList<string> Names = ["uniform", "loguniform", "int", "intlog"];

    /// <summary>Largest magnitude of an integer range's bounds (2^53: every integer up to it is a double, exactly).</summary>
    public const long MaxInteger = 1L << 53;

    /// <summary>True for <c>int</c> and <c>intlog</c>.</summary>
    public bool IsInteger => Distribution is SweepDistribution.Int or SweepDistribution.IntLog;

    [GeneratedRegex(@"^\s*(?<dist>[A-Za-z][A-Za-z0-9_]*)\s*:(?<rest>.*)$", RegexOptions.Singleline)]
    private static partial Regex Shape();

    /// <summary>
    /// The range in <paramref name="value"/> (the whole value of <c>-p name=value</c>), or null when it is not one: a
    /// range starts with a distribution name and ':'. A word that is not one of <see cref="Names"/> followed by two
    /// numbers (<c>logunif:1e-4:1e-1</c>) is taken as a misspelt range; other text with colons is an ordinary value.
    /// Throws naming the parameter and the problem for a malformed range.
    /// </summary>
    public static SweepRange? Parse(string name, string value)
    {
        var m = Shape().Match(value);
        if (!m.Success) return null;
        string dist = m.Groups["dist"].Value, rest = m.Groups["rest"].Value;
        string where = $"-p {name}={value}";
        int known = Names.ToList().IndexOf(dist);
        var parts = rest.Split(':');
        if (known < 0)
        {
            if (parts.Length == 2 && parts.All(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                throw new ArgumentException($"{where}: unknown distribution '{dist}'; a range is uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH or intlog:LOW:HIGH (text of this form for a string parameter: quote it, -p '{name}=\"{value.Trim()}\"').");
            return null;
        }
        if (rest.Contains(','))
            throw new ArgumentException($"{where}: a range is the whole value of -p {name}; it cannot be listed with other values.");
        if (parts.Length != 2)
            throw new ArgumentException($"{where}: a range is {dist}:LOW:HIGH (two bounds), e.g. {Example((SweepDistribution)known)}.");
        var distribution = (SweepDistribution)known;
        bool integer = distribution is SweepDistribution.Int or SweepDistribution.IntLog;
        double low = Bound(parts[0], "LOW"), high = Bound(parts[1], "HIGH");
        if (low >= high)
            throw new ArgumentException($"{where}: LOW must be below HIGH (the range is [LOW, HIGH)), got {parts[0].Trim()} ≥ {parts[1].Trim()}.");
        if (distribution is SweepDistribution.LogUniform or SweepDistribution.IntLog && low <= 0)
            throw new ArgumentException($"{where}: {dist} needs 0 < LOW (it is uniform in the logarithm), got LOW = {parts[0].Trim()}.");
        if (!double.IsFinite(high - low))
            throw new ArgumentException($"{where}: the range is wider than the largest double; narrow it.");
        return new SweepRange(name, value.Trim(), distribution, low, high);

        double Bound(string text, string which)
        {
            string t = text.Trim();
            if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                throw new ArgumentException($"{where}: {which} '{t}' is not a number.");
            if (!double.IsFinite(d))
                throw new ArgumentException($"{where}: {which} '{t}' is not a finite number (NaN and ±Infinity are not bounds).");
            if (integer)
            {
                if (!long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                    throw new ArgumentException($"{where}: {which} '{t}' is not an integer ({dist} ranges draw integers; uniform and loguniform draw doubles).");
                if (Math.Abs(n) > MaxInteger)
                    throw new ArgumentException($"{where}: {which} '{t}' is beyond ±2^53.");
            }
            return d;
        }
    }

    static string Example(SweepDistribution d) => d switch
    {
        SweepDistribution.Uniform => "uniform:0.01:0.5",
        SweepDistribution.LogUniform => "loguniform:1e-4:1e-1",
        SweepDistribution.Int => "int:100:2000",
        _ => "intlog:10:10000",
    };

    /// <summary>
    /// One value, drawn from <paramref name="rng"/>: one <see cref="Random.NextDouble"/> for uniform, loguniform and
    /// intlog, one <see cref="Random.NextInt64(long, long)"/> for int. Doubles are written by
    /// <see cref="FormatDouble"/>, integers as digits. The arithmetic is + − × ÷ and <see cref="PortableMath"/>, so a
    /// seeded <see cref="Random"/> gives the same text on every machine and .NET version.
    /// </summary>
    public string Draw(Random rng)
    {
        switch (Distribution)
        {
            case SweepDistribution.Int:
                return rng.NextInt64((long)Low, (long)High).ToString(CultureInfo.InvariantCulture);
            case SweepDistribution.Uniform:
                return FormatDouble(Clamp(Low + (High - Low) * rng.NextDouble()));
            default:
                double a = PortableMath.Log(Low), b = PortableMath.Log(High);
                double v = PortableMath.Exp(a + (b - a) * rng.NextDouble());
                if (Distribution == SweepDistribution.LogUniform) return FormatDouble(Clamp(v));
                return ((long)Math.Clamp(Math.Floor(v), Low, High - 1)).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Rounding can land a draw on HIGH (or, through exp ∘ log, just below LOW): keep it in [LOW, HIGH).</summary>
    double Clamp(double v) => v < Low ? Low : v >= High ? Math.BitDecrement(High) : v;

    /// <summary>
    /// A double as a C# double literal that parses back to the same double: the shortest round-trip text ("R"), with
    /// ".0" added when that is an integer (<c>1</c> would be an int literal). The run id, the <c>-p</c> value the
    /// notebook receives and the summary all use this text.
    /// </summary>
    public static string FormatDouble(double v)
    {
        if (!double.IsFinite(v)) throw new ArgumentOutOfRangeException(nameof(v), v, "a range draws finite values only");
        string s = v.ToString("R", CultureInfo.InvariantCulture);
        return s.AsSpan().IndexOfAny('.', 'E', 'e') >= 0 ? s : s + ".0";
    }
}

/// <summary>
/// exp and log computed with + − × ÷ only. Each of those is rounded as IEEE 754 prescribes, and .NET neither keeps
/// extra precision nor fuses a·b + c on its own, so these give the same bits on every machine and .NET version —
/// unlike <see cref="Math.Exp"/> and <see cref="Math.Log(double)"/>, which call the platform's C library (a last-bit difference
/// there would change a drawn value's text, hence its run id, and a restart would not find the finished run). Within
/// a few ulp of the exact values; for drawing loguniform values, not for numerics.
/// </summary>
public static class PortableMath
{
    // ln 2 split as fdlibm does: Ln2Hi has its low 32 bits zero, so k·Ln2Hi is exact for |k| < 2^20.
    const double Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10, InvLn2 = 1.44269504088896338700e+00;
    const double Sqrt2 = 1.41421356237309514547e+00;

    // 1/n! for exp (|r| ≤ ln2/2: the 17th term is below 2^-60) and 1/(2j+1) for log's atanh series (s ≤ 0.0295: the 13th below 2^-60).
    static readonly double[] ExpTerms = InverseFactorials(17), LogTerms = Enumerable.Range(0, 13).Select(j => 1.0 / (2 * j + 1)).ToArray();

    static double[] InverseFactorials(int count)
    {
        var t = new double[count];
        t[0] = 1;
        for (int n = 1; n < count; n++) t[n] = t[n - 1] / n;
        return t;
    }

    const double SmallestNormal = 2.2250738585072014E-308;

    /// <summary>e^x; +∞ above ln(double.MaxValue), 0 far below ln(double.Epsilon).</summary>
    public static double Exp(double x)
    {
        if (double.IsNaN(x)) return x;
        if (x > 709.782712893384) return double.PositiveInfinity;
        if (x < -745.2) return 0;
        // x = k·ln2 + r, |r| ≤ ln2/2; e^x = 2^k · e^r with e^r from its Taylor series (Horner).
        double k = Math.Round(x * InvLn2);
        double r = (x - k * Ln2Hi) - k * Ln2Lo;
        double p = ExpTerms[^1];
        for (int n = ExpTerms.Length - 2; n >= 0; n--) p = p * r + ExpTerms[n];
        return Math.ScaleB(p, (int)k); // exact (one rounding for a subnormal result)
    }

    /// <summary>ln x for finite x &gt; 0.</summary>
    public static double Log(double x)
    {
        if (!(x > 0) || !double.IsFinite(x)) throw new ArgumentOutOfRangeException(nameof(x), x, "Log takes a finite positive number");
        // x = 2^e · m with m in (√2/2, √2]; ln m = 2 atanh(f), f = (m − 1)/(m + 1), as f · Σ s^j/(2j+1) · 2 with s = f².
        int e = 0;
        if (x < SmallestNormal) { x *= 18014398509481984.0; e = -54; } // subnormal: scale by 2^54 (exact)
        long bits = BitConverter.DoubleToInt64Bits(x);
        e += (int)((bits >> 52) & 0x7FF) - 1023;
        double m = BitConverter.Int64BitsToDouble((bits & 0x000F_FFFF_FFFF_FFFFL) | 0x3FF0_0000_0000_0000L); // [1, 2)
        if (m > Sqrt2) { m *= 0.5; e++; }
        double f = (m - 1) / (m + 1), s = f * f;
        double p = LogTerms[^1];
        for (int j = LogTerms.Length - 2; j >= 0; j--) p = p * s + LogTerms[j];
        return e * Ln2Hi + (e * Ln2Lo + 2 * f * p);
    }
}
