#!/usr/bin/env python3
"""Generate a small image dataset of simple shapes: 28x28 grayscale PNGs in class folders, zipped.

    python3 scripts/gen_shapes.py                      # writes datasets/shapes.zip (what ships)
    python3 scripts/gen_shapes.py --train-per-class 15000 --test-per-class 0 --out /tmp/big.zip

Layout inside the zip (the ImageFolder layout the workbench reads):

    train/circle/0000.png ... train/triangle/0099.png
    test/circle/0000.png  ... test/triangle/0024.png

Each image is a filled circle, square, triangle or plus sign of random size, position and
brightness on a dark, noisy background. Only the Python standard library is used, and the output
is deterministic for a given --seed (fixed entry order, times and compression level).
"""
import argparse
import math
import random
import struct
import zipfile
import zlib

SIZE = 28
CLASSES = ["circle", "cross", "square", "triangle"]
# Maps a random byte to background noise in 0..23.
NOISE = bytes(b % 24 for b in range(256))


def spans(kind, rnd):
    """Yield (row, x0, x1): the filled columns [x0, x1) of each row of one shape."""
    if kind == "circle":
        r = rnd.uniform(4.5, 10.0)
        cx, cy = rnd.uniform(10, 18), rnd.uniform(10, 18)
        for y in range(SIZE):
            dy = y + 0.5 - cy
            if abs(dy) < r:
                half = math.sqrt(r * r - dy * dy)
                yield y, round(cx - half), round(cx + half)
    elif kind == "square":
        side = rnd.randint(9, 18)
        x0, y0 = rnd.randint(2, SIZE - 2 - side), rnd.randint(2, SIZE - 2 - side)
        for y in range(y0, y0 + side):
            yield y, x0, x0 + side
    elif kind == "triangle":
        height = rnd.randint(10, 20)
        base = height * rnd.uniform(0.9, 1.2)
        top = rnd.randint(2, SIZE - 2 - height)
        cx = rnd.uniform(2 + base / 2, SIZE - 2 - base / 2)
        for i in range(height):
            half = base / 2 * (i + 1) / height
            yield top + i, round(cx - half), round(cx + half)
    elif kind == "cross":
        length = rnd.randint(12, 22)
        thick = rnd.randint(3, 5)
        cx, cy = rnd.randint(3 + length // 2, SIZE - 3 - length // 2), rnd.randint(3 + length // 2, SIZE - 3 - length // 2)
        x0, y0 = cx - length // 2, cy - length // 2
        tx, ty = cx - thick // 2, cy - thick // 2
        for y in range(y0, y0 + length):
            if ty <= y < ty + thick:
                yield y, x0, x0 + length
            else:
                yield y, tx, tx + thick
    else:
        raise ValueError(kind)


def render(kind, rnd):
    """One image as SIZE rows of SIZE bytes."""
    rows = [bytearray(rnd.randbytes(SIZE).translate(NOISE)) for _ in range(SIZE)]
    value = rnd.randint(150, 255)
    for y, x0, x1 in spans(kind, rnd):
        x0, x1 = max(0, x0), min(SIZE, x1)
        if 0 <= y < SIZE and x1 > x0:
            rows[y][x0:x1] = bytes([value]) * (x1 - x0)
    return rows


def png(rows):
    """Encode 8-bit grayscale rows as a PNG file."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="datasets/shapes.zip")
    ap.add_argument("--train-per-class", type=int, default=100)
    ap.add_argument("--test-per-class", type=int, default=25)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for split, count in (("train", args.train_per_class), ("test", args.test_per_class)):
            for kind in CLASSES:
                for i in range(count):
                    info = zipfile.ZipInfo(f"{split}/{kind}/{i:05d}.png", date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, png(render(kind, rnd)))
    total = len(CLASSES) * (args.train_per_class + args.test_per_class)
    print(f"wrote {total} images of {len(CLASSES)} classes to {args.out}")


if __name__ == "__main__":
    main()
