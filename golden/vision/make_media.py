"""Generates the synthetic test images and videos of the vision goldens into golden/vision/media/.

Deterministic (fixed formulas and seeds). The files are committed, so the C# tests decode exactly the
bytes PIL decoded; rerunning this script is only needed to change the set. Run with /usr/bin/python3.

Covers: extreme sizes (1x1, thin strips both ways, 6000x200, sizes just under/over multiples of 560),
PIL modes (RGB, L, 1, LA, RGBA, P, P with transparency), formats (PNG, JPEG baseline 4:2:0/4:2:2/4:4:4,
progressive, gray, CMYK, ICC, EXIF-rotated; WebP lossy/lossless/alpha; BMP 24-bit and paletted;
GIF first frame of an animation, GIF transparency; 16-bit PNG), broken files (truncated JPEG/PNG,
garbage, a decompression-bomb PNG header) and two small videos.
"""
import io
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image, ImageCms

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "media")
SEED = 1234


def pattern(w, h, seed=0):
    """A uint8 RGB pattern with smooth gradients, hard edges and a fine checkerboard (compresses well as PNG)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    r = x * 255 // max(w - 1, 1)
    g = (y * 255 // max(h - 1, 1)) ^ (((x // 64 + y // 48 + seed) % 2) * 0x55)
    checker = ((x // 7 + y // 5 + seed) % 2) * 170 + 40
    ring = (((x - w // 3) ** 2 + (y - h // 2) ** 2) * 12 // (w * w + h * h + 1)) % 2
    b = np.where(ring == 1, checker, 255 - r)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def photo(w, h):
    """A photo-like RGB image: golden/media/cars1.jpg resized (PIL bicubic) to w x h."""
    im = Image.open(os.path.join(ROOT, "golden", "media", "cars1.jpg")).convert("RGB")
    return im.resize((w, h), Image.BICUBIC)


def save_png_raw(path, w, h, bit_depth, color_type, rows):
    """Minimal PNG writer (for 16-bit RGB, which PIL cannot write). rows: list of bytes (no filter byte)."""
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + r for r in rows)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def bomb_png(path, w, h):
    """A valid PNG signature + IHDR claiming w x h, with one tiny IDAT: a decoder must refuse it from the header."""
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def exif_orientation(value):
    """A minimal little-endian EXIF block with one Orientation tag."""
    ifd = struct.pack("<HHHIHH", 1, 0x0112, 3, 1, value, 0) + struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd


def set_rotation(path):
    """Writes a 90-degree rotation matrix into the MP4's track header (ffmpeg 5.1 cannot write one itself)."""
    with open(path, "rb") as f:
        d = bytearray(f.read())
    i = d.index(b"tkhd")
    version = d[i + 4]
    off = i + 8 + (8 + 8 + 4 + 4 + 8 if version == 1 else 4 + 4 + 4 + 4 + 4) + 8 + 2 + 2 + 2 + 2
    d[off:off + 36] = struct.pack(">9i", 0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30)
    with open(path, "wb") as f:
        f.write(d)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    p = lambda name: os.path.join(OUT, name)
    rgb = lambda w, h, s=0: Image.fromarray(pattern(w, h, s), "RGB")

    # ---- sizes (PNG RGB)
    for (w, h) in [(1, 1), (2, 3), (1, 300), (300, 1), (2000, 3), (3, 2000), (559, 559), (560, 560), (561, 561),
                   (1119, 560), (1121, 561), (560, 1121), (1679, 1681), (6000, 200), (200, 6000), (1000, 1000),
                   (1920, 1080), (1080, 1920), (2300, 1500), (37, 1130)]:
        rgb(w, h, w * 31 + h).save(p(f"size_{w}x{h}.png"), optimize=True)

    # ---- PIL modes
    base = photo(640, 427)
    base.convert("L").save(p("mode_L.png"))
    base.convert("1").save(p("mode_1.png"))
    la = base.convert("L")
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 640).astype(np.uint8), (427, 1)), "L")
    Image.merge("LA", (la, alpha)).save(p("mode_LA.png"))
    rgba = base.copy()
    rgba.putalpha(alpha)
    rgba.save(p("mode_RGBA.png"))
    # fully transparent pixels must keep their colour (PIL's convert drops alpha, no compositing)
    a2 = np.array(rgba)
    a2[100:200, 100:300, 3] = 0
    Image.fromarray(a2, "RGBA").save(p("mode_RGBA_holes.png"))
    pal = base.quantize(colors=200, method=Image.Quantize.MEDIANCUT)
    pal.save(p("mode_P.png"))
    palt = pal.copy()
    palt.info["transparency"] = 7
    palt.save(p("mode_P_trns.png"), transparency=7)

    # ---- JPEG variants (photo content)
    ph = photo(801, 533)
    ph.save(p("jpeg_420.jpg"), quality=90, subsampling=2)
    ph.save(p("jpeg_422.jpg"), quality=90, subsampling=1)
    ph.save(p("jpeg_444.jpg"), quality=90, subsampling=0)
    ph.save(p("jpeg_progressive.jpg"), quality=85, progressive=True)
    ph.convert("L").save(p("jpeg_gray.jpg"), quality=90)
    ph.convert("CMYK").save(p("jpeg_cmyk.jpg"), quality=90)
    srgb = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    srgb[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)  # fixed creation date: reproducible bytes
    srgb = bytes(srgb)
    ph.save(p("jpeg_icc.jpg"), quality=90, icc_profile=srgb)
    photo(640, 360).save(p("jpeg_exif_rot6.jpg"), quality=90, exif=exif_orientation(6))
    photo(4000, 3000).save(p("jpeg_4000x3000.jpg"), quality=80)

    # ---- WebP, BMP, GIF
    ph.save(p("webp_lossy.webp"), quality=80, method=4)
    rgb(300, 200, 5).save(p("webp_lossless.webp"), lossless=True)
    small = rgba.resize((320, 213), Image.BILINEAR)
    small.save(p("webp_alpha.webp"), lossless=True)
    rgb(333, 222, 9).save(p("bmp_rgb.bmp"))
    pal.resize((300, 200), Image.NEAREST).save(p("bmp_pal8.bmp"))
    f0 = photo(320, 240).quantize(colors=64)
    f1 = rgb(320, 240, 3).quantize(colors=64)
    f0.save(p("gif_anim.gif"), save_all=True, append_images=[f1], duration=100, loop=0)
    gt = rgb(200, 150, 11).quantize(colors=32)
    gt.save(p("gif_trns.gif"), transparency=3)

    # ---- 16-bit PNG
    y, x = np.mgrid[0:120, 0:160]
    g16 = ((x * 409 + y * 37) % 65536).astype(np.uint16)
    Image.fromarray(g16.astype(np.int32), "I").convert("I;16").save(p("png16_gray.png"))
    rows = []
    for yy in range(120):
        row = np.stack([g16[yy], (g16[yy] * 3) % 65536, 65535 - g16[yy]], axis=-1).astype(">u2")
        rows.append(row.tobytes())
    save_png_raw(p("png16_rgb.png"), 160, 120, 16, 2, rows)

    # ---- broken files
    with open(p("jpeg_420.jpg"), "rb") as f:
        data = f.read()
    with open(p("broken_truncated.jpg"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(p("size_559x559.png"), "rb") as f:
        data = f.read()
    with open(p("broken_truncated.png"), "wb") as f:
        f.write(data[: len(data) // 2])
    rng = np.random.default_rng(SEED)
    with open(p("broken_garbage.png"), "wb") as f:
        f.write(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    bomb_png(p("broken_bomb.png"), 100000, 100000)
    with open(p("broken_empty.jpg"), "wb") as f:
        pass

    # ---- videos (ffmpeg testsrc, H.264): 5 s at 25 fps 320x240 (5 samples),
    # 80 s at 2 fps 96x64 (80 frames -> 40 one-per-second positions -> 32 by the n/33 rule),
    # portrait 3 s at 29.97 fps 120x200.
    def video(name, args):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", args[0], "-c:v", "libx264",
                        "-preset", "medium", "-crf", "28", "-pix_fmt", "yuv420p", "-threads", "1",
                        "-bitexact", "-map_metadata", "-1", *args[1:], p(name)], check=True)
    video("video_landscape.mp4", ["testsrc=size=320x240:rate=25:duration=5"])
    video("video_long.mp4", ["testsrc2=size=96x64:rate=2:duration=80"])
    video("video_portrait.mp4", ["testsrc=size=120x200:rate=30000/1001:duration=3"])
    # a phone-style video: landscape frames with a -90 degree display matrix (frames are delivered portrait)
    video("video_rot90.mp4", ["testsrc=size=160x96:rate=10:duration=2.5"])
    set_rotation(p("video_rot90.mp4"))

    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total / 1e6:.2f} MB in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
