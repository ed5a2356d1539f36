namespace NoPrior.Kernel;

/// <summary>Chooses the cell executor the kernel process serves with.</summary>
static class KernelExecutors
{
    /// <summary>The workbook's notebook engine, rooted at the current directory (Jupyter starts kernels in the notebook's folder).</summary>
    public static ICellExecutor Create() => new EngineCellExecutor(Environment.CurrentDirectory);
}
