"""Jupyter's kernel conformance suite (Debian python3-jupyter-kernel-test) for the workbook's .net-csharp kernel.

Run through build/jupyter.sh (project-local JUPYTER_PATH), e.g. by KernelConformanceTests.cs:
    build/jupyter.sh /usr/bin/python3 -m unittest -v test_kernel_conformance
"""
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel


class CSharpKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = ".net-csharp"
    language_name = "C#"
    file_extension = ".cs"

    code_hello_world = 'Console.WriteLine("hello, world");'
    code_stderr = 'Console.Error.WriteLine("to stderr");'
    code_generate_error = 'throw new InvalidOperationException("boom");'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"con" + "cat"', "result": "concat"},
    ]
    code_display_data = [
        {"code": 'display("<b>bold</b>", "text/html");', "mime": "text/html"},
        {"code": 'display(3.5);', "mime": "text/plain"},
    ]
    completion_samples = [
        {"text": "Console.WriteL", "matches": {"WriteLine"}},
        {"text": "Math.Sq", "matches": {"Sqrt"}},
    ]
    complete_code_samples = ["var x = 1;", "x + 1", "if (x > 0) { x++; }"]
    incomplete_code_samples = ["if (x > 0) {", 'var s = "open']
    invalid_code_samples = ["var y = ;"]
    code_inspect_sample = "Math.Sqrt"


class CSharpKernelSessionTests(unittest.TestCase):
    """What the generic suite does not cover: state across cells, restart (a new session) and shutdown."""

    def test_state_survives_cells_and_restart_starts_a_new_session(self):
        km, kc = start_new_kernel(kernel_name=".net-csharp")
        try:
            reply = kc.execute_interactive("var kept = 41;", timeout=60)
            self.assertEqual(reply["content"]["status"], "ok")
            outputs = []
            reply = kc.execute_interactive("kept + 1", timeout=60, output_hook=outputs.append)
            self.assertEqual(reply["content"]["status"], "ok")
            results = [m for m in outputs if m["msg_type"] == "execute_result"]
            self.assertEqual(results[0]["content"]["data"]["text/plain"], "42")
            self.assertEqual(reply["content"]["execution_count"], 2)

            kc.stop_channels()
            km.restart_kernel(now=False)
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            reply = kc.execute_interactive("kept", timeout=60)
            self.assertEqual(reply["content"]["status"], "error", "a restarted kernel must not know earlier variables")
            self.assertEqual(reply["content"]["execution_count"], 1)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)
        self.assertFalse(km.is_alive(), "the kernel process must exit after shutdown_request")


if __name__ == "__main__":
    unittest.main()
