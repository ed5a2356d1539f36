using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using NoPrior.Runner;

namespace NoPrior.Notebooks.Tests;

/// <summary>
/// Executed notebooks are signed with the workbook's project-local Jupyter key (checked by Debian's nbformat, the
/// code the notebook server runs) and every chart carries a static image for views that do not run its scripts.
/// </summary>
public sealed class NotebookTrustTests(ExecutedSample sample) : IClassFixture<ExecutedSample>, IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-trust-").FullName;
    readonly ExecutedSample _sample = sample;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs a Python snippet under Debian's python3 with nbformat; returns its standard output.</summary>
    static string Python(string script, params string[] args)
    {
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: install python3-nbformat (./workbook setup does).");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"python3 failed (is python3-nbformat installed? ./workbook setup installs it):\n{stderr}");
        return stdout.Result.Trim();
    }

    /// <summary>nbformat's verdict: is the notebook's signature in the data folder's database?</summary>
    static bool TrustedByNbformat(string ipynb, string dataDir) => Python("""
        import sys, nbformat
        from nbformat.sign import NotebookNotary
        notary = NotebookNotary(data_dir=sys.argv[2])
        print(notary.check_signature(nbformat.read(sys.argv[1], as_version=4)))
        """, ipynb, dataDir) switch { "True" => true, "False" => false, var s => throw new InvalidOperationException($"unexpected answer '{s}'") };

    [Fact]
    public void The_signature_is_the_one_nbformat_computes_for_every_kind_of_value()
    {
        // Split and joined strings, transient metadata, ints, floats in every notation, booleans, null, non-ASCII keys.
        const string json = """
            {"cells": [
              {"cell_type": "markdown", "id": "m", "metadata": {"trusted": true}, "source": ["# α and $\\beta$\n", "line 2"]},
              {"cell_type": "code", "execution_count": 3, "id": "c", "metadata": {"tags": ["parameters"], "collapsed": false},
               "source": "x = 1",
               "outputs": [
                 {"output_type": "stream", "name": "stdout", "text": ["a\n", "b"]},
                 {"output_type": "execute_result", "execution_count": 3, "metadata": {"w": 1.0, "h": 0.1, "tiny": 1e-05, "big": 1e16,
                    "exact": 123456789.125, "neg": -2.5e-7, "third": 0.3333333333333333, "huge": 12345678901234567890, "none": null, "no": false},
                  "data": {"text/html": ["<b>\n", "é</b>"], "text/plain": "x", "application/json": {"k": [1, 2.5]}}}
               ]}
            ],
            "metadata": {"kernelspec": {"name": ".net-csharp", "display_name": ".NET (C#)", "language": "C#"}, "signature": "sha256:old",
                         "orig_nbformat": 3, "ζ": [true, 7]},
            "nbformat": 4, "nbformat_minor": 5}
            """;
        string path = Path.Combine(_dir, "values.ipynb");
        File.WriteAllText(path, json);
        var secret = System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(96)) + "\n");
        File.WriteAllBytes(Path.Combine(_dir, "notebook_secret"), secret);
        string expected = Python("""
            import sys, nbformat
            from nbformat.sign import NotebookNotary
            notary = NotebookNotary(data_dir=sys.argv[2])
            print(notary.compute_signature(nbformat.read(sys.argv[1], as_version=4)))
            """, path, _dir);
        Assert.Equal(expected, NotebookTrust.Signature(json, NotebookTrust.Secret(_dir)));
        Assert.NotEqual(expected, NotebookTrust.Signature(json.Replace("0.1", "0.2"), secret));  // the values count
    }

    [Fact]
    public void Floats_print_as_python_repr()
    {
        double[] values = [0.1, 1.0, 1e-5, 1e-4, 0.0001234, 1e16, 1e15, 123456789.125, -2.5e-7, 1.0 / 3, 5e-324, 1.7976931348623157e308, 100.0, 2.5e15, -0.0];
        string repr = Python("import sys; print(' '.join(repr(float(v)) for v in sys.argv[1:]))", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        Assert.Equal(repr, string.Join(' ', values.Select(NotebookTrust.PythonFloat)));
    }

    [Fact]
    public void An_executed_notebook_is_trusted_and_every_chart_has_a_static_image()
    {
        string ipynb = _sample.Notebook;
        // Trusted by nbformat against the workbook's own key and database (the folder ./workbook notebook uses) …
        Assert.True(TrustedByNbformat(ipynb, NotebookTrust.DataDirectory), "nbformat does not trust the executed notebook");
        // … and only as written: a changed output is no longer trusted.
        Assert.False(TrustedByNbformat(_sample.Tampered, NotebookTrust.DataDirectory), "a modified notebook is still trusted");

        var nb = Ipynb.Load(ipynb);
        var charts = ChartFallbacks.Charts(nb);
        Assert.Equal(2, charts.Count);
        foreach (var (data, id) in charts)
        {
            var png = Convert.FromBase64String((string)data["image/png"]!);
            Assert.True(png.Length > 5_000 && png[..4].SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }), $"{id}: image/png is not a chart-sized PNG");
            string html = (string)data["text/html"]!;
            Assert.Contains($"<img id=\"{id}-static\"", html);       // shown where scripts are stripped
            Assert.Contains($"getElementById('{id}-static')", html);  // removed where plotly.js runs
        }
        string text = File.ReadAllText(ipynb);
        Assert.Equal(1, text.Split("plotly.js v2").Length - 1);    // plotly.js once per notebook
    }

    /// <summary>
    /// In Debian's Jupyter Notebook with the workbook's Jupyter folders (build/jupyter.sh): the executed notebook opens
    /// trusted with its chart drawn by plotly.js and the static image gone; a modified copy opens untrusted and shows
    /// the static image instead. Screenshots: TestResults/trust/.
    /// </summary>
    [Fact]
    public async Task Jupyter_opens_the_executed_notebook_trusted_and_an_untrusted_copy_shows_the_static_image()
    {
        Assert.True(File.Exists("/usr/bin/jupyter-notebook"), "/usr/bin/jupyter-notebook is missing: apt-get install -y jupyter-notebook (./workbook setup does).");
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = budget.Token;
        string tree = Path.GetDirectoryName(_sample.Notebook)!, token = Guid.NewGuid().ToString("N"), shots = Path.Combine(AppContext.BaseDirectory, "TestResults", "trust");
        int port = FreePort();
        var psi = new ProcessStartInfo(Path.Combine(NoPrior.Workbook.RepositoryRoot, "build", "jupyter.sh")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "jupyter-notebook", "--allow-root", "--ip=127.0.0.1", $"--port={port}", "--port-retries=0", "--no-browser", $"--notebook-dir={tree}",
                     $"--NotebookApp.token={token}", "--MappingKernelManager.default_kernel_name=.net-csharp" })
            psi.ArgumentList.Add(a);
        var log = new System.Text.StringBuilder();
        using var server = Process.Start(psi)!;
        server.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.BeginOutputReadLine(); server.BeginErrorReadLine();
        try
        {
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    Assert.False(server.HasExited, $"jupyter-notebook exited:\n{log}");
                    try { if ((await http.GetAsync($"http://127.0.0.1:{port}/api/status?token={token}", ct)).IsSuccessStatusCode) break; }
                    catch (HttpRequestException) { }
                    catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
                    await Task.Delay(250, ct);
                }
            await using var page = await HeadlessChromium.StartAsync(ct, localhostAllowed: true);

            await page.NavigateAsync($"http://127.0.0.1:{port}/notebooks/sample.ipynb?token={token}", ct);
            await page.UntilAsync("!!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded)", "the notebook to load", ct);
            await page.UntilAsync("document.querySelectorAll('#noprior-plot-1 .main-svg').length > 0", "the chart to be drawn", ct);
            await page.ScreenshotAsync(Path.Combine(shots, "trusted.png"), ct);
            Assert.True(await page.ValueAsync<bool>("Jupyter.notebook.trusted", ct), "the executed notebook opened untrusted");
            Assert.Equal(0, await page.ValueAsync<int>("document.querySelectorAll('img.noprior-static').length", ct));

            await page.NavigateAsync($"http://127.0.0.1:{port}/notebooks/{Path.GetFileName(_sample.Tampered)}?token={token}", ct);
            await page.UntilAsync("!!(window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded)", "the modified copy to load", ct);
            await page.UntilAsync("Array.from(document.querySelectorAll('img.noprior-static')).filter(i => i.complete && i.naturalWidth > 300).length == 2",
                "both static images to show", ct);
            await page.ScreenshotAsync(Path.Combine(shots, "untrusted.png"), ct);
            Assert.False(await page.ValueAsync<bool>("Jupyter.notebook.trusted", ct), "a modified copy opened trusted");
            Assert.Equal(0, await page.ValueAsync<int>("document.querySelectorAll('.main-svg').length", ct));
        }
        catch
        {
            lock (log) Console.Error.WriteLine(log);
            throw;
        }
        finally
        {
            try { server.Kill(entireProcessTree: true); server.WaitForExit(10_000); } catch (InvalidOperationException) { }
        }
    }

    static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>The fixture notebook sample.ipynb executed once by the runner, plus a copy with one output changed.</summary>
public sealed class ExecutedSample : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-trust-run-").FullName;

    public string Notebook => Path.Combine(_dir, "notebooks", "sample.ipynb");
    public string Tampered => Path.Combine(_dir, "notebooks", "sample-modified.ipynb");

    public ExecutedSample()
    {
        var run = RunnerHarness.Workbook("run", Path.Combine(RunnerHarness.Fixtures, "sample.ipynb"), "--out", _dir);
        Assert.True(run.ExitCode == 0, run.All);
        var changed = Ipynb.Load(Notebook);
        var (firstChart, _) = ChartFallbacks.Charts(changed)[0];
        firstChart["text/html"] = (string)firstChart["text/html"]! + "<b>changed</b>";
        Ipynb.Save(changed, Tampered);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
