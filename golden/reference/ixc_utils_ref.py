"""Plain re-written mirror of upstream's image and video front end (ixc_utils.py + vis_processor).

Upstream: the Hugging Face remote code of internlm/internlm-xcomposer2d5-7b (`ixc_utils.py`,
`modeling_internlm_xcomposer2.py`). Everything here computes with PIL 9.4 and torchvision 0.14 the
same way upstream does; the only differences, each recorded in docs/DEVIATIONS.md, are:

* `load_image` applies `convert('RGB')` (upstream passes the raw `Image.open` result on, which
  fails later for RGBA, L, P, ... images);
* `load_video` reads frames with the system `ffmpeg`/`ffprobe` instead of decord (same sampling
  rule: avg fps from the container, stride round(fps), at most 32 frames by the n/33 rule);
* `get_font` loads a locally installed CJK font (WenQuanYi Micro Hei) at size 40 instead of
  downloading SimHei.ttf from the Hugging Face hub.

Names match upstream so that other golden scripts (the PyTorch model reference) can import them.
Run with /usr/bin/python3 (Debian torch 1.13, torchvision 0.14, PIL 9.4).
"""
import json
import math
import subprocess

import numpy as np
import torch
import torchvision.transforms as transforms
import torchvision.transforms.functional as TF
from PIL import Image, ImageDraw, ImageFont

CROP = 560
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

# Upstream's dispatch by file extension (modeling_internlm_xcomposer2.py).
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"}
VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".wmv"}

# ToTensor (uint8 HWC -> float32 CHW, / 255) then Normalize with the CLIP statistics.
vis_processor = transforms.Compose([
    transforms.ToTensor(),
    transforms.Normalize(CLIP_MEAN, CLIP_STD),
])


def load_image(path):
    """Image.open + convert('RGB') (deviation: upstream omits the conversion). No EXIF rotation."""
    with Image.open(path) as im:
        return im.convert("RGB")


def get_font(size=40):
    return ImageFont.truetype(FONT_PATH, size=size)


def padding_336(img, pad=336):
    """White padding at the bottom up to the next multiple of `pad` (upstream's name; used with 560)."""
    width, height = img.size
    target = int(np.ceil(height / pad) * pad)
    bottom = target - height
    return TF.pad(img, [0, 0, 0, bottom], fill=[255, 255, 255])


def hd_scale(width, height, hd_num):
    """The number of 560-wide columns of a landscape (width >= height) image: upstream's while loop."""
    ratio = width / height
    scale = 1
    while scale * np.ceil(scale / ratio) <= hd_num:
        scale += 1
    scale -= 1
    return min(np.ceil(width / CROP), scale)


def Image_transform(img, hd_num=25):
    """Dynamic high-resolution resize + pad. Returns a PIL RGB image whose sides are multiples of 560."""
    width, height = img.size
    transposed = width < height
    if transposed:
        img = img.transpose(Image.TRANSPOSE)
        width, height = img.size
    ratio = width / height
    scale = hd_scale(width, height, hd_num)
    new_w = int(scale * CROP)
    new_h = int(new_w / ratio)
    img = TF.resize(img, [new_h, new_w])
    img = padding_336(img, CROP)
    if transposed:
        img = img.transpose(Image.TRANSPOSE)
    return img


def Video_transform(img, hd_num=25):
    """Video composite: short side resized to exactly 560, long side padded to a multiple of 560
    (at the end: right for landscape, bottom for portrait). hd_num is ignored, as upstream."""
    width, height = img.size
    transposed = width < height
    if transposed:
        img = img.transpose(Image.TRANSPOSE)
        width, height = img.size
    ratio = width / height
    new_h = CROP
    new_w = int(new_h * ratio)
    img = TF.resize(img, [new_h, new_w])
    img = img.transpose(Image.TRANSPOSE)
    img = padding_336(img, CROP)
    if not transposed:
        img = img.transpose(Image.TRANSPOSE)
    return img


def frame2img(imgs, font):
    """Stacks video frames into one labelled image (upstream's layout, see IXC25-SEMANTICS.md 4)."""
    resized = []
    for img in imgs:
        w, h = img.size
        aspect = w / h
        if w > h:
            new_w, new_h = CROP * 2, int(CROP * 2 / aspect)
        else:
            new_w, new_h = int(CROP * 2 * aspect), CROP * 2
        resized.append(TF.resize(img, [new_h, new_w]))
    pad = 40
    # upstream decides the layout with w, h of the LAST original frame (loop variables leak)
    if w > h:
        canvas_w = max(im.size[0] for im in resized)
        canvas_h = sum(im.size[1] + 10 + pad for im in resized)
        canvas = Image.new("RGB", (canvas_w, canvas_h), "white")
        draw = ImageDraw.Draw(canvas)
        y = 0
        for idx, im in enumerate(resized):
            fw, fh = im.size
            canvas.paste(im, (0, pad + y))
            draw.text((0, y), f"<IMAGE {idx}>", font=font, fill="black")
            if idx + 1 < len(resized):
                draw.line([(0, pad + y + fh + 5), (canvas_w, pad + y + fh + 5)], fill="black", width=2)
            y += fh + 10 + pad
    else:
        canvas_w = sum(im.size[0] + 10 for im in resized)
        canvas_h = max(im.size[1] for im in resized) + pad
        canvas = Image.new("RGB", (canvas_w, canvas_h), "white")
        draw = ImageDraw.Draw(canvas)
        x = 0
        for idx, im in enumerate(resized):
            fw, fh = im.size
            canvas.paste(im, (x, pad))
            draw.text((x, 0), f"<IMAGE {idx}>", font=font, fill="black")
            if idx + 1 < len(resized):
                draw.line([(x + fw + 5, 0), (x + fw + 5, canvas_h)], fill="black", width=2)
            x += fw + 10
    return canvas


def _parse_rate(s):
    if not s or s == "0/0":
        return 0.0
    if "/" in s:
        n, d = s.split("/")
        return float(n) / float(d) if float(d) != 0 else 0.0
    return float(s)


def probe_video(path):
    """(avg fps, width, height) of the first video stream's frames as delivered, from ffprobe: decord
    reports the stream's avg_frame_rate (falling back to r_frame_rate), and rotates frames by the
    container's rotation metadata (decord PR #51), as ffmpeg's default autorotation does; a rotation of
    +-90 degrees swaps width and height."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=avg_frame_rate,r_frame_rate,width,height:stream_side_data=rotation", "-of", "json", path],
        check=True, capture_output=True).stdout
    st = json.loads(out)["streams"][0]
    fps = _parse_rate(st.get("avg_frame_rate")) or _parse_rate(st.get("r_frame_rate"))
    width, height = int(st["width"]), int(st["height"])
    rotation = next((int(sd["rotation"]) for sd in st.get("side_data_list", []) if "rotation" in sd), 0)
    if rotation % 180 != 0:
        width, height = height, width
    return fps, width, height


def decode_frames(path, width, height):
    """Every frame of the first video stream as RGB24 (ffmpeg rawvideo pipe, no frame rate conversion,
    rotation metadata applied)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True).stdout
    frame = width * height * 3
    n = len(raw) // frame
    return np.frombuffer(raw[:n * frame], dtype=np.uint8).reshape(n, height, width, 3)


def sample_indices(n_frames, fps, num_frm=32):
    """Upstream's sampling: one frame per second (stride round(fps)), then at most num_frm by i*n/(num_frm+1)."""
    stride = int(round(float(fps) / int(1)))
    positions = list(range(0, n_frames, stride))
    if len(positions) > num_frm:
        step = len(positions) / (num_frm + 1)
        positions = [positions[int(i * step)] for i in range(num_frm)]
    return positions


def load_video(video_path, num_frm=32):
    """Upstream's load_video, frames from ffmpeg instead of decord (deviation, documented)."""
    fps, width, height = probe_video(video_path)
    frames = decode_frames(video_path, width, height)
    return [Image.fromarray(frames[i]) for i in sample_indices(len(frames), fps, num_frm)]


def global_view(pixel_values):
    """build_mlp.py: F.interpolate(img.float(), size=(560, 560), mode='bicubic') on [1, 3, H, W]."""
    return torch.nn.functional.interpolate(pixel_values.unsqueeze(0).float(), size=(CROP, CROP), mode="bicubic")[0]


def token_count(grid_rows, grid_cols):
    return int((grid_rows * grid_cols + 1) * 400 + 1 + (grid_rows + 1) * 20)


def preprocess(img, hd_num):
    """The whole image front end for one RGB PIL image: (hd_image PIL, pixel_values [3,H,W], global_view [3,560,560])."""
    hd = Image_transform(img, hd_num)
    pv = vis_processor(hd)
    return hd, pv, global_view(pv)
