using NoPrior.Notebooks;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using NetMQ;
using NetMQ.Sockets;
using NoPrior.Kernel.Protocol;

namespace NoPrior.Kernel;

/// <summary>
/// A Jupyter kernel speaking messaging protocol 5.3 over NetMQ: binds the shell, iopub, stdin, control and heartbeat
/// sockets of a connection file and serves requests with an <see cref="ICellExecutor"/>.
/// </summary>
/// <remarks>
/// Threading: NetMQ sockets are not thread-safe, so one poller thread owns every socket. It receives, echoes
/// heartbeats, answers control requests at once (an interrupt must not wait behind the cell it interrupts) and sends
/// everything queued in <c>_outbox</c>, in order. Shell requests go through a channel to a single worker, which
/// handles them one at a time as the protocol expects; each is wrapped in iopub <c>status: busy</c> / <c>idle</c>
/// with the request as parent. jupyter_client 7.4's <c>wait_for_ready</c> needs that iopub traffic around
/// <c>kernel_info_request</c> — the reason Microsoft.Jupyter.Core 1.4 never becomes ready with Debian 12's client.
/// </remarks>
public sealed class KernelServer : IDisposable
{
    /// <summary>Implementation name reported in kernel_info_reply.</summary>
    public const string Implementation = "noprior-csharp";

    readonly WireCodec _codec;
    readonly TextWriter _log;
    readonly string _session = Guid.NewGuid().ToString("N");
    readonly RouterSocket _shell = new(), _control = new(), _stdin = new(), _hb = new();
    readonly PublisherSocket _iopub = new();
    readonly NetMQQueue<Outgoing> _outbox = new();
    readonly NetMQPoller _poller;
    readonly Channel<JupyterMessage> _shellQueue = Channel.CreateUnbounded<JupyterMessage>(new UnboundedChannelOptions { SingleReader = true });
    readonly TaskCompletionSource<bool> _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly object _gate = new();
    readonly ICellExecutor _executor;
    CancellationTokenSource? _running;
    bool _disposed;

    readonly record struct Outgoing(NetMQSocket? Socket, NetMQMessage? Message, Action? After);

    /// <summary>Binds the sockets described by <paramref name="connection"/> (port 0 binds a free port).</summary>
    /// <param name="connection">Parsed connection file.</param>
    /// <param name="executorFactory">Creates the cell executor (once now; a restart is a new process).</param>
    /// <param name="log">Where the kernel logs (stderr of the kernel process; never a cell's captured stderr).</param>
    public KernelServer(ConnectionInfo connection, Func<ICellExecutor> executorFactory, TextWriter? log = null)
    {
        _codec = new WireCodec(connection.Key);
        _log = log ?? TextWriter.Null;
        foreach (var s in new NetMQSocket[] { _shell, _control, _stdin, _hb, _iopub })
            s.Options.Linger = TimeSpan.FromSeconds(1);  // deliver the shutdown_reply before the sockets close
        Connection = connection with
        {
            ShellPort = Bind(_shell, connection, connection.ShellPort, "shell"),
            IopubPort = Bind(_iopub, connection, connection.IopubPort, "iopub"),
            StdinPort = Bind(_stdin, connection, connection.StdinPort, "stdin"),
            ControlPort = Bind(_control, connection, connection.ControlPort, "control"),
            HbPort = Bind(_hb, connection, connection.HbPort, "heartbeat"),
        };
        _executor = executorFactory();

        _shell.ReceiveReady += (_, e) => { if (TryReceive(e.Socket, "shell") is { } m) _shellQueue.Writer.TryWrite(m); };
        _control.ReceiveReady += (_, e) => { if (TryReceive(e.Socket, "control") is { } m) HandleControl(m); };
        _stdin.ReceiveReady += (_, e) => TryReceive(e.Socket, "stdin");  // input_request is never sent; drain stray replies
        _hb.ReceiveReady += (_, e) => { var m = e.Socket.ReceiveMultipartMessage(); e.Socket.SendMultipartMessage(m); };
        _outbox.ReceiveReady += (_, e) =>
        {
            while (e.Queue.TryDequeue(out var item, TimeSpan.Zero))
            {
                if (item.Socket is not null && item.Message is not null) item.Socket.SendMultipartMessage(item.Message);
                item.After?.Invoke();
            }
        };
        _poller = [_shell, _control, _stdin, _hb, _iopub, _outbox];
    }

    /// <summary>The connection actually bound (ports resolved when the file asked for 0).</summary>
    public ConnectionInfo Connection { get; }

    /// <summary>This kernel's session id (header.session of every message it sends).</summary>
    public string Session => _session;

    static int Bind(NetMQSocket socket, ConnectionInfo c, int port, string name)
    {
        try
        {
            if (port != 0) { socket.Bind(c.Endpoint(port)); return port; }
            return socket.BindRandomPort($"{c.Transport}://{c.Ip}");
        }
        catch (NetMQException e)
        {
            throw new InvalidOperationException($"Cannot bind the {name} socket to {c.Endpoint(port)}: {e.Message}", e);
        }
    }

    /// <summary>Serves until a shutdown_request arrives or <paramref name="cancellationToken"/> is cancelled.</summary>
    /// <returns>True when a shutdown_request asked for a restart.</returns>
    public async Task<bool> RunAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _poller.RunAsync("jupyter-kernel-poller");
        Publish("status", new JsonObject { ["execution_state"] = "starting" }, parent: null);
        var worker = Task.Run(ProcessShellAsync);
        bool restart;
        using (cancellationToken.Register(() => _shutdown.TrySetResult(false)))
            restart = await _shutdown.Task;
        Interrupt();
        _shellQueue.Writer.TryComplete();
        // Let queued replies (the shutdown_reply above all) reach the sockets before the poller stops.
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _outbox.Enqueue(new Outgoing(null, null, () => flushed.TrySetResult()));
        await Task.WhenAny(flushed.Task, Task.Delay(TimeSpan.FromSeconds(2)));
        await Task.WhenAny(worker, Task.Delay(TimeSpan.FromSeconds(2)));
        _poller.Stop();
        return restart;
    }

    JupyterMessage? TryReceive(NetMQSocket socket, string channel)
    {
        var wire = socket.ReceiveMultipartMessage();
        try { return _codec.Decode(wire); }
        catch (InvalidMessageException e)
        {
            // Unsigned or tampered messages are dropped without a reply: answering would help whoever forged them.
            _log.WriteLine($"kernel: dropped a message on {channel}: {e.Message}");
            return null;
        }
    }

    void Send(NetMQSocket socket, JupyterMessage message) => _outbox.Enqueue(new Outgoing(socket, _codec.Encode(message), null));

    void Reply(NetMQSocket socket, JupyterMessage request, string msgType, JsonObject content) =>
        Send(socket, JupyterMessage.Reply(request, msgType, _session, content));

    void Publish(string msgType, JsonObject content, JupyterMessage? parent)
    {
        var message = new JupyterMessage
        {
            Identities = [Encoding.UTF8.GetBytes($"kernel.{_session}.{msgType}")],
            Header = JupyterMessage.NewHeader(msgType, _session),
            ParentHeader = parent is null ? new JsonObject() : (JsonObject)parent.Header.DeepClone(),
            Content = content,
        };
        Send(_iopub, message);
    }

    void PublishStatus(string state, JupyterMessage parent) => Publish("status", new JsonObject { ["execution_state"] = state }, parent);

    // ---- control channel (poller thread) ----

    void HandleControl(JupyterMessage request)
    {
        switch (request.MsgType)
        {
            case "interrupt_request":
                Interrupt();
                Reply(_control, request, "interrupt_reply", new JsonObject { ["status"] = "ok" });
                break;
            case "shutdown_request":
                Shutdown(_control, request);
                break;
            case "kernel_info_request":
                PublishStatus("busy", request);
                Reply(_control, request, "kernel_info_reply", KernelInfo());
                PublishStatus("idle", request);
                break;
            default:
                _log.WriteLine($"kernel: ignored control message '{request.MsgType}'");
                break;
        }
    }

    /// <summary>Interrupts the running cell, if any (interrupt_request, or SIGINT as ipykernel treats it).</summary>
    public void Interrupt()
    {
        lock (_gate) _running?.Cancel();
    }

    void Shutdown(NetMQSocket socket, JupyterMessage request)
    {
        bool restart = request.Content["restart"]?.GetValue<bool>() ?? false;
        Reply(socket, request, "shutdown_reply", new JsonObject { ["status"] = "ok", ["restart"] = restart });
        // A restart is a new process: jupyter_client waits for this one to exit and starts another, so the next
        // session starts from an empty script state.
        _shutdown.TrySetResult(restart);
    }

    // ---- shell channel (worker) ----

    async Task ProcessShellAsync()
    {
        await foreach (var request in _shellQueue.Reader.ReadAllAsync())
        {
            PublishStatus("busy", request);
            try { await HandleShellAsync(request); }
            catch (Exception e) { _log.WriteLine($"kernel: {request.MsgType} failed: {e}"); }
            finally { PublishStatus("idle", request); }
        }
    }

    async Task HandleShellAsync(JupyterMessage request)
    {
        var c = request.Content;
        switch (request.MsgType)
        {
            case "kernel_info_request":
                Reply(_shell, request, "kernel_info_reply", KernelInfo());
                break;
            case "execute_request":
                bool failed = await ExecuteAsync(request);
                if (failed && (c["stop_on_error"]?.GetValue<bool>() ?? true)) AbortQueuedExecutions();
                break;
            case "is_complete_request":
            {
                string status = CSharpCodeAnalysis.IsComplete(c["code"]?.GetValue<string>() ?? "");
                var content = new JsonObject { ["status"] = status };
                if (status == "incomplete") content["indent"] = "    ";
                Reply(_shell, request, "is_complete_reply", content);
                break;
            }
            case "complete_request":
            {
                string code = c["code"]?.GetValue<string>() ?? "";
                int cursor = c["cursor_pos"]?.GetValue<int>() ?? code.Length;
                CompletionResult r;
                try { r = _executor.Complete(code, cursor); }
                catch (Exception e) { _log.WriteLine($"kernel: completion failed: {e.Message}"); r = new CompletionResult([], cursor, cursor); }
                Reply(_shell, request, "complete_reply", new JsonObject
                {
                    ["status"] = "ok",
                    ["matches"] = new JsonArray(r.Matches.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
                    ["cursor_start"] = r.CursorStart,
                    ["cursor_end"] = r.CursorEnd,
                    ["metadata"] = new JsonObject(),
                });
                break;
            }
            case "inspect_request":
            {
                string code = c["code"]?.GetValue<string>() ?? "";
                int cursor = c["cursor_pos"]?.GetValue<int>() ?? code.Length;
                string? text;
                try { text = _executor.Inspect(code, cursor); }
                catch (Exception e) { _log.WriteLine($"kernel: inspection failed: {e.Message}"); text = null; }
                Reply(_shell, request, "inspect_reply", new JsonObject
                {
                    ["status"] = "ok", ["found"] = text is not null,
                    ["data"] = text is null ? new JsonObject() : new JsonObject { ["text/plain"] = text },
                    ["metadata"] = new JsonObject(),
                });
                break;
            }
            case "history_request":
                Reply(_shell, request, "history_reply", new JsonObject { ["status"] = "ok", ["history"] = new JsonArray() });
                break;
            case "comm_info_request":
                // No comm targets (no widgets); the empty dict tells front ends so.
                Reply(_shell, request, "comm_info_reply", new JsonObject { ["status"] = "ok", ["comms"] = new JsonObject() });
                break;
            case "shutdown_request":  // deprecated on shell, still sent by old clients
                Shutdown(_shell, request);
                break;
            case "comm_open" or "comm_msg" or "comm_close":
                break;  // no comm targets: ignore, as the protocol allows
            default:
                _log.WriteLine($"kernel: ignored shell message '{request.MsgType}'");
                break;
        }
    }

    /// <summary>Runs one execute_request; true when the cell failed.</summary>
    async Task<bool> ExecuteAsync(JupyterMessage request)
    {
        string code = request.Content["code"]?.GetValue<string>() ?? "";
        bool silent = request.Content["silent"]?.GetValue<bool>() ?? false;
        int count = _executor.ExecutionCount + 1;
        CellOutput? error = null;
        using var cts = new CancellationTokenSource();
        // Interruptible from the moment the front end can see the cell started (execute_input).
        lock (_gate) _running = cts;
        try
        {
            if (!silent) Publish("execute_input", new JsonObject { ["code"] = code, ["execution_count"] = count }, request);
            count = await _executor.ExecuteAsync(code, output =>
            {
                if (output.Kind == OutputKind.Error) error = output;
                if (!silent) PublishOutput(output, count, request);
            }, cts.Token);
        }
        catch (Exception e)
        {
            // The executor promised not to throw; report its failure like a cell error rather than dropping the reply.
            error = new CellOutput(OutputKind.Error, ErrorName: e.GetType().Name, ErrorValue: e.Message, Traceback: e.ToString().Split('\n'));
            if (!silent) PublishOutput(error, count, request);
        }
        finally
        {
            lock (_gate) _running = null;
        }

        var reply = error is null
            ? new JsonObject { ["status"] = "ok", ["execution_count"] = count, ["payload"] = new JsonArray(), ["user_expressions"] = new JsonObject() }
            : new JsonObject
            {
                ["status"] = "error", ["execution_count"] = count,
                ["ename"] = error.ErrorName ?? "Error", ["evalue"] = error.ErrorValue ?? "",
                ["traceback"] = Lines(error.Traceback),
            };
        Reply(_shell, request, "execute_reply", reply);
        return error is not null;
    }

    /// <summary>After a failed cell with stop_on_error, queued executions are answered "aborted" (as ipykernel does), so "run all" stops at the first error.</summary>
    void AbortQueuedExecutions()
    {
        var keep = new List<JupyterMessage>();
        while (_shellQueue.Reader.TryRead(out var queued))
        {
            if (queued.MsgType != "execute_request") { keep.Add(queued); continue; }
            PublishStatus("busy", queued);
            Reply(_shell, queued, "execute_reply", new JsonObject { ["status"] = "aborted", ["execution_count"] = _executor.ExecutionCount });
            PublishStatus("idle", queued);
        }
        foreach (var m in keep) _shellQueue.Writer.TryWrite(m);
    }

    void PublishOutput(CellOutput o, int count, JupyterMessage parent)
    {
        switch (o.Kind)
        {
            case OutputKind.Stdout or OutputKind.Stderr:
                Publish("stream", new JsonObject { ["name"] = o.Kind == OutputKind.Stdout ? "stdout" : "stderr", ["text"] = o.Text ?? "" }, parent);
                break;
            case OutputKind.DisplayData or OutputKind.UpdateDisplayData:
                var display = new JsonObject { ["data"] = MimeBundle(o.Data), ["metadata"] = new JsonObject(), ["transient"] = new JsonObject() };
                if (o.DisplayId is not null) display["transient"] = new JsonObject { ["display_id"] = o.DisplayId };
                Publish(o.Kind == OutputKind.DisplayData ? "display_data" : "update_display_data", display, parent);
                break;
            case OutputKind.ExecuteResult:
                Publish("execute_result", new JsonObject { ["execution_count"] = count, ["data"] = MimeBundle(o.Data), ["metadata"] = new JsonObject() }, parent);
                break;
            case OutputKind.Error:
                Publish("error", new JsonObject { ["ename"] = o.ErrorName ?? "Error", ["evalue"] = o.ErrorValue ?? "", ["traceback"] = Lines(o.Traceback) }, parent);
                break;
        }
    }

    static JsonArray Lines(IReadOnlyList<string>? lines) => new((lines ?? []).Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());

    /// <summary>A mime bundle as JSON: JSON mime types carry parsed JSON (nbformat stores them as objects), others strings.</summary>
    static JsonObject MimeBundle(IReadOnlyDictionary<string, string>? data)
    {
        var bundle = new JsonObject();
        foreach (var (mime, text) in data ?? new Dictionary<string, string>())
        {
            JsonNode? value = JsonValue.Create(text);
            if (mime == "application/json" || mime.EndsWith("+json", StringComparison.Ordinal))
                try { value = JsonNode.Parse(text); } catch (System.Text.Json.JsonException) { }
            bundle[mime] = value;
        }
        return bundle;
    }

    static JsonObject KernelInfo() => new()
    {
        ["status"] = "ok",
        ["protocol_version"] = JupyterMessage.ProtocolVersion,
        ["implementation"] = Implementation,
        ["implementation_version"] = typeof(KernelServer).Assembly.GetName().Version?.ToString(3) ?? "1.0.0",
        ["language_info"] = new JsonObject
        {
            // Same language_info as the .NET Interactive C# kernel, so existing notebooks' metadata matches.
            ["name"] = "C#",
            ["version"] = "14.0",
            ["mimetype"] = "text/x-csharp",
            ["file_extension"] = ".cs",
            ["pygments_lexer"] = "csharp",
            ["codemirror_mode"] = "text/x-csharp",
        },
        ["banner"] = $"C# (Roslyn scripting) — NoPrior workbook kernel, .NET {Environment.Version}",
        ["help_links"] = new JsonArray(),
        ["debugger"] = false,
    };

    /// <summary>Stops the poller, closes the sockets and disposes the executor.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_poller.IsRunning) _poller.Stop();
        _poller.Dispose();
        foreach (var s in new NetMQSocket[] { _shell, _control, _stdin, _hb, _iopub }) s.Dispose();
        _outbox.Dispose();
        _executor.Dispose();
    }
}
