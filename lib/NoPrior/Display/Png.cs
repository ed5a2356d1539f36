using System.Buffers.Binary;
using System.IO.Compression;

namespace NoPrior.Display;

/// <summary>
/// A minimal PNG encoder (8-bit grayscale, no interlacing) so image outputs need no image package:
/// signature, IHDR, one zlib-compressed IDAT, IEND, each chunk with its CRC-32 (PNG spec, ISO/IEC 15948).
/// </summary>
public static class Png
{
    static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>Encodes a <paramref name="width"/>×<paramref name="height"/> 8-bit grayscale image given row-major.</summary>
    public static byte[] EncodeGray(int width, int height, ReadOnlySpan<byte> pixels) => Encode(width, height, pixels, colorType: 0, channels: 1);

    static byte[] Encode(int width, int height, ReadOnlySpan<byte> pixels, byte colorType, int channels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"A PNG needs a positive size; got {width}×{height}.");
        int stride = width * channels;
        if (pixels.Length != stride * height)
            throw new ArgumentException($"Expected {stride * height} bytes for a {width}×{height} image with {channels} channel(s); got {pixels.Length}.", nameof(pixels));

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8; ihdr[9] = colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
        WriteChunk(png, "IHDR", ihdr);

        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
                for (int y = 0; y < height; y++)
                {
                    z.WriteByte(0); // filter type "None" for every scanline: simple and deterministic
                    z.Write(pixels.Slice(y * stride, stride));
                }
            WriteChunk(png, "IDAT", raw.ToArray());
        }
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        for (int i = 0; i < 4; i++) head[4 + i] = (byte)type[i];
        s.Write(head);
        s.Write(data);
        uint crc = Crc(0xFFFFFFFFu, head[4..]);
        crc = Crc(crc, data) ^ 0xFFFFFFFFu;
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        s.Write(tail);
    }

    static uint Crc(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
