using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NoPrior.LinearAlgebra;
using static TorchSharp.torch;

namespace NoPrior.Tests;

static class TestAssemblySetup
{
    // Before any test binds a TorchSharp P/Invoke (a binding made before the resolver exists stays unguarded).
    [ModuleInitializer]
    internal static void GuardTorchSharp() => TorchNativeErrors.Install();

    /// <summary>The unit tests read the machine's backend choice but never write it. Tests run in parallel, so a
    /// calibration made lazily here would time the backends on a loaded machine and cache a wrong choice for every later
    /// process (it happened: the AVX2 kernel chosen at libtorch's 85 against its 42 ms, where an idle calibration chose
    /// otherwise). So the tests use a copy of the machine's cache in a temporary folder; <c>./workbook test</c> runs
    /// <c>workbook calibrate</c> on the idle machine first, which fills the real one.</summary>
    [ModuleInitializer]
    internal static void KeepTheMachineCacheOfProductChoices()
    {
        string? machine = MatMul.CacheFile;
        string copy = Path.Combine(Path.GetTempPath(), $"noprior-tests-{Environment.ProcessId}", "matmul-backend.json");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        if (machine is not null && File.Exists(machine)) File.Copy(machine, copy, overwrite: true);
        MatMul.CacheFile = copy;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(Path.GetDirectoryName(copy)!, recursive: true); } catch (IOException) { }
        };
    }
}

/// <summary>
/// libtorch errors in TorchSharp exports without TorchSharp's own catch (build/TorchSharpErrorGuard.cpp). Without the
/// guard each of these aborts the test host ("terminate called after throwing an instance of 'c10::Error'"), which
/// fails the whole run; with it each is an ExternalException carrying libtorch's message.
/// </summary>
public class TorchNativeErrorsTests
{
    static string FirstLine(Exception e) => e.Message.Split('\n')[0];

    [Fact]
    public void The_guard_is_installed()
    {
        Assert.True(TorchNativeErrors.Installed, TorchNativeErrors.Status);
    }

    [Fact]
    public void Matmul_shape_error_is_a_managed_exception_and_the_next_product_works()
    {
        using var a = zeros(3, 4);
        using var b = zeros(5, 6);
        var e = Assert.Throws<ExternalException>(() => a.matmul(b));
        Assert.Equal("mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)", FirstLine(e));
        using var c = ones(4, 2);
        using var p = a.matmul(c);
        Assert.Equal(new long[] { 3, 2 }, p.shape);
    }

    [Fact]
    public void Matmul_of_float64_and_float32_is_a_managed_exception()
    {
        using var a = zeros(3, 4, dtype: float64);
        using var b = zeros(4, 2, dtype: float32);
        var e = Assert.Throws<ExternalException>(() => a.matmul(b));
        Assert.Contains("same dtype", FirstLine(e));
    }

    [Fact]
    public void Autograd_grad_error_is_a_managed_exception()
    {
        using var x = ones(3, requires_grad: true);
        using var y = (x * 2).sum();
        using var notAnInput = ones(3);
        var e = Assert.Throws<ExternalException>(() => autograd.grad([y], [notAnInput]));
        Assert.Equal("element 0 of the input tensors does not require grad", FirstLine(e));
    }

    [Fact]
    public void Cummax_dimension_error_is_a_managed_exception()
    {
        using var a = zeros(3, 4);
        var e = Assert.Throws<ExternalException>(() => a.cummax(5));
        Assert.StartsWith("Dimension out of range", FirstLine(e));
    }

    [Fact]
    public void An_error_is_reported_once_and_on_its_own_thread()
    {
        using var a = zeros(3, 4);
        using var b = zeros(5, 6);
        Assert.Throws<ExternalException>(() => a.matmul(b));
        // The next checked call on this thread must not see the old error again.
        using var r = a.reshape(4, 3);
        Assert.Equal(new long[] { 4, 3 }, r.shape);
        Exception? other = null;
        var t = new Thread(() => { try { using var s = zeros(2, 2).matmul(zeros(2, 2)); } catch (Exception e) { other = e; } });
        Assert.Throws<ExternalException>(() => a.matmul(b));
        t.Start(); t.Join();
        Assert.Null(other);
    }
}
