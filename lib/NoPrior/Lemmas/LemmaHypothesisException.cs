namespace NoPrior.Lemmas;

/// <summary>
/// Thrown when a lemma transform is asked to act where the hypothesis of its statement does not hold (different
/// activation patterns for a merge, a margin-changing direction for a split, data that span R^d for the far-away
/// set, …). <see cref="Statement"/> names the result, <see cref="Hypothesis"/> the hypothesis that fails. Every
/// transform that throws this has an unchecked variant (or a checks flag) so a notebook can show what breaks.
/// </summary>
public sealed class LemmaHypothesisException : InvalidOperationException
{
    /// <summary>The statement whose hypothesis fails, e.g. "Lemma 2 (merge)".</summary>
    public string Statement { get; }
    /// <summary>The failing hypothesis, e.g. "same activation pattern".</summary>
    public string Hypothesis { get; }

    public LemmaHypothesisException(string statement, string hypothesis, string details)
        : base($"{statement}: hypothesis '{hypothesis}' fails — {details}")
    {
        Statement = statement;
        Hypothesis = hypothesis;
    }
}
