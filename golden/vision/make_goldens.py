"""Vision goldens from PIL 9.4 / torchvision 0.14 / torch 1.13 (never from our engine).

Writes golden/vision/data/:
  decode.json                 PIL Image.open(p).convert('RGB') of every file in golden/media and
                              golden/vision/media: size, source mode, sha256 of the RGB bytes, or the error
  hd_cases.json               upstream Image_transform + vis_processor + global view for every decodable
                              image x hd_num in (1, 6, 24, 25, 55): plan, sha256 of hd_image (U8 HWC bytes),
                              pixel_values and global_view (F32 little-endian CHW bytes), sampled values
                              (float32 bit patterns) and statistics, or the upstream error
  global_view_full.safetensors  one full global view (for the 1e-5 element check and diagnostics)
  resize_small.safetensors    PIL BILINEAR resizes of small random RGB images (input and output)
  bicubic_small.safetensors   F.interpolate(bicubic) of small random float32 tensors (input and output)
  normalize.safetensors       ToTensor + Normalize of every byte value per channel, [3, 256]
  video.json                  ffprobe/ffmpeg frames, upstream sampling, frame2img and Video_transform of
                              the test videos
  video_composite_*.png       the PIL frame2img composites (input of the Video_transform check)
  MANIFEST.json               provenance and sha256 of every file

Run: /usr/bin/python3 golden/vision/make_goldens.py   (a few minutes)
"""
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "golden"))
sys.path.insert(0, os.path.join(ROOT, "golden", "reference"))
from common.safetensors_io import save, provenance, write_manifest  # noqa: E402
import ixc_utils_ref as ref  # noqa: E402

OUT = os.path.join(HERE, "data")
SCRIPT = "golden/vision/make_goldens.py"
SEED = 20240603
HD_NUMS = [1, 6, 24, 25, 55]
MEDIA_DIRS = [("media", os.path.join(ROOT, "golden", "media")), ("vision/media", os.path.join(HERE, "media"))]
# decodable by PIL but refused by us (documented deviation): not used for HD cases
NOT_HD = {"png16_gray.png"}
FULL_GLOBAL_VIEW = [("media/dubai.png", 24)]
LABEL_BOX_WIDTH = 240


def sha(b):
    return hashlib.sha256(b).hexdigest()


def f32_bytes(t):
    return t.detach().contiguous().numpy().astype("<f4").tobytes()


def bits(v):
    return int(np.array([v], dtype="<f4").view("<u4")[0])


def rel(group, name):
    return f"{group}/{name}"


def list_media():
    files = []
    for group, d in MEDIA_DIRS:
        for n in sorted(os.listdir(d)):
            files.append((rel(group, n), os.path.join(d, n)))
    return files


def decode_goldens(files):
    out = {}
    for key, path in files:
        if os.path.splitext(path)[1].lower() in ref.VIDEO_EXTENSIONS:
            continue
        try:
            with Image.open(path) as im:
                mode = im.mode
                rgb = im.convert("RGB")
            out[key] = {"ok": True, "width": rgb.size[0], "height": rgb.size[1], "mode": mode,
                        "rgb_sha256": sha(rgb.tobytes())}
        except Exception as e:  # noqa: BLE001 - the error kind is the golden
            out[key] = {"ok": False, "error": type(e).__name__}
    return out


def sample_positions(rng, shape, n, extra):
    pos = [tuple(int(rng.integers(0, s)) for s in shape) for _ in range(n)]
    return extra + pos


def hd_goldens(files, decode):
    cases = []
    full = {}
    rng = np.random.default_rng(SEED)
    for key, path in files:
        d = decode.get(key)
        if not d or not d["ok"] or os.path.basename(key) in NOT_HD:
            continue
        img = ref.load_image(path)
        for hd_num in HD_NUMS:
            case = {"image": key, "hd_num": hd_num, "src_width": img.size[0], "src_height": img.size[1]}
            try:
                hd, pv, gv = ref.preprocess(img, hd_num)
            except Exception as e:  # noqa: BLE001 - upstream crashes on degenerate sizes; the crash is the golden
                case.update({"ok": False, "error": f"{type(e).__name__}: {e}"})
                cases.append(case)
                print(f"  {key} hd={hd_num}: upstream error {type(e).__name__}: {e}", file=sys.stderr)
                continue
            W, H = hd.size
            hd_np = np.asarray(hd)
            rows, cols = H // 560, W // 560
            case.update({
                "ok": True, "width": W, "height": H, "grid_rows": rows, "grid_cols": cols,
                "image_tokens": ref.token_count(rows, cols),
                "hd_image_sha256": sha(hd_np.tobytes()),
                "pixel_values_sha256": sha(f32_bytes(pv)),
                "global_view_sha256": sha(f32_bytes(gv)),
                "global_view_sum": float(gv.double().sum()),
                "global_view_min": float(gv.min()), "global_view_max": float(gv.max()),
            })
            corners = [(0, 0, 0), (H - 1, W - 1, 2), (H - 1, 0, 1), (0, W - 1, 0)]
            case["hd_image_samples"] = [[y, x, c, int(hd_np[y, x, c])]
                                        for (y, x, c) in sample_positions(rng, (H, W, 3), 32, corners)]
            case["pixel_values_samples"] = [[c, y, x, bits(pv[c, y, x])]
                                            for (c, y, x) in sample_positions(rng, (3, H, W), 32, [(2, H - 1, W - 1)])]
            case["global_view_samples"] = [[c, y, x, bits(gv[c, y, x])]
                                           for (c, y, x) in sample_positions(rng, (3, 560, 560), 64, [(0, 0, 0), (2, 559, 559)])]
            cases.append(case)
            if (key, hd_num) in FULL_GLOBAL_VIEW:
                full[f"{key}@{hd_num}"] = gv.contiguous()
            print(f"  {key} hd={hd_num}: {W}x{H}", file=sys.stderr)
    return cases, full


def resize_goldens(rng):
    sizes = [((1, 1), (5, 7)), ((1, 300), (560, 1)), ((300, 1), (1, 560)), ((2, 3), (560, 840)),
             ((7, 3), (3, 7)), ((100, 37), (37, 100)), ((37, 100), (100, 37)), ((64, 48), (63, 47)),
             ((64, 48), (65, 49)), ((120, 80), (56, 56)), ((200, 30), (13, 2)), ((300, 40), (7, 40)),
             ((96, 96), (96, 17)), ((96, 96), (17, 96)), ((5, 90), (5, 91)), ((1000, 3), (560, 1)),
             ((999, 9), (100, 2)), ((33, 33), (99, 99)), ((50, 60), (49, 61)), ((81, 27), (1, 1)),
             ((17, 23), (170, 230)), ((250, 40), (111, 17)), ((31, 7), (31, 7))]
    tensors = {}
    meta = []
    for i, ((w, h), (ow, oh)) in enumerate(sizes):
        arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if i % 3 == 1:  # smooth content too: gradients
            yy, xx = np.mgrid[0:h, 0:w]
            arr = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), (xx + yy) % 256], -1).astype(np.uint8)
        out = Image.fromarray(arr, "RGB").resize((ow, oh), Image.BILINEAR)
        tensors[f"case{i}.input"] = torch.from_numpy(arr.copy())
        tensors[f"case{i}.output"] = torch.from_numpy(np.asarray(out).copy())
        meta.append(f"{w}x{h}->{ow}x{oh}")
    return tensors, meta


def bicubic_goldens(gen):
    sizes = [((1, 1), (5, 7)), ((3, 4), (56, 56)), ((40, 60), (7, 9)), ((128, 80), (56, 56)), ((200, 10), (5, 5)),
             ((37, 53), (40, 48)), ((600, 40), (56, 56)), ((56, 56), (56, 56)), ((2, 2), (3, 3)),
             ((1120, 8), (560, 4)), ((9, 1680), (3, 560)), ((17, 19), (560, 2))]
    tensors = {}
    for i, ((h, w), (oh, ow)) in enumerate(sizes):
        x = torch.randn(3, h, w, generator=gen)
        y = F.interpolate(x.unsqueeze(0), size=(oh, ow), mode="bicubic")[0]
        tensors[f"case{i}.input"] = x
        tensors[f"case{i}.output"] = y.contiguous()
    return tensors


def normalize_golden():
    arr = np.zeros((1, 256, 3), dtype=np.uint8)
    arr[0, :, :] = np.arange(256, dtype=np.uint8)[:, None]
    t = ref.vis_processor(Image.fromarray(arr, "RGB"))  # [3, 1, 256]
    return {"table": t[:, 0, :].contiguous()}


def video_goldens():
    font = ref.get_font()
    out = {}
    for name in ["video_landscape.mp4", "video_portrait.mp4", "video_long.mp4", "video_rot90.mp4"]:
        path = os.path.join(HERE, "media", name)
        fps, w, h = ref.probe_video(path)
        frames = ref.decode_frames(path, w, h)
        idx = ref.sample_indices(len(frames), fps)
        imgs = [Image.fromarray(frames[i]) for i in idx]
        comp = ref.frame2img(imgs, font)
        cw, ch = comp.size
        # label boxes: a generous [x, x + 240) x [y, y + 40) rectangle at each label origin, where the text
        # is drawn (text pixels are not compared: the font and rasteriser differ, see DEVIATIONS.md)
        vertical = imgs[-1].size[0] > imgs[-1].size[1]
        boxes = []
        pos = 0
        for k, im in enumerate(imgs):
            fw, fh = frame_size(im)
            x0, y0 = (0, pos) if vertical else (pos, 0)
            boxes.append([x0, y0, min(cw, x0 + LABEL_BOX_WIDTH), min(ch, y0 + 40)])
            pos += (fh + 10 + 40) if vertical else (fw + 10)
        masked = np.asarray(comp).copy()
        for (l, t, r, b) in boxes:
            masked[t:b, l:r, :] = 255
        vt = ref.Video_transform(comp)
        pv = ref.vis_processor(vt)
        gv = ref.global_view(pv)
        entry = {
            "fps": fps, "width": w, "height": h, "frame_count": len(frames), "sampled_indices": idx,
            "sampled_frame_sha256": [sha(frames[i].tobytes()) for i in idx],
            "composite_width": cw, "composite_height": ch, "vertical": vertical,
            "label_boxes": boxes, "composite_masked_sha256": sha(masked.tobytes()),
            "composite_sha256": sha(np.asarray(comp).tobytes()),
            "transform_width": vt.size[0], "transform_height": vt.size[1],
            "hd_image_sha256": sha(np.asarray(vt).tobytes()),
            "pixel_values_sha256": sha(f32_bytes(pv)), "global_view_sha256": sha(f32_bytes(gv)),
        }
        if name in ("video_landscape.mp4", "video_portrait.mp4"):
            png = f"video_composite_{os.path.splitext(name)[0]}.png"
            comp.save(os.path.join(OUT, png), optimize=True)
            entry["composite_png"] = png
        out[name] = entry
        print(f"  {name}: fps={fps} frames={len(frames)} picked={len(idx)} composite={cw}x{ch} -> {vt.size}", file=sys.stderr)
    return out


def frame_size(im):
    """frame2img's per-frame size (w, h): long side 1120."""
    w, h = im.size
    aspect = w / h
    return (ref.CROP * 2, int(ref.CROP * 2 / aspect)) if w > h else (int(ref.CROP * 2 * aspect), ref.CROP * 2)


def main():
    torch.manual_seed(SEED)
    os.makedirs(OUT, exist_ok=True)
    for n in os.listdir(OUT):
        os.remove(os.path.join(OUT, n))
    md = provenance(SCRIPT, SEED, torchvision=__import__("torchvision").__version__)
    files = list_media()

    print("decode", file=sys.stderr)
    decode = decode_goldens(files)
    with open(os.path.join(OUT, "decode.json"), "w") as f:
        json.dump(decode, f, indent=1, sort_keys=True)

    print("hd cases", file=sys.stderr)
    cases, full = hd_goldens(files, decode)
    with open(os.path.join(OUT, "hd_cases.json"), "w") as f:
        json.dump({"hd_nums": HD_NUMS, "cases": cases}, f, indent=None, separators=(",", ":"))
    save(os.path.join(OUT, "global_view_full.safetensors"), full, md)

    rng = np.random.default_rng(SEED)
    gen = torch.Generator().manual_seed(SEED)
    rt, rmeta = resize_goldens(rng)
    save(os.path.join(OUT, "resize_small.safetensors"), rt, {**md, "cases": ";".join(rmeta)})
    save(os.path.join(OUT, "bicubic_small.safetensors"), bicubic_goldens(gen), md)
    save(os.path.join(OUT, "normalize.safetensors"), normalize_golden(), md)

    print("video", file=sys.stderr)
    with open(os.path.join(OUT, "video.json"), "w") as f:
        json.dump(video_goldens(), f, indent=1, sort_keys=True)

    write_manifest(OUT, SCRIPT, SEED, {"torchvision": __import__("torchvision").__version__})
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
