using System.Diagnostics;
using System.Text.Json.Nodes;
using NoPrior.Kernel.Tests;

namespace NoPrior.Notebooks.Tests;

/// <summary>
/// Debian's Chromium, headless, with no network (every host name resolves to nothing), driven over the DevTools
/// protocol (the kernel tests' <see cref="DevToolsClient"/>): open a file:// page, wait for a condition, read the DOM,
/// take a screenshot.
/// </summary>
sealed class HeadlessChromium : IAsyncDisposable
{
    const string Binary = "/usr/bin/chromium";
    readonly Process _process;
    readonly string _profile;
    DevToolsClient _page = null!;

    HeadlessChromium(Process process, string profile) { _process = process; _profile = profile; }

    public static async Task<HeadlessChromium> StartAsync(CancellationToken ct, int width = 1200, int height = 1600, bool localhostAllowed = false)
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: install it with 'apt-get install -y chromium' (./workbook setup does).");
        string profile = Directory.CreateTempSubdirectory("noprior-chromium-").FullName;
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", localhostAllowed ? "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" : "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files", $"--user-data-dir={profile}",
                     "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--window-size={width},{height}", "about:blank" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { }; process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine(); process.BeginErrorReadLine();
        var chromium = new HeadlessChromium(process, profile);
        try
        {
            string portFile = Path.Combine(profile, "DevToolsActivePort");
            int port;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (process.HasExited) throw new InvalidOperationException($"chromium exited with {process.ExitCode}");
                if (File.Exists(portFile) && File.ReadAllLines(portFile) is [var first, ..] && int.TryParse(first, out port)) break;
                await Task.Delay(100, ct);
            }
            chromium._page = await DevToolsClient.ConnectAsync(port, ct);
            await chromium._page.SendAsync("Page.enable", null, ct);
            await chromium._page.SendAsync("Page.addScriptToEvaluateOnNewDocument",
                new JsonObject { ["source"] = "window.__errors = []; window.addEventListener('error', e => window.__errors.push(String(e.message)));" }, ct);
            return chromium;
        }
        catch
        {
            await chromium.DisposeAsync();
            throw;
        }
    }

    public Task OpenAsync(string file, CancellationToken ct) => NavigateAsync(new Uri(Path.GetFullPath(file)).AbsoluteUri, ct);

    public async Task NavigateAsync(string url, CancellationToken ct)
    {
        await _page.SendAsync("Page.navigate", new JsonObject { ["url"] = url }, ct);
        string path = System.Text.Json.JsonSerializer.Serialize(new Uri(url).AbsolutePath);
        await UntilAsync($"document.readyState === 'complete' && location.pathname === {path}", "the page to load", ct);
    }

    public Task<JsonNode?> EvaluateAsync(string expression, CancellationToken ct) => _page.EvaluateAsync(expression, ct);

    public async Task<T> ValueAsync<T>(string expression, CancellationToken ct) => (await _page.EvaluateAsync(expression, ct))!.GetValue<T>();

    public async Task UntilAsync(string condition, string what, CancellationToken ct, double seconds = 60)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try { if ((await _page.EvaluateAsync(condition, ct))?.GetValue<bool>() == true) return; }
            catch (InvalidOperationException) { }  // the page is still loading
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"gave up waiting for {what} after {clock.Elapsed.TotalSeconds:F0} s");
            await Task.Delay(200, ct);
        }
    }

    /// <summary>A PNG of the whole page (not just the window).</summary>
    public async Task ScreenshotAsync(string path, CancellationToken ct)
    {
        var shot = await _page.SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true }, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot["data"]!.GetValue<string>()), ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_page is not null) await _page.DisposeAsync();
        try { if (!_process.HasExited) { _process.Kill(entireProcessTree: true); _process.WaitForExit(10_000); } } catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
