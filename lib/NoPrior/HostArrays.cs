using static TorchSharp.torch;

namespace NoPrior;

/// <summary>
/// Tensors from .NET arrays, copied into libtorch's own memory. TorchSharp's <c>torch.tensor(double[] …)</c> keeps the
/// values in .NET memory: the tensor wraps a pinned managed array (in 0.107 a copy of the one passed), at an address
/// the .NET GC chooses (8- or 16-byte aligned, and not the same from run to run). oneMKL, which multiplies libtorch's small products and matrix–vector products here, takes
/// alignment-dependent paths (Intel's "conditional numerical reproducibility": without it, results may differ with the
/// alignment of the input), so a product with such a tensor could round differently from one run to the next with
/// the same seed — notebook 06's bounds moved in their 16th–17th digit between two runs of the same build. libtorch
/// allocates 64-byte aligned, the same in every run.
/// </summary>
public static class HostArrays
{
    /// <summary>A tensor of <paramref name="values"/> (shape <paramref name="shape"/>, default a vector) in libtorch's
    /// memory, of <paramref name="dtype"/> on <paramref name="device"/> (default CPU).</summary>
    public static Tensor ToTensor(double[] values, long[]? shape = null, ScalarType dtype = ScalarType.Float64, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        shape ??= new[] { (long)values.Length };
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Any(s => s < 0) || count != values.Length)
            throw new ArgumentException($"{values.Length} values cannot fill a tensor of shape [{string.Join(", ", shape)}].", nameof(values));
        using var wrapped = torch.tensor(values, shape, ScalarType.Float64);
        var owned = wrapped.clone();
        if (dtype == ScalarType.Float64 && (device is null || device.type == DeviceType.CPU)) return owned;
        using (owned) return owned.to(dtype, device ?? torch.CPU);
    }

    /// <summary>A [rows, columns] float64 CPU tensor of <paramref name="values"/>, in libtorch's memory.</summary>
    public static Tensor ToTensor(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var flat = new double[values.Length];
        Buffer.BlockCopy(values, 0, flat, 0, values.Length * sizeof(double));
        return ToTensor(flat, new long[] { values.GetLength(0), values.GetLength(1) });
    }
}
