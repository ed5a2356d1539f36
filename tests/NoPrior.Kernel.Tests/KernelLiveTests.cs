using Xunit.Abstractions;

namespace NoPrior.Kernel.Tests;

/// <summary>
/// The real kernel through Debian's jupyter_client (jupyter/test_kernel_live.py): a libtorch error is an error reply and
/// the session lives on; an interrupt stops a long GradientDescent.Train within a second; Shift-Tab inspection answers.
/// </summary>
public sealed class KernelLiveTests(ITestOutputHelper output)
{
    void RunPython(string test)
    {
        JupyterHarness.RequirePythonModule("jupyter_client", "python3-jupyter-client");
        var r = JupyterHarness.Run("/usr/bin/python3", ["-m", "unittest", "-v", $"test_kernel_live.{test}"],
            JupyterHarness.FixtureDirectory, TimeSpan.FromMinutes(4));
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Matches(@"(?m)^OK$", r.Stderr);
    }

    [Fact]
    public void Torch_shape_and_dtype_errors_are_error_replies_and_the_next_cell_runs() =>
        RunPython("TorchErrors.test_shape_error_is_an_error_reply_and_the_session_lives_on");

    [Fact]
    public void Interrupt_stops_a_long_training_within_a_second() =>
        RunPython("Interrupts.test_interrupt_stops_a_long_training_within_a_second_and_the_next_cell_runs");

    [Fact]
    public void Shift_tab_inspection_shows_signatures_types_and_library_docs() =>
        RunPython("Inspection.test_shift_tab_shows_signatures_types_and_library_docs");

    [Fact]
    public void Interrupt_of_code_that_cannot_stop_says_so_and_the_session_lives_on() =>
        RunPython("Interrupts.test_an_unstoppable_cell_returns_with_an_honest_message");
}
