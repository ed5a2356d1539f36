namespace NoPrior.Tests;

public class SanityCheckTests
{
    [Fact]
    public void Verify_passes_true_claims_and_failing_counterexamples()
    {
        var table = new SanityChecks().Holds("residual small", 1e-12, "<=", 1e-10).FailsWhen("patterns differ", "residual small", 0.3, "<=", 1e-10).Verify();
        Assert.Equal(2, table.Rows.Count);
    }

    [Fact]
    public void Verify_throws_on_a_false_claim_or_a_passing_counterexample()
    {
        var e1 = Assert.Throws<SanityCheckException>(() => new SanityChecks().Holds("residual small", 1e-3, "<=", 1e-10).Verify());
        Assert.Contains("claim failed: residual small", e1.Message);
        var e2 = Assert.Throws<SanityCheckException>(() => new SanityChecks().FailsWhen("spans R^d", "far set exists", true).Verify());
        Assert.Contains("counter-example passed", e2.Message);
        Assert.Throws<SanityCheckException>(() => new SanityChecks().Verify());
        Assert.Throws<ArgumentException>(() => new SanityChecks().Holds("x", 1, "=<", 2));
    }
}
