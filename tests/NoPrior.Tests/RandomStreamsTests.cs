using NoPrior.Attack;
using NoPrior.Data;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class RandomStreamsTests
{
    static double MaxAbsCosine(Tensor a, Tensor b)
    {
        using var an = a / a.norm(1, keepdim: true);
        using var bn = b / b.norm(1, keepdim: true);
        using var c = an.matmul(bn.t());
        return c.abs().max().ToDouble();
    }

    [Fact]
    public void Libtorch_couples_two_draws_with_one_seed_which_is_the_hazard_the_streams_remove()
    {
        // The failing case: raw libtorch generators with one seed give the 20 data rows as the first 20 of 100 weight rows.
        using var g1 = new Generator(0);
        using var g2 = new Generator(0);
        using var data = torch.randn(20, 784, dtype: ScalarType.Float64, generator: g1);
        using var rows = torch.randn(100, 784, dtype: ScalarType.Float64, generator: g2);
        Assert.True(MaxAbsCosine(data, rows) > 1 - 1e-12);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(42L)]
    public void Same_seed_for_data_and_network_gives_unrelated_draws(long seed)
    {
        using var set = Synthetic.Sphere(20, 784, seed);
        using var net = HomogeneousMlp.Create(new[] { 784, 100, 1 }, seed, MlpInit.SmallFirstLayer);
        // Independent directions in R^784: |cos| has standard deviation 1/28; the largest of 2 000 stays well below 0.25.
        Assert.True(MaxAbsCosine(set.X, net.Weights[0]) < 0.25, $"max |cos| = {MaxAbsCosine(set.X, net.Weights[0])}");
        using var fresh = Synthetic.SphereFreshSample(20, 784, seed);
        Assert.True(MaxAbsCosine(set.X, fresh.X) < 0.25);
    }

    [Fact]
    public void Same_seed_for_network_and_attack_gives_unrelated_initial_candidates()
    {
        using var net = HomogeneousMlp.Create(new[] { 784, 50, 1 }, 0, MlpInit.SmallFirstLayer);
        using var run = ReconstructionAttack.Run(net, new AttackSettings { Candidates = 20, Steps = 1, Seed = 0, ProgressTitle = null, LearningRateX = 1e-6 });
        Assert.True(MaxAbsCosine(run.InitialCandidates.X, net.Weights[0]) < 0.25);
    }

    [Fact]
    public void The_initial_candidates_are_the_start_not_the_end_of_the_run()
    {
        using var net = HomogeneousMlp.Create(new[] { 784, 30, 1 }, 0);
        var settings = new AttackSettings { Candidates = 6, Steps = 20, Seed = 3, ProgressTitle = null, LearningRateX = 0.1 };
        using var run = ReconstructionAttack.Run(net, settings);
        using var again = settings.Init.Draw(6, 784, RandomStreams.Generator(RandomRole.AttackInit, 3));
        Assert.Equal(0.0, (run.InitialCandidates.X - again).abs().max().ToDouble());
        Assert.True((run.Candidates.X - again).abs().max().ToDouble() > 0, "the run must have moved the candidates");
    }

    [Fact]
    public void Streams_are_deterministic_and_differ_by_role_seed_and_index()
    {
        Assert.Equal(RandomStreams.DerivedSeed(RandomRole.Data, 5), RandomStreams.DerivedSeed(RandomRole.Data, 5));
        var seeds = new[]
        {
            RandomStreams.DerivedSeed(RandomRole.Data, 5), RandomStreams.DerivedSeed(RandomRole.NetworkInit, 5),
            RandomStreams.DerivedSeed(RandomRole.Data, 6), RandomStreams.DerivedSeed(RandomRole.Data, 5, 1),
        };
        Assert.Equal(seeds.Length, seeds.Distinct().Count());
        // libtorch's Mersenne twister keeps the low 32 bits: they must differ too.
        Assert.Equal(seeds.Length, seeds.Select(s => (uint)s).Distinct().Count());
        using var a = Synthetic.Sphere(3, 10, 7);
        using var b = Synthetic.Sphere(3, 10, 7);
        Assert.True(a.X.equal(b.X).all().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomStreams.DerivedSeed((RandomRole)99, 1));
    }
}
