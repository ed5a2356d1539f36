"""The kernel as a Jupyter user meets it, through Debian's jupyter_client: libtorch errors, interrupts, inspection.

Run through build/jupyter.sh (project-local JUPYTER_PATH), e.g. by KernelLiveTests.cs:
    build/jupyter.sh /usr/bin/python3 -m unittest -v test_kernel_live
"""
import os
import threading
import time
import unittest

from jupyter_client.manager import start_new_kernel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NOPRIOR_DLL = os.path.join(ROOT, "artifacts", "bin", "NoPrior", "release", "NoPrior.dll")
SETUP = f'''#r "nuget: TorchSharp-cpu, 0.107.0"
#r "{NOPRIOR_DLL}"
using NoPrior; using NoPrior.Data; using NoPrior.Networks; using NoPrior.Training;
using TorchSharp; using static TorchSharp.torch;'''


class LiveKernel(unittest.TestCase):
    def setUp(self):
        self.km, self.kc = start_new_kernel(kernel_name=".net-csharp", startup_timeout=120)

    def tearDown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run_cell(self, code, timeout=120):
        outputs = []
        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append)
        return reply["content"], outputs

    def assert_ok(self, code):
        content, outputs = self.run_cell(code)
        self.assertEqual(content["status"], "ok", f"{code!r}: {content} {outputs}")
        return outputs

    @staticmethod
    def result_text(outputs):
        return [m["content"]["data"]["text/plain"] for m in outputs if m["msg_type"] == "execute_result"]


class TorchErrors(LiveKernel):
    def test_shape_error_is_an_error_reply_and_the_session_lives_on(self):
        self.assert_ok(SETUP + "\nvar kept = 41;")
        for code, expected in [
            ("torch.zeros(3, 4).matmul(torch.zeros(5, 6))", "mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)"),
            ("torch.zeros(3, 4, dtype: float64).matmul(torch.zeros(4, 2, dtype: float32))", "expected m1 and m2 to have the same dtype"),
        ]:
            content, outputs = self.run_cell(code)
            self.assertEqual(content["status"], "error", f"{code}: {content}")
            self.assertEqual(content["ename"], "ExternalException")
            self.assertIn(expected, content["evalue"])
            self.assertNotIn("frame #", content["evalue"], "libtorch's C++ frames belong in no message")
            self.assertTrue(self.km.is_alive(), "the kernel process died")
        # Same session: the variable from before the errors is still there, and torch still works.
        self.assertEqual(self.result_text(self.assert_ok("kept + 1")), ["42"])
        self.assertEqual(self.result_text(self.assert_ok("torch.ones(3, 4).matmul(torch.ones(4, 2)).sum().item<float>()")), ["24"])


class Interrupts(LiveKernel):
    def interrupt_after(self, seconds):
        def go():
            time.sleep(seconds)
            self.interrupted_at = time.monotonic()
            self.km.interrupt_kernel()
        t = threading.Thread(target=go, daemon=True)
        t.start()
        return t

    def test_interrupt_stops_a_long_training_within_a_second_and_the_next_cell_runs(self):
        self.assert_ok(SETUP + """
var net = HomogeneousMlp.Create(new[] { 20, 50, 1 }, 0);
var data = Synthetic.Sphere(40, 20, 0);""")
        t = self.interrupt_after(3.0)
        content, outputs = self.run_cell("var run = GradientDescent.Train(net, data, new TrainingSettings(5_000_000, 0.1));", timeout=60)
        replied_at = time.monotonic()
        t.join()
        self.assertEqual(content["status"], "error", content)
        self.assertEqual(content["ename"], "InterruptedException", content)
        self.assertRegex(content["evalue"], r"training interrupted at step [1-9]\d*")
        self.assertLess(replied_at - self.interrupted_at, 1.0, "the reply came more than a second after the interrupt")
        # The session is usable, and nothing keeps training in the background (CPU time stands still).
        outputs = self.assert_ok("net.Widths.Length")
        self.assertEqual(self.result_text(outputs), ["3"])
        # Measured inside one cell (compiling the measuring cell does not count), after 2 s for the JIT's background
        # recompilation of the hot loop to settle.
        burnt = float(self.result_text(self.assert_ok(
            "double Cpu() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;\n"
            "System.Threading.Thread.Sleep(2000); var t0 = Cpu(); System.Threading.Thread.Sleep(1000); Cpu() - t0"))[0])
        self.assertLess(burnt, 0.5, "the interrupted training still burns CPU")

    def test_an_unstoppable_cell_returns_with_an_honest_message(self):
        self.assert_ok("var x = 1;")
        t = self.interrupt_after(1.0)
        start = time.monotonic()
        content, _ = self.run_cell("System.Threading.Thread.Sleep(6000);", timeout=60)
        t.join()
        self.assertEqual(content["status"], "error", content)
        self.assertEqual(content["ename"], "Interrupted")
        self.assertIn("keeps running in the background", content["evalue"])
        self.assertIn("restart the kernel", content["evalue"])
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertEqual(self.result_text(self.assert_ok("x + 1")), ["2"])


class Inspection(LiveKernel):
    def inspect(self, code, cursor):
        msg_id = self.kc.inspect(code, cursor)
        reply = self.kc.get_shell_msg(timeout=60)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        return reply["content"]

    def test_shift_tab_shows_signatures_types_and_library_docs(self):
        self.assert_ok(SETUP + "\nvar net = HomogeneousMlp.Create(new[] { 4, 3, 1 }, 0);")
        code = "Math.Round("
        content = self.inspect(code, len(code))
        self.assertEqual(content["status"], "ok")
        self.assertTrue(content["found"], content)
        self.assertIn("Math.Round(double)", content["data"]["text/plain"])
        content = self.inspect("net.Widths", 1)
        self.assertTrue(content["found"], content)
        self.assertEqual(content["data"]["text/plain"].splitlines()[0], "HomogeneousMlp net")
        code = "GradientDescent.Train("
        text = self.inspect(code, len(code))["data"]["text/plain"]
        self.assertIn("GradientDescent.Train(HomogeneousMlp, LabelledSet, TrainingSettings)", text)
        self.assertGreater(len(text.splitlines()), 2, "the XML summary is missing: " + text)
        self.assertFalse(self.inspect("   ", 1)["found"])


if __name__ == "__main__":
    unittest.main()
