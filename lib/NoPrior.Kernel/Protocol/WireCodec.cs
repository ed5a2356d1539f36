using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using NetMQ;

namespace NoPrior.Kernel.Protocol;

/// <summary>A multipart message that does not follow the wire format or fails its signature check.</summary>
public sealed class InvalidMessageException(string message) : Exception(message);

/// <summary>
/// Turns <see cref="JupyterMessage"/>s into ZeroMQ multipart messages and back ("The Wire Protocol"):
/// <c>[identities…, "&lt;IDS|MSG&gt;", hmac, header, parent_header, metadata, content, buffers…]</c>, where hmac is
/// the lowercase hex HMAC-SHA256 of the four JSON frames under the connection key (empty when the key is empty).
/// </summary>
public sealed class WireCodec
{
    /// <summary>The frame that separates routing identities from the message.</summary>
    public static readonly byte[] Delimiter = "<IDS|MSG>"u8.ToArray();
    readonly byte[] _key;

    /// <summary>A codec signing with <paramref name="key"/> (UTF-8 bytes of the connection file's key).</summary>
    public WireCodec(string key) => _key = Encoding.UTF8.GetBytes(key);

    /// <summary>Lowercase hex HMAC-SHA256 of the frames, or "" when signing is disabled.</summary>
    public string Sign(params byte[][] frames)
    {
        if (_key.Length == 0) return "";
        using var hmac = new HMACSHA256(_key);
        foreach (var f in frames) hmac.TransformBlock(f, 0, f.Length, null, 0);
        hmac.TransformFinalBlock([], 0, 0);
        return Convert.ToHexStringLower(hmac.Hash!);
    }

    /// <summary>Serialises and signs a message.</summary>
    public NetMQMessage Encode(JupyterMessage message)
    {
        var parts = new[] { message.Header, message.ParentHeader, message.Metadata, message.Content }
            .Select(o => Encoding.UTF8.GetBytes(o.ToJsonString())).ToArray();
        var wire = new NetMQMessage();
        foreach (var id in message.Identities) wire.Append(id);
        wire.Append(Delimiter);
        wire.Append(Encoding.ASCII.GetBytes(Sign(parts)));
        foreach (var p in parts) wire.Append(p);
        foreach (var b in message.Buffers) wire.Append(b);
        return wire;
    }

    /// <summary>Checks the signature and parses a received multipart message.</summary>
    /// <exception cref="InvalidMessageException">No delimiter, too few frames, a bad signature or malformed JSON.</exception>
    public JupyterMessage Decode(NetMQMessage wire)
    {
        var frames = wire.Select(f => f.ToByteArray()).ToList();
        int d = frames.FindIndex(f => f.AsSpan().SequenceEqual(Delimiter));
        if (d < 0) throw new InvalidMessageException("message has no <IDS|MSG> delimiter");
        if (frames.Count < d + 6) throw new InvalidMessageException($"message has {frames.Count - d - 1} frames after the delimiter; at least 5 are required");
        var parts = frames.GetRange(d + 2, 4).ToArray();
        byte[] expected = Encoding.ASCII.GetBytes(Sign(parts));
        // Constant-time comparison: the signature is the only thing that authenticates a sender.
        if (!CryptographicOperations.FixedTimeEquals(expected, frames[d + 1]))
            throw new InvalidMessageException("message signature does not match the connection key");
        return new JupyterMessage
        {
            Identities = frames.GetRange(0, d),
            Header = ParseObject(parts[0], "header"),
            ParentHeader = ParseObject(parts[1], "parent_header"),
            Metadata = ParseObject(parts[2], "metadata"),
            Content = ParseObject(parts[3], "content"),
            Buffers = frames.Skip(d + 6).ToList(),
        };
    }

    static JsonObject ParseObject(byte[] utf8, string what)
    {
        try { return JsonNode.Parse(utf8) as JsonObject ?? throw new InvalidMessageException($"{what} is not a JSON object"); }
        catch (System.Text.Json.JsonException e) { throw new InvalidMessageException($"{what} is not valid JSON: {e.Message}"); }
    }
}
