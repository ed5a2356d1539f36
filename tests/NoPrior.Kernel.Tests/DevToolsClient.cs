using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace NoPrior.Kernel.Tests;

/// <summary>A minimal Chrome DevTools Protocol client: one page target, request/response by id, events ignored.</summary>
sealed class DevToolsClient : IAsyncDisposable
{
    readonly ClientWebSocket _socket = new();
    int _nextId;

    public static async Task<DevToolsClient> ConnectAsync(int port, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var targets = JsonNode.Parse(await http.GetStringAsync("json/list", ct))!.AsArray();
        var page = targets.FirstOrDefault(t => t!["type"]!.GetValue<string>() == "page")
                   ?? throw new InvalidOperationException($"Chromium has no page target: {targets.ToJsonString()}");
        var client = new DevToolsClient();
        await client._socket.ConnectAsync(new Uri(page["webSocketDebuggerUrl"]!.GetValue<string>()), ct);
        return client;
    }

    /// <summary>Sends a command and returns its result (events received meanwhile are skipped).</summary>
    public async Task<JsonObject> SendAsync(string method, JsonObject? parameters, CancellationToken ct)
    {
        int id = Interlocked.Increment(ref _nextId);
        var request = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, ct);
        var buffer = new byte[1 << 16];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult r;
            do { r = await _socket.ReceiveAsync(buffer, ct); message.Write(buffer, 0, r.Count); } while (!r.EndOfMessage);
            if (r.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("Chromium closed the DevTools connection");
            var reply = JsonNode.Parse(message.ToArray())!.AsObject();
            if (reply["id"]?.GetValue<int>() != id) continue;
            if (reply["error"] is { } error) throw new InvalidOperationException($"DevTools {method} failed: {error.ToJsonString()}");
            return reply["result"]!.AsObject();
        }
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its JSON value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, CancellationToken ct)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true }, ct);
        if (result["exceptionDetails"] is { } ex) throw new InvalidOperationException($"page script failed: {ex.ToJsonString()}");
        return result["result"]!["value"]?.DeepClone();
    }

    public async ValueTask DisposeAsync()
    {
        try { if (_socket.State == WebSocketState.Open) await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None); }
        catch (WebSocketException) { }
        _socket.Dispose();
    }
}
