using System.Buffers.Binary;
using System.IO.Compression;

namespace NoPrior.Data;

/// <summary>
/// Reader for LeCun's IDX format (the format of the MNIST and Fashion-MNIST distribution files), optionally
/// gzip-compressed: a big-endian magic 0x0000TTNN (TT = 0x08 for unsigned bytes, NN = number of dimensions), NN
/// big-endian int32 sizes, then the data row-major.
/// </summary>
public static class Idx
{
    /// <summary>Reads an unsigned-byte IDX file (<c>.gz</c> is decompressed) and returns its dimensions and data.
    /// Throws <see cref="FileNotFoundException"/> if the file is missing and <see cref="InvalidDataException"/>
    /// naming the file if it is not a well-formed uint8 IDX file.</summary>
    public static (int[] Shape, byte[] Data) ReadBytes(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: '{path}'.", path);
        byte[] raw;
        using (var file = File.OpenRead(path))
        using (var buffer = new MemoryStream())
        {
            try
            {
                if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
                    using (var gz = new GZipStream(file, CompressionMode.Decompress)) gz.CopyTo(buffer);
                else file.CopyTo(buffer);
            }
            catch (InvalidDataException e) { throw new InvalidDataException($"'{path}' is not a valid gzip file: {e.Message}", e); }
            raw = buffer.ToArray();
        }
        if (raw.Length < 4) throw new InvalidDataException($"'{path}' is too short ({raw.Length} bytes) for an IDX header.");
        if (raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08)
            throw new InvalidDataException($"'{path}' is not an unsigned-byte IDX file (magic bytes {raw[0]:x2} {raw[1]:x2} {raw[2]:x2} {raw[3]:x2}, expected 00 00 08 NN).");
        int dims = raw[3];
        int header = 4 + 4 * dims;
        if (dims == 0 || raw.Length < header) throw new InvalidDataException($"'{path}': truncated IDX header ({dims} dimensions, {raw.Length} bytes).");
        var shape = new int[dims];
        long count = 1;
        for (int i = 0; i < dims; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * i, 4));
            if (shape[i] < 0) throw new InvalidDataException($"'{path}': negative IDX dimension {shape[i]}.");
            count *= shape[i];
        }
        if (raw.Length - header != count)
            throw new InvalidDataException($"'{path}': IDX shape [{string.Join(", ", shape)}] needs {count} data bytes, the file holds {raw.Length - header} (truncated or corrupt).");
        return (shape, raw[header..]);
    }
}
