using static TorchSharp.torch;

namespace NoPrior;

/// <summary>
/// Tensors kept from one step of a loop to the next, so that each step writes its intermediates into the tensors of the
/// step before instead of allocating new ones. <see cref="Attack.ReconstructionAttack.Run"/> keeps one per run for
/// <see cref="Attack.AttackGradient.ValueAndGradient(Attack.AttackObjective, Networks.HomogeneousMlp, Tensor, Tensor, Tensor, TensorWorkspace?)"/>.
/// A tensor is allocated the first time it is asked for and handed out again while its shape, dtype and device stay
/// the same; asked for with another shape, dtype or device, it is replaced (the old one disposed). Disposing the
/// workspace disposes every tensor in it. Not thread-safe: one workspace per loop.
/// </summary>
/// <remarks>
/// Why: a step that allocates its large intermediates afresh gets them from glibc, which returns freed heap tops to the
/// operating system (trim), so every step page-faults part of that memory in again (zeroed by the kernel). Measured
/// (bench/README.md, "Buffers reused across steps"): the reference attack step (m = 1000, 784-1000-1000-1, float64)
/// allocated ~25 new 6–8 MB tensors and took ~3 200 minor faults per step on a Zen 3 machine (8 500 on a Zen 5 one);
/// with a workspace, ~30. Writing in place costs a copy_ where the out-of-place operation wrote a new tensor
/// (TorchSharp 0.107 has no out= forms of elementwise operations), so the wall-clock gain is smaller than the system
/// time saved. The tensors carry no autograd history and belong to no dispose scope.
/// </remarks>
public sealed class TensorWorkspace : IDisposable
{
    readonly Dictionary<(string Name, int Index), Tensor> _tensors = new();
    bool _disposed;

    /// <summary>Tensors allocated so far, replacements included: constant from the second step on while the loop's
    /// shapes, dtype and device stay the same.</summary>
    public int Allocations { get; private set; }

    /// <summary>Tensors held now.</summary>
    public int Count => _tensors.Count;

    /// <summary>The workspace's tensor (<paramref name="name"/>, <paramref name="index"/>) with this dtype, device and
    /// shape: the same tensor as at the previous call when those match (with the contents left there), else a new
    /// uninitialised one that replaces it. It belongs to the workspace: write into it, do not dispose it.</summary>
    public Tensor Get(string name, int index, ScalarType dtype, Device device, params long[] shape)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(device);
        var key = (name, index);
        if (_tensors.TryGetValue(key, out var t))
        {
            if (t.dtype == dtype && t.device_type == device.type && (device.index < 0 || t.device_index == device.index)
                && t.shape.AsSpan().SequenceEqual(shape))
                return t;
            _tensors.Remove(key);
            t.Dispose();
        }
        // Created inside a caller's dispose scope, the tensor must not be disposed with it.
        t = torch.empty(shape, dtype: dtype, device: device).DetachFromDisposeScope();
        _tensors[key] = t;
        Allocations++;
        return t;
    }

    /// <summary><paramref name="workspace"/>'s tensor as in <see cref="Get(string, int, ScalarType, Device, long[])"/>, or,
    /// without a workspace, a new uninitialised tensor in the current dispose scope (the caller owns it).</summary>
    public static Tensor Get(TensorWorkspace? workspace, string name, int index, ScalarType dtype, Device device, params long[] shape)
        => workspace is null ? torch.empty(shape, dtype: dtype, device: device) : workspace.Get(name, index, dtype, device, shape);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
    }
}
