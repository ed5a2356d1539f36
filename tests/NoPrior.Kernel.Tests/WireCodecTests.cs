using System.Text;
using System.Text.Json.Nodes;
using NetMQ;
using NoPrior.Kernel.Protocol;

namespace NoPrior.Kernel.Tests;

public class WireCodecTests
{
    [Fact]
    public void Signature_matches_pythons_hmac_sha256_over_the_four_json_frames()
    {
        // Expected value from /usr/bin/python3: hmac.new(b'secret-key', digestmod=sha256) updated with the same frames.
        var codec = new WireCodec("secret-key");
        string sig = codec.Sign("{\"msg_id\":\"1\"}"u8.ToArray(), "{}"u8.ToArray(), "{}"u8.ToArray(), "{\"code\":\"1+1\"}"u8.ToArray());
        Assert.Equal("f29edc2ae347e99e996cf426a9068abd72bbac08f131d7b7d863f0430600434a", sig);
    }

    [Fact]
    public void Encode_then_decode_round_trips_identities_json_and_buffers()
    {
        var codec = new WireCodec("k");
        var original = new JupyterMessage
        {
            Identities = [[1, 2, 3]],
            Header = JupyterMessage.NewHeader("execute_request", "s"),
            Content = new JsonObject { ["code"] = "var x = 1;" },
            Buffers = [[9, 9]],
        };
        var wire = codec.Encode(original);
        Assert.Equal(1 + 1 + 1 + 4 + 1, wire.FrameCount);
        var back = codec.Decode(wire);
        Assert.Equal([1, 2, 3], back.Identities.Single());
        Assert.Equal("execute_request", back.MsgType);
        Assert.Equal("var x = 1;", back.Content["code"]!.GetValue<string>());
        Assert.Equal([9, 9], back.Buffers.Single());
    }

    [Fact]
    public void Decode_rejects_a_tampered_content_frame()
    {
        var codec = new WireCodec("k");
        var wire = codec.Encode(new JupyterMessage { Header = JupyterMessage.NewHeader("execute_request", "s"), Content = new JsonObject { ["code"] = "1" } });
        var frames = wire.Select(f => f.ToByteArray()).ToList();
        frames[^1] = Encoding.UTF8.GetBytes("{\"code\":\"2\"}");
        var forged = new NetMQMessage(frames);
        var e = Assert.Throws<InvalidMessageException>(() => codec.Decode(forged));
        Assert.Contains("signature", e.Message);
    }

    [Fact]
    public void Decode_rejects_a_message_without_delimiter()
    {
        var e = Assert.Throws<InvalidMessageException>(() => new WireCodec("").Decode(new NetMQMessage(new[] { "{}"u8.ToArray() })));
        Assert.Contains("<IDS|MSG>", e.Message);
    }

    [Fact]
    public void Empty_key_disables_signing()
    {
        Assert.Equal("", new WireCodec("").Sign("{}"u8.ToArray()));
    }
}

public class ConnectionInfoTests
{
    const string Valid = """
        {"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004, "hb_port": 5005,
         "ip": "127.0.0.1", "key": "abc", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": ".net-csharp"}
        """;

    [Fact]
    public void Parses_ports_key_and_endpoint()
    {
        var c = ConnectionInfo.Parse(Valid);
        Assert.Equal((5001, 5002, 5003, 5004, 5005), (c.ShellPort, c.IopubPort, c.StdinPort, c.ControlPort, c.HbPort));
        Assert.Equal("abc", c.Key);
        Assert.Equal("tcp://127.0.0.1:5004", c.Endpoint(c.ControlPort));
    }

    [Theory]
    [InlineData("\"ip\": \"127.0.0.1\"", "\"ip\": \"0.0.0.0\"", "not a loopback")]
    [InlineData("\"transport\": \"tcp\"", "\"transport\": \"ipc\"", "transport 'ipc'")]
    [InlineData("\"hmac-sha256\"", "\"hmac-md5\"", "signature scheme")]
    [InlineData("\"hb_port\": 5005", "\"hb_port\": 70000", "hb_port")]
    public void Rejects_what_the_kernel_does_not_support_with_a_clear_message(string from, string to, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => ConnectionInfo.Parse(Valid.Replace(from, to), "k.json"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("k.json:", e.Message);
    }

    [Fact]
    public void Rejects_invalid_json()
    {
        var e = Assert.Throws<InvalidDataException>(() => ConnectionInfo.Parse("{ not json"));
        Assert.Contains("not a valid Jupyter connection file", e.Message);
    }
}
