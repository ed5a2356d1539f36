using NoPrior.Runner;

namespace NoPrior.Notebooks.Tests;

/// <summary>The runner's papermill-style parameters (<see cref="Parameters"/>): literals and declarations.</summary>
public sealed class ParametersTests
{
    [Theory]
    [InlineData("500", null, "500")]
    [InlineData("0.25", "double", "0.25")]
    [InlineData("1e-3", null, "1e-3")]
    [InlineData("0.5f", "float", "0.5f")]
    [InlineData("true", "bool", "true")]
    [InlineData("hello \"x\"", null, "\"hello \\\"x\\\"\"")]
    [InlineData("123", "string", "\"123\"")]
    public void Parameter_values_become_csharp_literals(string value, string? type, string literal) =>
        Assert.Equal(literal, Parameters.Literal(value, type));

    [Fact]
    public void Parameters_cell_declarations_are_found_with_their_types() =>
        Assert.Equal(new Dictionary<string, string?> { ["steps"] = "int", ["seed"] = null, ["lr"] = null },
            Parameters.Declared("int steps = 10; // fast; paper: 10000\nvar seed = 1;\nlr = 0.1;"));
}
