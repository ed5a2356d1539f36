using System.Text.Json;
using System.Text.Json.Serialization;

namespace NoPrior.Kernel.Protocol;

/// <summary>
/// The connection file a Jupyter front end writes before starting a kernel: where to bind the five sockets and the
/// key that signs every message (messaging protocol 5.3, "Connection files").
/// </summary>
public sealed record ConnectionInfo
{
    /// <summary>Transport; only "tcp" is supported.</summary>
    [JsonPropertyName("transport")] public string Transport { get; init; } = "tcp";
    /// <summary>Address to bind; the workbook only accepts loopback addresses.</summary>
    [JsonPropertyName("ip")] public string Ip { get; init; } = "127.0.0.1";
    /// <summary>Port of the shell (ROUTER) socket: requests and replies.</summary>
    [JsonPropertyName("shell_port")] public int ShellPort { get; init; }
    /// <summary>Port of the iopub (PUB) socket: outputs and status broadcasts.</summary>
    [JsonPropertyName("iopub_port")] public int IopubPort { get; init; }
    /// <summary>Port of the stdin (ROUTER) socket.</summary>
    [JsonPropertyName("stdin_port")] public int StdinPort { get; init; }
    /// <summary>Port of the control (ROUTER) socket: interrupt and shutdown.</summary>
    [JsonPropertyName("control_port")] public int ControlPort { get; init; }
    /// <summary>Port of the heartbeat (echo) socket.</summary>
    [JsonPropertyName("hb_port")] public int HbPort { get; init; }
    /// <summary>HMAC key; empty disables signing (as in the protocol).</summary>
    [JsonPropertyName("key")] public string Key { get; init; } = "";
    /// <summary>Signature scheme; only "hmac-sha256" is supported.</summary>
    [JsonPropertyName("signature_scheme")] public string SignatureScheme { get; init; } = "hmac-sha256";
    /// <summary>Kernel name the front end started (informational).</summary>
    [JsonPropertyName("kernel_name")] public string? KernelName { get; init; }

    /// <summary>The ZeroMQ endpoint for a port on this connection's address.</summary>
    public string Endpoint(int port) => $"{Transport}://{Ip}:{port}";

    /// <summary>Reads and validates a connection file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON or asks for something this kernel does not support.</exception>
    public static ConnectionInfo Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Jupyter connection file '{path}' does not exist.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates the JSON of a connection file.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">Where the text came from, for error messages.</param>
    /// <exception cref="InvalidDataException">Invalid JSON, an unsupported transport or signature scheme, a non-loopback address or a bad port.</exception>
    public static ConnectionInfo Parse(string json, string source = "connection file")
    {
        ConnectionInfo? info;
        try { info = JsonSerializer.Deserialize<ConnectionInfo>(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not a valid Jupyter connection file ({e.Message}).", e); }
        if (info is null) throw new InvalidDataException($"{source}: empty connection file.");
        if (info.Transport != "tcp")
            throw new InvalidDataException($"{source}: transport '{info.Transport}' is not supported (this kernel speaks tcp only).");
        if (info.SignatureScheme != "hmac-sha256")
            throw new InvalidDataException($"{source}: signature scheme '{info.SignatureScheme}' is not supported (only hmac-sha256).");
        // The workbook's servers are loopback-only; refusing other addresses keeps an unsigned or leaked key harmless.
        if (info.Ip is not ("127.0.0.1" or "localhost" or "::1"))
            throw new InvalidDataException($"{source}: ip '{info.Ip}' is not a loopback address; this kernel binds to 127.0.0.1 only.");
        foreach (var (name, port) in new[] { ("shell_port", info.ShellPort), ("iopub_port", info.IopubPort), ("stdin_port", info.StdinPort), ("control_port", info.ControlPort), ("hb_port", info.HbPort) })
            if (port is < 0 or > 65535) throw new InvalidDataException($"{source}: {name} {port} is not a TCP port (0 picks a free one).");
        return info;
    }
}
