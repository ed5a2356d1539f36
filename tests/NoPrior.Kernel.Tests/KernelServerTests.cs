using System.Text.Json.Nodes;
using NetMQ;
using NoPrior.Kernel.Protocol;

namespace NoPrior.Kernel.Tests;

/// <summary>The protocol layer against a fake executor, over real NetMQ sockets on 127.0.0.1.</summary>
public sealed class KernelServerTests : IDisposable
{
    readonly FakeExecutor _executor = new();
    readonly KernelServer _server;
    readonly Task<bool> _run;
    readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));  // bounded even if a test hangs
    readonly KernelClient _client;

    public KernelServerTests()
    {
        var connection = new ConnectionInfo { Key = "test-key" };  // all ports 0: the server picks free ones
        _server = new KernelServer(connection, () => _executor);
        _run = _server.RunAsync(_stop.Token);
        _client = new KernelClient(_server.Connection);
    }

    static string Type(JupyterMessage m) => m.MsgType;
    static string State(JupyterMessage m) => m.Content["execution_state"]!.GetValue<string>();

    [Fact]
    public void Kernel_info_is_wrapped_in_busy_and_idle_on_iopub()
    {
        string id = _client.Send(_client.Shell, "kernel_info_request");
        var reply = _client.Reply(_client.Shell, id);
        Assert.Equal("kernel_info_reply", reply.MsgType);
        Assert.Equal("5.3", reply.Content["protocol_version"]!.GetValue<string>());
        Assert.Equal("C#", reply.Content["language_info"]!["name"]!.GetValue<string>());
        Assert.Equal("5.3", reply.Header["version"]!.GetValue<string>());
        var iopub = _client.IopubUntilIdle(id);
        Assert.Equal(["status", "status"], iopub.Select(Type));
        Assert.Equal(["busy", "idle"], iopub.Select(State));
    }

    [Fact]
    public void Execute_publishes_input_streams_displays_result_and_replies_with_the_count()
    {
        string id = _client.Send(_client.Shell, "execute_request", new JsonObject { ["code"] = "print hello\neprint oops\ndisplay d\nvalue 42", ["silent"] = false });
        var reply = _client.Reply(_client.Shell, id);
        Assert.Equal("ok", reply.Content["status"]!.GetValue<string>());
        Assert.Equal(1, reply.Content["execution_count"]!.GetValue<int>());

        var iopub = _client.IopubUntilIdle(id);
        Assert.Equal(["status", "execute_input", "stream", "stream", "display_data", "update_display_data", "execute_result", "status"], iopub.Select(Type));
        Assert.Equal("hello\n", iopub[2].Content["text"]!.GetValue<string>());
        Assert.Equal("stderr", iopub[3].Content["name"]!.GetValue<string>());
        Assert.Equal("d1", iopub[4].Content["transient"]!["display_id"]!.GetValue<string>());
        Assert.Equal("d!", iopub[5].Content["data"]!["text/plain"]!.GetValue<string>());
        Assert.Equal(1, iopub[6].Content["execution_count"]!.GetValue<int>());
        Assert.Equal(1, iopub[6].Content["data"]!["application/json"]!["v"]!.GetValue<int>());  // JSON mime types stay JSON

        string second = _client.Send(_client.Shell, "execute_request", new JsonObject { ["code"] = "value 1" });
        Assert.Equal(2, _client.Reply(_client.Shell, second).Content["execution_count"]!.GetValue<int>());
    }

    [Fact]
    public void A_failing_cell_replies_error_and_publishes_one_error_message()
    {
        string id = _client.Send(_client.Shell, "execute_request", new JsonObject { ["code"] = "fail broken" });
        var reply = _client.Reply(_client.Shell, id);
        Assert.Equal("error", reply.Content["status"]!.GetValue<string>());
        Assert.Equal("FakeError", reply.Content["ename"]!.GetValue<string>());
        Assert.Equal("broken", reply.Content["evalue"]!.GetValue<string>());
        var outputs = _client.IopubUntilIdle(id).Where(m => m.MsgType is not ("status" or "execute_input")).ToList();
        Assert.Equal("error", Assert.Single(outputs).MsgType);
    }

    [Fact]
    public void Interrupt_request_on_control_cancels_the_running_cell()
    {
        string id = _client.Send(_client.Shell, "execute_request", new JsonObject { ["code"] = "hang" });
        // An interrupt only reaches a cell that has started; execute_input says it has (a fixed sleep raced under load).
        _client.UntilIopub(id, "execute_input");
        string interrupt = _client.Send(_client.Control, "interrupt_request");
        Assert.Equal("interrupt_reply", _client.Reply(_client.Control, interrupt).MsgType);
        var reply = _client.Reply(_client.Shell, id);
        Assert.Equal("OperationCanceledException", reply.Content["ename"]!.GetValue<string>());
    }

    [Fact]
    public void Is_complete_complete_and_comm_info_replies()
    {
        string a = _client.Send(_client.Shell, "is_complete_request", new JsonObject { ["code"] = "if (true) {" });
        var isComplete = _client.Reply(_client.Shell, a);
        Assert.Equal("incomplete", isComplete.Content["status"]!.GetValue<string>());
        Assert.Equal("    ", isComplete.Content["indent"]!.GetValue<string>());

        _client.Reply(_client.Shell, _client.Send(_client.Shell, "execute_request", new JsonObject { ["code"] = "var gamma = 3;" }));
        string b = _client.Send(_client.Shell, "complete_request", new JsonObject { ["code"] = "gam", ["cursor_pos"] = 3 });
        var complete = _client.Reply(_client.Shell, b);
        Assert.Contains("gamma", complete.Content["matches"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(0, complete.Content["cursor_start"]!.GetValue<int>());

        string c = _client.Send(_client.Shell, "comm_info_request");
        var comm = _client.Reply(_client.Shell, c);
        Assert.Equal("ok", comm.Content["status"]!.GetValue<string>());
        Assert.Empty(comm.Content["comms"]!.AsObject());
    }

    [Fact]
    public void Heartbeat_echoes()
    {
        _client.Heartbeat.SendFrame("ping");
        Assert.True(_client.Heartbeat.TryReceiveFrameString(TimeSpan.FromSeconds(10), out var echo));
        Assert.Equal("ping", echo);
    }

    [Fact]
    public void A_message_signed_with_another_key_gets_no_answer()
    {
        _client.Send(_client.Shell, "kernel_info_request", codec: new WireCodec("wrong-key"));
        Assert.Null(_client.Receive(_client.Shell, TimeSpan.FromMilliseconds(700)));
        // …and the kernel keeps serving correctly signed requests.
        string id = _client.Send(_client.Shell, "kernel_info_request");
        Assert.Equal("kernel_info_reply", _client.Reply(_client.Shell, id).MsgType);
    }

    [Fact]
    public async Task Shutdown_request_replies_and_stops_the_server()
    {
        string id = _client.Send(_client.Control, "shutdown_request", new JsonObject { ["restart"] = true });
        var reply = _client.Reply(_client.Control, id);
        Assert.True(reply.Content["restart"]!.GetValue<bool>());
        var finished = await Task.WhenAny(_run, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(_run, finished);
        Assert.True(await _run);  // restart requested
    }

    public void Dispose()
    {
        _stop.Cancel();
        _run.Wait(TimeSpan.FromSeconds(10));
        _client.Dispose();
        _server.Dispose();
        Assert.True(_executor.Disposed);
        _stop.Dispose();
    }
}
