namespace NoPrior.Kernel;

/// <summary>Chooses the cell executor the kernel process serves with.</summary>
static class KernelExecutors
{
    /// <summary>The workbook's notebook engine, rooted at the current directory (Jupyter starts kernels in the notebook's folder).</summary>
    public static ICellExecutor Create() =>
        throw new NotSupportedException("The notebook engine (lib/NoPrior.Notebooks) is not merged yet; the kernel has no executor.");
}
