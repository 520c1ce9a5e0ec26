#!/usr/bin/python3
"""Writes fuzz/corpus/fuzz_image/: small images in the variants of PNG, JPEG and BMP that the
seed writer (fuzz_seeds, through stb_image_write) cannot make, so that fuzz_image starts from every
decoder path stb has (bit depths, palettes, transparency, interlacing, progressive and subsampled
JPEG, CMYK, BMP palettes and bit fields) and the valgrind test decodes each of them. The files are
committed; rerun (Debian's python3-pil) only to change them. Deterministic: the same bytes each run."""
import io
import os
import struct
import zlib

from PIL import Image

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_image")
os.makedirs(out, exist_ok=True)
W, H = 9, 7


def pattern(mode):
    im = Image.new("RGB", (W, H))
    im.putdata([((x * 29) % 256, (y * 37) % 256, ((x + y) * 53) % 256) for y in range(H) for x in range(W)])
    return im.convert(mode) if mode != "RGB" else im


def save(name, im, **kw):
    im.save(os.path.join(out, name), **kw)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(name, width, height, depth, colour, rows, interlace=False, extra=b""):
    """rows: [height][bytes of one row]; with interlace, Adam7 passes are cut from them."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    bits = depth * channels
    raw = b""
    if not interlace:
        for r in rows:
            raw += b"\0" + r
    else:
        assert bits % 8 == 0
        step = bits // 8
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            if x0 >= width or y0 >= height:
                continue
            for y in range(y0, height, dy):
                raw += b"\0" + b"".join(rows[y][x * step:(x + 1) * step] for x in range(x0, width, dx))
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlace)))
    data += extra + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def rows16(channels):
    return [b"".join(struct.pack(">H", (x * 7919 + y * 104729 + c * 4099) % 65536) for x in range(W) for c in range(channels))
            for y in range(H)]


# PNG
save("gray1.png", pattern("1"))
save("palette.png", pattern("P"))
im = pattern("P")
im.info["transparency"] = 3
save("palette_trns.png", im, transparency=3)
save("gray_alpha.png", pattern("LA"))
save("gray16.png", pattern("I").point(lambda v: v * 251).convert("I;16"))
png("rgb16.png", W, H, 16, 2, rows16(3))
png("rgba16.png", W, H, 16, 6, rows16(4))
png("gray_alpha16.png", W, H, 16, 4, rows16(2))
png("gray2.png", W, H, 2, 0, [bytes(((x * 3 + y) % 256) for x in range((W * 2 + 7) // 8)) for y in range(H)])
png("gray4_trns.png", W, H, 4, 0, [bytes(((x * 17 + y * 5) % 256) for x in range((W * 4 + 7) // 8)) for y in range(H)],
    extra=png_chunk(b"tRNS", struct.pack(">H", 5)))
png("rgb_interlaced.png", W, H, 8, 2, [bytes(((x * 31 + y * 7) % 256) for x in range(W * 3)) for y in range(H)], interlace=True)
png("rgba16_interlaced.png", W, H, 16, 6, rows16(4), interlace=True)
png("palette4.png", W, H, 4, 3, [bytes(((x * 0x21 + y) % 256) & 0x77 for x in range((W * 4 + 7) // 8)) for y in range(H)],
    extra=png_chunk(b"PLTE", bytes(range(24))))
png("palette8_interlaced.png", W, H, 8, 3, [bytes(((x * 3 + y * 5) % 11) for x in range(W)) for y in range(H)], interlace=True,
    extra=png_chunk(b"PLTE", bytes((i * 23) % 256 for i in range(33))))
# JPEG
save("progressive.jpg", pattern("RGB"), quality=90, progressive=True)
save("progressive_gray.jpg", pattern("L"), quality=90, progressive=True)
save("gray.jpg", pattern("L"), quality=85)
save("subsampled420.jpg", pattern("RGB").resize((17, 15)), quality=80, subsampling=2)
save("subsampled422.jpg", pattern("RGB").resize((17, 15)), quality=80, subsampling=1)
save("optimized.jpg", pattern("RGB"), quality=75, optimize=True)
save("cmyk.jpg", pattern("CMYK"), quality=90)
# BMP
save("gray1.bmp", pattern("1"))
save("palette8.bmp", pattern("P"))
save("rgba32.bmp", pattern("RGBA"))


def bmp(name, width, height, bpp, pixel_rows, header=40, compression=0, masks=b"", palette=b""):
    stride = (width * bpp + 31) // 32 * 4
    body = b"".join(r.ljust(stride, b"\0") for r in pixel_rows)
    offset = 14 + header + len(masks) + len(palette)
    info = struct.pack("<IiiHHIIiiII", header, width, height, 1, bpp, compression, len(body), 2835, 2835,
                       len(palette) // 4, 0)
    info = info.ljust(header, b"\0")
    data = b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + masks + palette + body
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


bmp("rgb565.bmp", W, H, 16, [b"".join(struct.pack("<H", (x * 2039 + y * 997) % 65536) for x in range(W)) for y in range(H)],
    compression=3, masks=struct.pack("<III", 0xF800, 0x07E0, 0x001F))
bmp("top_down24.bmp", W, -H, 24, [bytes(((x * 13 + y * 3) % 256) for x in range(W * 3)) for y in range(H)])
bmp("palette4.bmp", W, H, 4, [bytes(((x * 0x23 + y) % 256) for x in range((W * 4 + 7) // 8)) for y in range(H)],
    palette=b"".join(bytes((i * 15, 255 - i * 15, i * 7, 0)) for i in range(16)))
