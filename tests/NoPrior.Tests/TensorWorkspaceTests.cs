using static TorchSharp.torch;

namespace NoPrior.Tests;

public class TensorWorkspaceTests
{
    [Fact]
    public void The_same_name_shape_and_dtype_give_the_same_tensor_and_anything_else_replaces_it()
    {
        using var ws = new TensorWorkspace();
        var a = ws.Get("h", 0, ScalarType.Float64, CPU, 3, 4);
        a.fill_(7);
        var again = ws.Get("h", 0, ScalarType.Float64, CPU, 3, 4);
        Assert.Same(a, again);
        Assert.Equal(7.0, again[2, 3].ToDouble()); // contents as left
        var other = ws.Get("h", 1, ScalarType.Float64, CPU, 3, 4);
        Assert.NotSame(a, other);
        Assert.Equal(2, ws.Count);
        Assert.Equal(2, ws.Allocations);

        var reshaped = ws.Get("h", 0, ScalarType.Float64, CPU, 5, 4);
        Assert.Equal(new long[] { 5, 4 }, reshaped.shape);
        Assert.True(a.IsInvalid, "the replaced tensor is disposed");
        var retyped = ws.Get("h", 0, ScalarType.Float32, CPU, 5, 4);
        Assert.Equal(ScalarType.Float32, retyped.dtype);
        Assert.True(reshaped.IsInvalid);
        Assert.Equal(2, ws.Count);
        Assert.Equal(4, ws.Allocations);
    }

    [Fact]
    public void Its_tensors_outlive_dispose_scopes_and_go_with_the_workspace()
    {
        var ws = new TensorWorkspace();
        Tensor t;
        using (torch.NewDisposeScope()) t = ws.Get("x", 0, ScalarType.Float64, CPU, 2);
        Assert.False(t.IsInvalid);
        Assert.Same(t, ws.Get("x", 0, ScalarType.Float64, CPU, 2));
        ws.Dispose();
        Assert.True(t.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => ws.Get("x", 0, ScalarType.Float64, CPU, 2));
        ws.Dispose(); // twice is fine
    }

    [Fact]
    public void Without_a_workspace_every_call_gives_a_new_tensor_in_the_current_scope()
    {
        Tensor a, b;
        using (torch.NewDisposeScope())
        {
            a = TensorWorkspace.Get(null, "x", 0, ScalarType.Float64, CPU, 2, 2);
            b = TensorWorkspace.Get(null, "x", 0, ScalarType.Float64, CPU, 2, 2);
            Assert.NotSame(a, b);
        }
        Assert.True(a.IsInvalid && b.IsInvalid);
    }
}
