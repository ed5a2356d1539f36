using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace NoPrior.IO;

/// <summary>The tensors and metadata read from a safetensors file. Disposing it disposes the tensors.</summary>
public sealed class SafetensorsContent : IDisposable
{
    internal SafetensorsContent(Dictionary<string, Tensor> tensors, Dictionary<string, string> metadata, string source)
    {
        Tensors = tensors; Metadata = metadata; Source = source;
    }

    /// <summary>Tensors by name, on the CPU, with the stored dtype and shape.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }
    /// <summary>The <c>__metadata__</c> string map (empty if the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Where the content came from (a path), for error messages.</summary>
    public string Source { get; }

    /// <summary>The tensor called <paramref name="name"/>; throws naming the file and the tensors it does hold if absent.</summary>
    public Tensor this[string name] => Tensors.TryGetValue(name, out var t) ? t
        : throw new KeyNotFoundException($"{Source}: no tensor named '{name}'; the file holds [{string.Join(", ", Tensors.Keys.Order(StringComparer.Ordinal))}].");

    public void Dispose() { foreach (var t in Tensors.Values) t.Dispose(); }
}

/// <summary>
/// Reader and writer of the safetensors format (https://github.com/huggingface/safetensors), written here without
/// dependencies: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping each tensor name to
/// <c>{"dtype": "F64", "shape": [..], "data_offsets": [begin, end]}</c> (offsets relative to the data section) plus an
/// optional <c>"__metadata__"</c> map of strings to strings; then the raw little-endian, row-major tensor data.
/// Like the reference writer, the header is compact JSON padded with spaces to a multiple of 8 bytes, and tensors are
/// laid out by descending dtype (I64, F64, F32, I32, …, U8, BOOL) then by name, so the data of every tensor is aligned.
/// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
/// </summary>
/// <remarks>
/// From Python: <c>from safetensors.torch import load_file; tensors = load_file("file.safetensors")</c> returns a dict
/// of torch tensors; <c>safe_open(path, "pt").metadata()</c> returns the metadata. Files written by
/// <c>safetensors.torch.save_file</c> load here with <see cref="Load"/>.
/// </remarks>
public static partial class Safetensors
{
    /// <summary>Largest header accepted (the reference implementation's limit, 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;
    const string MetadataKey = "__metadata__";

    // Layout order of the reference writer: its Dtype enum ordinal, tensors sorted by descending ordinal.
    static readonly (string Name, ScalarType Type, int Size, int Order)[] DTypes =
    {
        ("BOOL", ScalarType.Bool, 1, 0), ("U8", ScalarType.Byte, 1, 1), ("I8", ScalarType.Int8, 1, 2),
        ("I16", ScalarType.Int16, 2, 5), ("F16", ScalarType.Float16, 2, 7), ("BF16", ScalarType.BFloat16, 2, 8),
        ("I32", ScalarType.Int32, 4, 9), ("F32", ScalarType.Float32, 4, 11), ("F64", ScalarType.Float64, 8, 12),
        ("I64", ScalarType.Int64, 8, 13),
    };

    static (string Name, ScalarType Type, int Size, int Order) ByType(ScalarType t, string tensorName) =>
        DTypes.FirstOrDefault(d => d.Type == t) is { Name: not null } d ? d
            : throw new NotSupportedException($"Tensor '{tensorName}' has dtype {t}, which this safetensors writer does not support ({string.Join(", ", DTypes.Select(x => x.Name))}).");

    /// <summary>The safetensors bytes for <paramref name="tensors"/> (any device; copied to the CPU) and optional metadata.</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("This safetensors writer assumes a little-endian machine.");
        foreach (var name in tensors.Keys)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("Tensor names must be non-empty.", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved for metadata and cannot name a tensor.", nameof(tensors));
        }
        var ordered = tensors
            .Select(kv => (kv.Key, Tensor: kv.Value, D: ByType(kv.Value.dtype, kv.Key)))
            .OrderByDescending(e => e.D.Order).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();

        var header = new StringBuilder("{");
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            header.Append(JsonString(MetadataKey)).Append(":{");
            header.AppendJoin(',', metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => JsonString(kv.Key) + ":" + JsonString(kv.Value)));
            header.Append('}');
            first = false;
        }
        long offset = 0;
        var blobs = new List<byte[]>();
        foreach (var (name, tensor, d) in ordered)
        {
            byte[] blob = TensorBytes(tensor);
            if (!first) header.Append(',');
            first = false;
            header.Append(JsonString(name)).Append(":{\"dtype\":\"").Append(d.Name).Append("\",\"shape\":[")
                .AppendJoin(',', tensor.shape).Append("],\"data_offsets\":[").Append(offset).Append(',').Append(offset + blob.Length).Append("]}");
            offset += blob.Length;
            blobs.Add(blob);
        }
        header.Append('}');
        var headerBytes = new UTF8Encoding(false).GetBytes(header.ToString());
        int padded = (headerBytes.Length + 7) / 8 * 8; // the reference pads with spaces so the data start 8-aligned

        var result = new byte[8 + padded + offset];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)padded);
        headerBytes.CopyTo(result, 8);
        result.AsSpan(8 + headerBytes.Length, padded - headerBytes.Length).Fill((byte)' ');
        long at = 8 + padded;
        foreach (var blob in blobs) { blob.CopyTo(result, at); at += blob.Length; }
        return result;
    }

    /// <summary>Writes <paramref name="tensors"/> and optional metadata to <paramref name="path"/> (creating its folder).</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var bytes = Serialize(tensors, metadata);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>Reads a safetensors file. Throws <see cref="FileNotFoundException"/> if it is missing and
    /// <see cref="InvalidDataException"/> naming the file and the problem if it is truncated or corrupt.</summary>
    public static SafetensorsContent Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Safetensors file not found: '{path}'.", path);
        return Deserialize(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses safetensors bytes; <paramref name="source"/> names them in error messages. Checks everything the
    /// reference reader checks: header length within the file, valid JSON, known dtypes, byte counts matching the shapes,
    /// and offsets that tile the data section exactly (no gaps, overlaps or trailing bytes).</summary>
    public static SafetensorsContent Deserialize(byte[] bytes, string source = "<bytes>")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("This safetensors reader assumes a little-endian machine.");
        InvalidDataException Bad(string what) => new($"'{source}' is not a valid safetensors file: {what}");

        if (bytes.Length < 8) throw Bad($"it has {bytes.Length} bytes, fewer than the 8-byte header length (truncated?).");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > MaxHeaderBytes) throw Bad($"header length {n} exceeds the limit of {MaxHeaderBytes} bytes (corrupt first 8 bytes?).");
        if ((long)n > bytes.Length - 8) throw Bad($"header length {n} exceeds the {bytes.Length - 8} bytes after the length field (truncated?).");
        var headerSpan = bytes.AsSpan(8, (int)n);
        if (n == 0 || headerSpan[0] != (byte)'{') throw Bad("the header does not start with '{'.");

        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n)); }
        catch (JsonException e) { throw Bad($"the header is not valid JSON ({e.Message})."); }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, (string Name, ScalarType Type, int Size, int Order) D, long[] Shape, long Begin, long End)>();
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("the header is not a JSON object.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw Bad($"the header names '{prop.Name}' twice.");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad($"'{MetadataKey}' must be an object of strings.");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                            : throw Bad($"metadata '{m.Name}' is not a string.");
                    continue;
                }
                entries.Add(ParseEntry(prop, Bad));
            }
        }

        long dataLength = bytes.Length - 8 - (long)n;
        long expected = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != expected)
                throw Bad($"tensor '{e.Name}' starts at data offset {e.Begin}, expected {expected} (gap or overlap between tensors).");
            expected = e.End;
        }
        if (expected != dataLength)
            throw Bad($"the header describes {expected} data bytes but the file holds {dataLength} (truncated or trailing bytes).");

        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
            {
                var t = torch.empty(e.Shape, dtype: e.D.Type);
                if (e.End > e.Begin) t.bytes = bytes.AsSpan((int)(8 + (long)n + e.Begin), (int)(e.End - e.Begin));
                tensors[e.Name] = t;
            }
        }
        catch { foreach (var t in tensors.Values) t.Dispose(); throw; }
        return new SafetensorsContent(tensors, metadata, source);
    }

    static (string, (string Name, ScalarType Type, int Size, int Order), long[], long, long) ParseEntry(
        JsonProperty prop, Func<string, InvalidDataException> bad)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object) throw bad($"the entry of tensor '{name}' is not an object.");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String) throw bad($"tensor '{name}' has no dtype.");
        string dtype = dt.GetString()!;
        var d = DTypes.FirstOrDefault(x => x.Name == dtype);
        if (d.Name is null) throw bad($"tensor '{name}' has dtype '{dtype}', not supported here ({string.Join(", ", DTypes.Select(x => x.Name))}).");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array) throw bad($"tensor '{name}' has no shape array.");
        var shape = new List<long>();
        long numel = 1;
        foreach (var s in sh.EnumerateArray())
        {
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out long len) || len < 0) throw bad($"tensor '{name}' has an invalid shape entry {s}.");
            shape.Add(len);
            numel = checked(numel * len);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw bad($"tensor '{name}' needs data_offsets [begin, end].");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw bad($"tensor '{name}' has invalid data_offsets {off}.");
        if (end - begin != numel * d.Size)
            throw bad($"tensor '{name}' of dtype {d.Name} and shape [{string.Join(", ", shape)}] needs {numel * d.Size} bytes, its data_offsets span {end - begin}.");
        foreach (var p in v.EnumerateObject())
            if (p.Name is not ("dtype" or "shape" or "data_offsets")) throw bad($"tensor '{name}' has an unknown field '{p.Name}'.");
        return (name, d, shape.ToArray(), begin, end);
    }

    /// <summary>The raw little-endian bytes of a tensor, row-major, after moving it to the CPU.</summary>
    static byte[] TensorBytes(Tensor t)
    {
        if (t.numel() == 0) return Array.Empty<byte>();
        using var c = t.detach().cpu().contiguous();
        return c.bytes.ToArray();
    }

    /// <summary>A JSON string literal escaped as serde_json does: quote, backslash and control characters only.</summary>
    static string JsonString(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (ch < 0x20) sb.Append("\\u").Append(((int)ch).ToString("x4"));
                    else sb.Append(ch);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
