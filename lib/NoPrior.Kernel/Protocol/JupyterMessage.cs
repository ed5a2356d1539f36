using System.Text.Json.Nodes;

namespace NoPrior.Kernel.Protocol;

/// <summary>
/// One Jupyter message (protocol 5.3 "General message format"): routing identities, then header, parent header,
/// metadata and content as JSON objects, then optional binary buffers.
/// </summary>
public sealed class JupyterMessage
{
    /// <summary>The protocol version this kernel speaks, written into every header.</summary>
    public const string ProtocolVersion = "5.3";

    /// <summary>ZeroMQ routing identities that precede the <c>&lt;IDS|MSG&gt;</c> delimiter (the iopub topic for broadcasts).</summary>
    public IReadOnlyList<byte[]> Identities { get; init; } = [];
    /// <summary>msg_id, session, username, date, msg_type, version.</summary>
    public required JsonObject Header { get; init; }
    /// <summary>The header of the request this message answers or belongs to; empty for unsolicited messages.</summary>
    public JsonObject ParentHeader { get; init; } = new();
    /// <summary>Message metadata.</summary>
    public JsonObject Metadata { get; init; } = new();
    /// <summary>The message body, whose shape depends on <see cref="MsgType"/>.</summary>
    public JsonObject Content { get; init; } = new();
    /// <summary>Extra binary frames after the content.</summary>
    public IReadOnlyList<byte[]> Buffers { get; init; } = [];

    /// <summary>The header's msg_type.</summary>
    public string MsgType => Header["msg_type"]?.GetValue<string>() ?? "";
    /// <summary>The header's msg_id.</summary>
    public string MsgId => Header["msg_id"]?.GetValue<string>() ?? "";

    /// <summary>A fresh header for a message this kernel sends.</summary>
    public static JsonObject NewHeader(string msgType, string session) => new()
    {
        ["msg_id"] = Guid.NewGuid().ToString("N"),
        ["session"] = session,
        ["username"] = "kernel",
        ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ"),
        ["msg_type"] = msgType,
        ["version"] = ProtocolVersion,
    };

    /// <summary>A message that answers or belongs to <paramref name="parent"/>; replies reuse the parent's identities.</summary>
    public static JupyterMessage Reply(JupyterMessage parent, string msgType, string session, JsonObject content) => new()
    {
        Identities = parent.Identities,
        Header = NewHeader(msgType, session),
        ParentHeader = (JsonObject)parent.Header.DeepClone(),
        Content = content,
    };
}
