using System.Text.Json.Nodes;
using NetMQ;
using NetMQ.Sockets;
using NoPrior.Kernel.Protocol;

namespace NoPrior.Kernel.Tests;

/// <summary>A minimal Jupyter client over NetMQ (shell and control DEALER, iopub SUB, heartbeat REQ) for protocol tests.</summary>
sealed class KernelClient : IDisposable
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    readonly WireCodec _codec;
    readonly string _session = Guid.NewGuid().ToString("N");
    public DealerSocket Shell { get; } = new();
    public DealerSocket Control { get; } = new();
    public SubscriberSocket Iopub { get; } = new();
    public RequestSocket Heartbeat { get; } = new();

    public KernelClient(ConnectionInfo c)
    {
        _codec = new WireCodec(c.Key);
        Shell.Connect(c.Endpoint(c.ShellPort));
        Control.Connect(c.Endpoint(c.ControlPort));
        Iopub.Connect(c.Endpoint(c.IopubPort));
        Iopub.SubscribeToAnyTopic();
        Heartbeat.Connect(c.Endpoint(c.HbPort));
        WaitForIopub();
    }

    /// <summary>
    /// A SUB socket misses what is published before its subscription reaches the publisher ("slow joiner"), so, as
    /// jupyter_client does, ask for kernel_info until iopub answers, then drain everything that produced.
    /// </summary>
    void WaitForIopub()
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("iopub never delivered a message");
            Send(Shell, "kernel_info_request");
            if (Receive(Iopub, TimeSpan.FromMilliseconds(200)) is not null) break;
        }
        while (Receive(Iopub, TimeSpan.FromMilliseconds(200)) is not null || Receive(Shell, TimeSpan.FromMilliseconds(50)) is not null) { }
    }

    public string Send(DealerSocket socket, string msgType, JsonObject? content = null, WireCodec? codec = null)
    {
        var m = new JupyterMessage { Header = JupyterMessage.NewHeader(msgType, _session), Content = content ?? new JsonObject() };
        socket.SendMultipartMessage((codec ?? _codec).Encode(m));
        return m.MsgId;
    }

    public JupyterMessage? Receive(NetMQSocket socket, TimeSpan? timeout = null)
    {
        NetMQMessage? wire = null;
        return socket.TryReceiveMultipartMessage(timeout ?? Timeout, ref wire) ? _codec.Decode(wire!) : null;
    }

    public JupyterMessage Reply(DealerSocket socket, string parentId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            var m = Receive(socket) ?? throw new TimeoutException("no reply from the kernel");
            if (ParentId(m) == parentId) return m;
        }
        throw new TimeoutException($"no reply to {parentId}");
    }

    /// <summary>iopub messages for one request, from its busy status up to and including its idle status.</summary>
    public List<JupyterMessage> IopubUntilIdle(string parentId)
    {
        var result = new List<JupyterMessage>();
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            var m = Receive(Iopub) ?? throw new TimeoutException("iopub went quiet before the idle status");
            if (ParentId(m) != parentId) continue;
            result.Add(m);
            if (m.MsgType == "status" && m.Content["execution_state"]!.GetValue<string>() == "idle") return result;
        }
        throw new TimeoutException($"no idle status for {parentId}");
    }

    /// <summary>Waits for the first iopub message of a type for one request.</summary>
    public JupyterMessage UntilIopub(string parentId, string msgType)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            var m = Receive(Iopub) ?? throw new TimeoutException($"iopub went quiet before {msgType}");
            if (ParentId(m) == parentId && m.MsgType == msgType) return m;
        }
        throw new TimeoutException($"no {msgType} for {parentId}");
    }

    public static string? ParentId(JupyterMessage m) => m.ParentHeader["msg_id"]?.GetValue<string>();

    public void Dispose()
    {
        foreach (var s in new NetMQSocket[] { Shell, Control, Iopub, Heartbeat }) { s.Options.Linger = TimeSpan.Zero; s.Dispose(); }
    }
}
