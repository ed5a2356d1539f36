using NoPrior.IO;
using NoPrior.Networks;

namespace NoPrior.Tests;

/// <summary><see cref="Workbook.SaveArtifacts"/>: one call writes a notebook's results JSON and its named networks and sets.</summary>
public sealed class WorkbookTests : IDisposable
{
    readonly string _out = Directory.CreateTempSubdirectory("noprior-artifacts-").FullName;
    readonly string? _previous = Environment.GetEnvironmentVariable("WORKBOOK_OUTPUT");

    public WorkbookTests() => Environment.SetEnvironmentVariable("WORKBOOK_OUTPUT", _out);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("WORKBOOK_OUTPUT", _previous);
        Directory.Delete(_out, recursive: true);
    }

    [Fact]
    public void Saves_results_networks_and_sets_under_the_notebooks_name_and_reads_back()
    {
        var (net, set) = TestData.OneNeuronPerPoint(3, 4, new[] { 1.0, -1.0, 1.0 });
        using var net2 = net.Scaled(2);
        var files = Workbook.SaveArtifacts("99-test", new { n = 3, loss = double.NaN },
            networks: new[] { ("net-a", net), ("net-b", net2) }, sets: new[] { ("set-a", set) });
        Assert.Equal(new[] { Path.Combine("results", "99-test.json"), Path.Combine("results", "99-test", "net-a.safetensors"),
            Path.Combine("results", "99-test", "net-b.safetensors"), Path.Combine("results", "99-test", "set-a.safetensors") }, files);
        Assert.Contains("\"loss\": \"NaN\"", File.ReadAllText(Path.Combine(_out, files[0])));
        using var back = Safetensors.LoadNetwork(Path.Combine(_out, files[2]));
        Assert.Equal(2 * net.Norm(), back.Norm(), 12);
        using var setBack = Safetensors.LoadSet(Path.Combine(_out, files[3]));
        Assert.Equal(0, TestData.MaxAbs(setBack.Lambda! - set.Lambda!));
    }

    [Fact]
    public void Results_alone_write_no_folder()
    {
        var files = Workbook.SaveArtifacts("98-only-results", new { a = 1 });
        Assert.Single(files);
        Assert.False(Directory.Exists(Path.Combine(_out, "results", "98-only-results")));
    }

    [Fact]
    public void Bad_names_and_missing_values_are_refused_before_anything_is_written()
    {
        var (net, set) = TestData.OneNeuronPerPoint(2, 3, new[] { 1.0, -1.0 });
        Assert.Contains("used twice", Assert.Throws<ArgumentException>(() =>
            Workbook.SaveArtifacts("97-x", new { }, networks: new[] { ("same", net) }, sets: new[] { ("same", set) })).Message);
        Assert.Contains("not a valid artifact name", Assert.Throws<ArgumentException>(() =>
            Workbook.SaveArtifacts("97-x", new { }, networks: new[] { ("a/b", net) })).Message);
        Assert.Contains("'missing' is null", Assert.Throws<ArgumentException>(() =>
            Workbook.SaveArtifacts("97-x", new { }, sets: new[] { ("missing", (LabelledSet)null!) })).Message);
        Assert.False(File.Exists(Path.Combine(_out, "results", "97-x.json")));
    }
}
