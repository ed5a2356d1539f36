using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace NoPrior.Kernel.Tests;

/// <summary>
/// The whole interactive path: Debian's jupyter-notebook on 127.0.0.1 starts the kernel, headless Chromium opens
/// the fixture notebook, runs every cell, and the outputs (text, a display, the value, a chart) appear on the page.
/// A screenshot is saved under the test output folder (TestResults/browser/notebook.png).
/// </summary>
public sealed class BrowserTests(ITestOutputHelper output)
{
    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    [Fact]
    public Task Notebook_server_runs_cells_and_the_browser_shows_their_outputs() => RunFixtureInBrowserAsync(requireChartDrawn: false);

    /// <summary>
    /// The classic notebook page loads require.js, under which a bare inline plotly.js registers an AMD module and
    /// leaves <c>Plotly</c> undefined; NotebookFormatters.ChartHtml hides define/module/exports from it so the chart
    /// draws. This test fails if that wrapper is removed.
    /// </summary>
    [Fact]
    public Task Notebook_server_runs_cells_and_the_browser_draws_the_plotly_chart() => RunFixtureInBrowserAsync(requireChartDrawn: true);

    async Task RunFixtureInBrowserAsync(bool requireChartDrawn)
    {
        JupyterHarness.RequireDebianTool("/usr/bin/jupyter-notebook", "jupyter-notebook");
        JupyterHarness.RequireDebianTool("/usr/bin/chromium", "chromium");
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(4));  // the whole test, servers included
        var ct = budget.Token;
        string outDir = JupyterHarness.OutputDirectory(requireChartDrawn ? "browser-chart" : "browser");
        string work = Directory.CreateTempSubdirectory("noprior-nb-server-").FullName;
        string profile = Directory.CreateTempSubdirectory("noprior-chromium-").FullName;
        File.Copy(Path.Combine(JupyterHarness.FixtureDirectory, "kernel-fixture.ipynb"), Path.Combine(work, "kernel-fixture.ipynb"));
        string token = Guid.NewGuid().ToString("N");
        int port = FreePort();
        var serverLog = new StringBuilder();
        Process? server = null, chromium = null;
        var clock = Stopwatch.StartNew();
        try
        {
            // CI and these machines run as root, which jupyter-notebook refuses without --allow-root.
            string[] root = Environment.UserName == "root" ? ["--allow-root"] : [];
            server = JupyterHarness.Start("jupyter-notebook", [.. root, $"--ip=127.0.0.1", $"--port={port}", "--port-retries=0", "--no-browser",
                $"--notebook-dir={work}", $"--NotebookApp.token={token}", "--NotebookApp.open_browser=False"], work, stdout: serverLog, stderr: serverLog);
            await WaitForServerAsync(port, token, server, serverLog, ct);
            output.WriteLine($"notebook server ready after {clock.Elapsed.TotalSeconds:F1} s");

            chromium = JupyterHarness.Start("/usr/bin/chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", $"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", "--window-size=1280,1800", "about:blank"], work, withJupyterEnv: false);
            int devtoolsPort = await DevToolsPortAsync(profile, chromium, ct);
            await using var page = await DevToolsClient.ConnectAsync(devtoolsPort, ct);
            await page.SendAsync("Page.enable", null, ct);
            // Record script errors of the page (e.g. a chart script that fails) for the failure report.
            await page.SendAsync("Page.addScriptToEvaluateOnNewDocument", new JsonObject { ["source"] = "window.__errors = []; window.addEventListener('error', e => window.__errors.push(String(e.message)));" }, ct);
            await page.SendAsync("Page.navigate", new JsonObject { ["url"] = $"http://127.0.0.1:{port}/notebooks/kernel-fixture.ipynb?token={token}" }, ct);

            // The classic notebook exposes its model as window.Jupyter; wait for the kernel to connect, then Run All.
            await UntilAsync(page, "!!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected())", "the kernel to connect", ct);
            output.WriteLine($"kernel connected after {clock.Elapsed.TotalSeconds:F1} s");
            await page.EvaluateAsync("Jupyter.notebook.execute_all_cells(); true", ct);
            try
            {
                // Every code cell has run (the chart cell's output area holds the chart's div) …
                await UntilAsync(page, "!!document.getElementById('noprior-plot-1') && document.body.innerText.includes('n = 3')", "the outputs of every cell", ct);
                // … and, where required, plotly.js has drawn into it.
                if (requireChartDrawn)
                    await UntilAsync(page, "document.querySelectorAll('#noprior-plot-1 .main-svg').length > 0", "the Plotly chart to be drawn", ct);
            }
            catch (TimeoutException)
            {
                // Leave evidence: what the page shows and what its outputs say.
                await ScreenshotAsync(page, Path.Combine(outDir, "failure.png"), ct);
                output.WriteLine(await OutputTextAsync(page, ct));
                output.WriteLine((await page.EvaluateAsync("JSON.stringify(window.__errors || [])", ct))?.ToString());
                throw;
            }
            output.WriteLine($"outputs rendered after {clock.Elapsed.TotalSeconds:F1} s");

            string text = await OutputTextAsync(page, ct);
            output.WriteLine(text);
            Assert.Contains("n = 3", text);
            Assert.Contains("shown", text);
            Assert.Matches(@"(?m)^6$", text);
            Assert.Equal(0, (await page.EvaluateAsync("document.querySelectorAll('.output_error').length", ct))!.GetValue<int>());

            await page.EvaluateAsync("document.getElementById('noprior-plot-1').scrollIntoView({block: 'center'}); true", ct);
            await Task.Delay(500, ct);  // let the scroll settle before capturing
            output.WriteLine("page script errors: " + await page.EvaluateAsync("JSON.stringify(window.__errors || [])", ct));
            string png = Path.Combine(outDir, "notebook.png");
            await ScreenshotAsync(page, png, ct);
            output.WriteLine($"screenshot: {png}");
            Assert.True(new FileInfo(png).Length > 10_000, "the screenshot is suspiciously small");
        }
        catch
        {
            output.WriteLine("--- notebook server log ---\n" + serverLog);
            throw;
        }
        finally
        {
            if (chromium is not null) JupyterHarness.Kill(chromium);
            if (server is not null) JupyterHarness.Kill(server);  // kills the kernels it started too (same process tree)
            File.WriteAllText(Path.Combine(outDir, "notebook-server.log"), serverLog.ToString());
            TryDelete(work); TryDelete(profile);
        }
    }

    static async Task<string> OutputTextAsync(DevToolsClient page, CancellationToken ct) =>
        (await page.EvaluateAsync("Array.from(document.querySelectorAll('.output_area')).map(e => e.innerText).join('\\n---\\n')", ct))?.GetValue<string>() ?? "";

    static async Task ScreenshotAsync(DevToolsClient page, string path, CancellationToken ct)
    {
        var shot = await page.SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" }, ct);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot["data"]!.GetValue<string>()), ct);
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    static async Task WaitForServerAsync(int port, string token, Process server, StringBuilder log, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (server.HasExited) throw new InvalidOperationException($"jupyter-notebook exited with {server.ExitCode}:\n{log}");
            try
            {
                var r = await http.GetAsync($"http://127.0.0.1:{port}/api/status?token={token}", ct);
                if (r.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            await Task.Delay(250, ct);
        }
    }

    /// <summary>Chromium writes the port it picked for --remote-debugging-port=0 into DevToolsActivePort in its profile.</summary>
    static async Task<int> DevToolsPortAsync(string profile, Process chromium, CancellationToken ct)
    {
        string file = Path.Combine(profile, "DevToolsActivePort");
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (chromium.HasExited) throw new InvalidOperationException($"chromium exited with {chromium.ExitCode}");
            if (File.Exists(file) && File.ReadAllLines(file) is [var first, ..] && int.TryParse(first, out int port)) return port;
            await Task.Delay(100, ct);
        }
    }

    static async Task UntilAsync(DevToolsClient page, string condition, string what, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { if ((await page.EvaluateAsync(condition, ct))?.GetValue<bool>() == true) return; }
            catch (InvalidOperationException) { }  // the page is still loading
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"gave up waiting for {what} after {clock.Elapsed.TotalSeconds:F0} s");
            await Task.Delay(250, ct);
        }
    }
}
