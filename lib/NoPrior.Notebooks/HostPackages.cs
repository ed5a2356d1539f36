using System.Reflection;

namespace NoPrior.Notebooks;

/// <summary>
/// The NuGet packages a notebook may name in <c>#r "nuget: Name, Version"</c>. Nothing is downloaded: each package maps
/// to assemblies this host already references, at the version the host was built with, so a notebook runs exactly
/// against what the workbook was tested with.
/// </summary>
public static class HostPackages
{
    /// <summary>A package the host provides: its version and the assemblies a notebook gets by referencing it.</summary>
    public sealed record Package(string Name, string Version, IReadOnlyList<Assembly> Assemblies);

    static readonly Lazy<IReadOnlyDictionary<string, Package>> All = new(Build);

    /// <summary>Packages by name (case-insensitive).</summary>
    public static IReadOnlyDictionary<string, Package> Known => All.Value;

    static IReadOnlyDictionary<string, Package> Build()
    {
        var torch = typeof(TorchSharp.torch).Assembly;
        var plotly = typeof(Plotly.NET.GenericChart).Assembly;
        var plotlyCs = typeof(Plotly.NET.CSharp.Chart).Assembly;
        var fsharp = typeof(Microsoft.FSharp.Core.FSharpOption<>).Assembly;
        var giraffe = typeof(Giraffe.ViewEngine.HtmlElements).Assembly;
        var frame = typeof(Microsoft.Data.Analysis.DataFrame).Assembly;
        var dataView = typeof(Microsoft.ML.IDataView).Assembly;
        var formatting = typeof(Microsoft.DotNet.Interactive.Formatting.Formatter).Assembly;
        var list = new[]
        {
            // TorchSharp-cpu is TorchSharp plus the CPU libtorch; the host carries the Linux CPU libtorch.
            new Package("TorchSharp-cpu", "0.107.0", [torch]),
            new Package("TorchSharp", "0.107.0", [torch]),
            new Package("Plotly.NET", "6.0.0", [plotly, fsharp, giraffe]),
            new Package("Plotly.NET.CSharp", "0.14.0", [plotlyCs, plotly, fsharp, giraffe]),
            new Package("Microsoft.Data.Analysis", "0.23.1", [frame, dataView]),
            new Package("Microsoft.DotNet.Interactive.Formatting", "1.0.0-beta.23562.1", [formatting]),
        };
        return list.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
    }
}
