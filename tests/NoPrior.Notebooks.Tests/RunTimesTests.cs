using NoPrior.Runner;

namespace NoPrior.Notebooks.Tests;

/// <summary><see cref="RunTimes"/>: the start order of <c>run -j N</c> and the keys of its times, without running anything.</summary>
public sealed class RunTimesTests
{
    [Fact]
    public void Unknown_notebooks_start_first_in_file_order_then_the_known_ones_longest_first()
    {
        string[] keys = ["a", "b", "c", "d", "e"];
        var times = new Dictionary<string, double> { ["a"] = 10, ["b"] = 30, ["d"] = 30, ["e"] = 20 };
        Assert.Equal(new[] { 2, 1, 3, 4, 0 }, RunTimes.StartOrder(keys, times));  // c unknown; b and d tie, file order
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, RunTimes.StartOrder(keys, new Dictionary<string, double>()));
        Assert.Equal("b (30 s), c (no time yet)", RunTimes.Describe(keys, keys, [1, 2], times));
    }

    [Fact]
    public void A_time_belongs_to_the_notebook_and_its_parameter_values()
    {
        Assert.Equal("09-no-prior-sphere", RunTimes.Key("notebooks/09-no-prior-sphere.ipynb", []));
        Assert.Equal("09-no-prior-sphere -p n=100 -p width=500",
            RunTimes.Key("/x/09-no-prior-sphere.ipynb", [new("n", "100"), new("width", "500")]));
        Assert.NotEqual(RunTimes.Key("a.ipynb", [new("n", "1")]), RunTimes.Key("a.ipynb", [new("n", "2")]));
    }

    [Fact]
    public void Times_are_merged_into_the_file_and_what_is_not_a_time_is_skipped()
    {
        var dir = Directory.CreateTempSubdirectory("noprior-times-").FullName;
        try
        {
            var log = new StringWriter();
            Assert.Empty(RunTimes.Read(dir, log));
            File.WriteAllText(Path.Combine(dir, RunTimes.FileName), """{ "a": 5, "b": "slow", "c": -1, "d": 2.25 }""");
            RunTimes.Write(dir, RunTimes.Read(dir, log), new Dictionary<string, double> { ["a"] = 3.04, ["e"] = 1 });
            Assert.Equal(new Dictionary<string, double> { ["a"] = 3.0, ["d"] = 2.25, ["e"] = 1 }, RunTimes.Read(dir, log));
            Assert.Equal("", log.ToString());
            File.WriteAllText(Path.Combine(dir, RunTimes.FileName), "{ not json");
            Assert.Empty(RunTimes.Read(dir, log));
            Assert.Contains($"ignoring {Path.Combine(dir, RunTimes.FileName)}", log.ToString());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
