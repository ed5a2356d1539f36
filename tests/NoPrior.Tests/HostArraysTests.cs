using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public class HostArraysTests
{
    [Fact]
    public void The_tensor_owns_aligned_libtorch_memory_where_torch_tensor_sits_where_the_GC_put_it()
    {
        using var scope = torch.NewDisposeScope();
        var values = Enumerable.Range(0, 12).Select(i => i * 0.5 - 1).ToArray();
        var owned = HostArrays.ToTensor(values, new long[] { 3, 4 });
        Assert.Equal(new long[] { 3, 4 }, owned.shape);
        Assert.Equal(ScalarType.Float64, owned.dtype);
        Assert.Equal(values, owned.data<double>().ToArray());
        values[5] = 42;
        Assert.Equal(1.5, owned[1, 1].ToDouble()); // a copy
        // Arrays of 1–16 values: libtorch's copies are all 64-byte aligned. The failing case: torch.tensor keeps the
        // values in .NET memory (TorchSharp 0.107 copies them into a managed array and wraps that), at 8- or 16-byte
        // alignment as the GC allocates — in one run of this test at 16 and 24 mod 64 —, so some of them are not.
        var sizes = Enumerable.Range(1, 16).ToArray();
        Assert.All(sizes, n => Assert.Equal(0L, MatMul.Data(HostArrays.ToTensor(new double[n])).ToInt64() % 64));
        Assert.Contains(sizes, n => MatMul.Data(torch.tensor(new double[n], dtype: ScalarType.Float64)).ToInt64() % 64 != 0);
    }

    [Fact]
    public void Other_dtypes_two_dimensional_arrays_and_bad_shapes()
    {
        using var scope = torch.NewDisposeScope();
        var f = HostArrays.ToTensor(new[] { 1.0, 2.5, -3 }, dtype: ScalarType.Float32);
        Assert.Equal(ScalarType.Float32, f.dtype);
        Assert.Equal(new[] { 1f, 2.5f, -3f }, f.data<float>().ToArray());
        var m = HostArrays.ToTensor(new double[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal(new long[] { 2, 3 }, m.shape);
        Assert.Equal(6.0, m[1, 2].ToDouble());
        Assert.Equal(0L, MatMul.Data(m).ToInt64() % 64);
        Assert.Contains("cannot fill a tensor of shape [2, 2]", Assert.Throws<ArgumentException>(() => HostArrays.ToTensor(new double[3], new long[] { 2, 2 })).Message);
        Assert.Throws<ArgumentNullException>(() => HostArrays.ToTensor((double[])null!));
    }
}
