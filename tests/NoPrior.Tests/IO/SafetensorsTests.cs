using System.Buffers.Binary;
using System.Text;
using NoPrior.IO;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Tests;

public sealed class SafetensorsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("noprior-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);
    string PathOf(string name) => Path.Combine(_dir, name);

    static byte[] Bytes(Tensor t) { using var c = t.contiguous(); return c.numel() == 0 ? Array.Empty<byte>() : c.bytes.ToArray(); }

    /// <summary>8-byte little-endian length, the header padded with spaces to a multiple of 8, then the data.</summary>
    static byte[] Expected(string header, params byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        int padded = (h.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        h.CopyTo(bytes, 8);
        for (int i = 8 + h.Length; i < 8 + padded; i++) bytes[i] = (byte)' ';
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }

    [Fact]
    public void Writer_matches_a_hand_built_byte_fixture()
    {
        using var a = torch.tensor(new[] { 1.0, -0.0 }, dtype: ScalarType.Float64);
        var got = Safetensors.Serialize(new Dictionary<string, Tensor> { ["a"] = a });
        const string header = "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
        Assert.Equal(55, header.Length); // so 1 space of padding to 56
        var expected = Expected(header,
            0, 0, 0, 0, 0, 0, 0xF0, 0x3F,   // 1.0
            0, 0, 0, 0, 0, 0, 0, 0x80);     // −0.0
        Assert.Equal(expected, got);
        Assert.Equal(56UL, BinaryPrimitives.ReadUInt64LittleEndian(got));
        Assert.Equal((byte)' ', got[8 + 55]);
    }

    [Fact]
    public void Writer_orders_tensors_like_the_reference_and_writes_metadata_first()
    {
        using var z = torch.tensor(new[] { 7 }, dtype: ScalarType.Int32);
        using var a = torch.tensor(new byte[] { 1, 2, 3 }, dtype: ScalarType.Byte);
        var got = Safetensors.Serialize(new Dictionary<string, Tensor> { ["a"] = a, ["z"] = z }, new Dictionary<string, string> { ["k"] = "v\"" });
        // I32 before U8 (descending dtype), whatever the names.
        var expected = Expected(
            "{\"__metadata__\":{\"k\":\"v\\\"\"},\"z\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[4,7]}}",
            7, 0, 0, 0, 1, 2, 3);
        Assert.Equal(expected, got);
        using var back = Safetensors.Deserialize(got);
        Assert.Equal("v\"", back.Metadata["k"]);
        Assert.Equal(7, back["z"][0].ToInt32());
        Assert.Equal(new byte[] { 1, 2, 3 }, Bytes(back["a"]));
    }

    [Fact]
    public void Reader_parses_a_hand_built_file()
    {
        var file = Expected("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0); // 1f, −2f
        using var c = Safetensors.Deserialize(file);
        var w = c["w"];
        Assert.Equal(ScalarType.Float32, w.dtype);
        Assert.Equal(new long[] { 1, 2 }, w.shape);
        Assert.Equal(1f, w[0, 0].ToSingle());
        Assert.Equal(-2f, w[0, 1].ToSingle());
        Assert.Empty(c.Metadata);
    }

    [Fact]
    public void Float64_round_trip_is_bit_exact_for_special_values()
    {
        var specials = new[]
        {
            0.0, -0.0, double.Epsilon, -double.Epsilon, 2.2250738585072009e-308 /* largest subnormal */, double.MaxValue,
            double.MinValue, 2.2250738585072014e-308, double.PositiveInfinity, double.NegativeInfinity,
            BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0001), BitConverter.Int64BitsToDouble(unchecked((long)0xFFF8_DEAD_BEEF_0001)),
            Math.PI, -1.0 / 3.0,
        };
        using var t = torch.tensor(specials, dtype: ScalarType.Float64);
        var path = PathOf("special.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        using var back = Safetensors.Load(path);
        var got = Bytes(back["t"]);
        var expected = specials.SelectMany(BitConverter.GetBytes).ToArray();
        Assert.Equal(expected, got);
    }

    [Fact]
    public void All_supported_dtypes_and_shapes_round_trip()
    {
        using var gen = new Generator(7);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f64_3d"] = torch.randn(new long[] { 2, 3, 4 }, dtype: ScalarType.Float64, generator: gen),
            ["f32"] = torch.tensor(new[] { float.Epsilon, -0f, float.MaxValue, float.NaN }, dtype: ScalarType.Float32),
            ["i64"] = torch.tensor(new[] { long.MinValue, -1L, 0L, long.MaxValue }, dtype: ScalarType.Int64),
            ["i32"] = torch.tensor(new[] { int.MinValue, int.MaxValue }, dtype: ScalarType.Int32),
            ["u8"] = torch.tensor(new byte[] { 0, 255, 17 }, dtype: ScalarType.Byte),
            ["bool"] = torch.tensor(new[] { true, false, true }, dtype: ScalarType.Bool),
            ["scalar"] = torch.tensor(2.5, dtype: ScalarType.Float64),
            ["empty"] = torch.zeros(new long[] { 0, 3 }, dtype: ScalarType.Float64),
            ["transposed"] = torch.arange(6, dtype: ScalarType.Float64).reshape(2, 3).t(), // non-contiguous view
        };
        try
        {
            var bytes = Safetensors.Serialize(tensors);
            using var back = Safetensors.Deserialize(bytes);
            Assert.Equal(tensors.Keys.Order(), back.Tensors.Keys.Order());
            foreach (var (name, t) in tensors)
            {
                Assert.Equal(t.dtype, back[name].dtype);
                Assert.Equal(t.shape, back[name].shape);
                Assert.Equal(Bytes(t), Bytes(back[name]));
            }
            Assert.Equal(new[] { 0.0, 3.0, 1.0, 4.0, 2.0, 5.0 }, back["transposed"].reshape(-1).data<double>().ToArray());
            // Data sections are 8-aligned relative to the data start for the 8-byte dtypes, which come first.
            Assert.Equal(0, (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8);
        }
        finally { foreach (var t in tensors.Values) t.Dispose(); }
    }

    [Fact]
    public void Truncated_or_corrupt_files_give_clear_errors()
    {
        using var t = torch.ones(4, dtype: ScalarType.Float64);
        var good = Safetensors.Serialize(new Dictionary<string, Tensor> { ["t"] = t });

        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(good[..^1], "cut.safetensors"));
        Assert.Contains("cut.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);

        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(good[..5])).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(good[..20])).Message);
        Assert.Contains("trailing", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(good.Append((byte)0).ToArray())).Message);

        var hugeLength = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(hugeLength, ulong.MaxValue / 2);
        Assert.Contains("header length", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(hugeLength)).Message);

        var badJson = (byte[])good.Clone();
        badJson[12] = (byte)'}';
        Assert.Contains("JSON", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(badJson)).Message);

        var badDtype = Expected("{\"w\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
        Assert.Contains("F99", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(badDtype)).Message);

        var wrongSize = Expected("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        Assert.Contains("needs 16 bytes", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(wrongSize)).Message);

        var gap = Expected("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
        Assert.Contains("gap or overlap", Assert.Throws<InvalidDataException>(() => Safetensors.Deserialize(gap)).Message);

        Assert.Throws<FileNotFoundException>(() => Safetensors.Load(PathOf("nope.safetensors")));
    }

    [Fact]
    public void Network_round_trip_gives_identical_weights_and_outputs()
    {
        using var net = HomogeneousMlp.Create(new[] { 6, 9, 4, 1 }, seed: 3);
        var path = PathOf("net.safetensors");
        Safetensors.SaveNetwork(path, net, new Dictionary<string, string> { ["steps"] = "1000" });
        using var back = Safetensors.LoadNetwork(path, expectedWidths: new[] { 6, 9, 4, 1 });
        Assert.Equal(net.Widths, back.Widths);
        for (int k = 0; k < net.Depth; k++) Assert.Equal(Bytes(net.Weights[k]), Bytes(back.Weights[k]));
        using var X = torch.randn(5, 6, dtype: ScalarType.Float64, generator: new Generator(1));
        using var a = net.Forward(X);
        using var b = back.Forward(X);
        Assert.Equal(Bytes(a), Bytes(b));
        using var content = Safetensors.Load(path);
        Assert.Equal("6,9,4,1", content.Metadata["widths"]);
        Assert.Equal("1000", content.Metadata["steps"]);
        Assert.Equal(new long[] { 9, 6 }, content["layers.0.weight"].shape); // PyTorch's [out, in]

        var e = Assert.Throws<InvalidDataException>(() => Safetensors.LoadNetwork(path, expectedWidths: new[] { 6, 10, 4, 1 }));
        Assert.Contains("expected [6, 10, 4, 1]", e.Message);
    }

    [Fact]
    public void A_bias_in_the_file_is_refused_as_non_homogeneous()
    {
        using var w0 = torch.randn(3, 2, dtype: ScalarType.Float64);
        using var b0 = torch.randn(3, dtype: ScalarType.Float64);
        using var w1 = torch.randn(1, 3, dtype: ScalarType.Float64);
        var path = PathOf("bias.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["layers.0.weight"] = w0, ["layers.0.bias"] = b0, ["layers.1.weight"] = w1 });
        var e = Assert.Throws<ArgumentException>(() => Safetensors.LoadNetwork(path));
        Assert.Contains("Non-homogeneous", e.Message);
    }

    [Fact]
    public void Network_files_with_missing_extra_or_mismatched_tensors_are_refused()
    {
        using var w0 = torch.randn(3, 2, dtype: ScalarType.Float64);
        using var w1 = torch.randn(1, 3, dtype: ScalarType.Float64);
        using var w1bad = torch.randn(1, 4, dtype: ScalarType.Float64);
        using var w2wide = torch.randn(2, 3, dtype: ScalarType.Float64);

        InvalidDataException Refused(Dictionary<string, Tensor> tensors)
        {
            var path = PathOf($"n{tensors.GetHashCode()}.safetensors");
            Safetensors.Save(path, tensors);
            var e = Assert.Throws<InvalidDataException>(() => Safetensors.LoadNetwork(path));
            Assert.Contains(path, e.Message);
            return e;
        }
        Assert.Contains("missing layers.1.weight", Refused(new() { ["layers.0.weight"] = w0, ["layers.2.weight"] = w1 }).Message);
        Assert.Contains("unexpected tensors [0.weight]", Refused(new() { ["layers.0.weight"] = w0, ["layers.1.weight"] = w1, ["0.weight"] = w0 }).Message);
        Assert.Contains("layers.1.weight has shape [1, 4]", Refused(new() { ["layers.0.weight"] = w0, ["layers.1.weight"] = w1bad }).Message);
        Assert.Contains("one output", Refused(new() { ["layers.0.weight"] = w0, ["layers.1.weight"] = w2wide }).Message);
    }

    [Fact]
    public void Labelled_set_round_trips_with_and_without_multipliers()
    {
        using var x = torch.randn(4, 3, dtype: ScalarType.Float64, generator: new Generator(2));
        using var y = torch.tensor(new[] { 1.0, -1.0, -1.0, 1.0 }, dtype: ScalarType.Float64);
        using var lam = torch.tensor(new[] { 0.0, 0.5, 1e-300, 2.0 }, dtype: ScalarType.Float64);
        using var set = new LabelledSet(x, y, lam);
        var path = PathOf("set.safetensors");
        Safetensors.SaveSet(path, set);
        using var back = Safetensors.LoadSet(path);
        Assert.Equal(Bytes(set.X), Bytes(back.X));
        Assert.Equal(Bytes(set.Y), Bytes(back.Y));
        Assert.Equal(Bytes(set.Lambda!), Bytes(back.Lambda!));

        using var plain = new LabelledSet(x, y);
        Safetensors.SaveSet(path, plain);
        using var back2 = Safetensors.LoadSet(path);
        Assert.Null(back2.Lambda);
        using (var c = Safetensors.Load(path)) Assert.Equal(new[] { "x", "y" }, c.Tensors.Keys.Order().ToArray());
    }

    [Fact]
    public void Labelled_set_files_with_bad_labels_or_names_are_refused()
    {
        using var x = torch.zeros(2, 3, dtype: ScalarType.Float64);
        using var y01 = torch.tensor(new[] { 0L, 1L }, dtype: ScalarType.Int64);
        var path = PathOf("bad.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = x, ["y"] = y01 });
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.LoadSet(path));
        Assert.Contains("−1 and +1", e.Message);
        Assert.Contains(path, e.Message);

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = x });
        Assert.Contains("missing tensor 'y'", Assert.Throws<InvalidDataException>(() => Safetensors.LoadSet(path)).Message);

        using var ypm = torch.tensor(new[] { -1L, 1L }, dtype: ScalarType.Int64); // integer ±1 labels are accepted
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = x, ["y"] = ypm });
        using var ok = Safetensors.LoadSet(path);
        Assert.Equal(ScalarType.Float64, ok.Y.dtype);
    }
}
