#!/usr/bin/python3
"""Regenerates the camera-frame test vectors with Debian's python3-pil and python3-numpy.

    /usr/bin/python3 testdata/frames/gen_vectors.py

Frames are filled from splitmix64 (seed per vector), which engine/frame's tests reproduce, so the
inputs are not stored. Stored: Pillow's Image.resize((w, h)) output for every resize vector (the
raw RGB bytes when small, else their SHA-256), Emu3's image-processor output (smart size and the
SHA-256 of the float32 CHW array), the processor's value for each uint8 level, smart_resize over a
grid of sizes, and small PNG/JPEG files with PIL's convert("RGB") of each.

The processor steps are written here in numpy exactly as transformers runs them for
Emu3VisionVQImageProcessor (rescale: float64 product cast to float32; normalize: float32
(x - mean) / std; resize: PIL bicubic on the uint8 array, a copy at an unchanged size), so the
generator needs neither transformers nor torch.
"""
import hashlib
import io
import json
import math
import os

import numpy as np
import PIL
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1
FULL_LIMIT = 24_000  # store raw output bytes up to this size, SHA-256 beyond


def splitmix_bytes(seed, n):
    """n bytes: successive splitmix64 outputs, little-endian."""
    out = bytearray()
    s = seed & MASK
    while len(out) < n:
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        out += z.to_bytes(8, "little")
    return bytes(out[:n])


def make_frame(kind, seed, w, h):
    raw = np.frombuffer(splitmix_bytes(seed, w * h * 3), dtype=np.uint8).reshape(h, w, 3)
    if kind == "binary":  # only 0 and 255: every overshoot of the bicubic lobes hits the clip
        raw = np.where(raw & 1, 255, 0).astype(np.uint8)
    elif kind != "noise":
        raise ValueError(kind)
    return Image.fromarray(np.ascontiguousarray(raw), "RGB")


# name, kind, seed, (in w, h), (out w, h)
RESIZE = [
    ("cam640x480_to_200", "noise", 1, (640, 480), (200, 200)),
    ("cam640x480_to_80", "noise", 2, (640, 480), (80, 80)),
    ("binary640x480_to_200", "binary", 3, (640, 480), (200, 200)),
    ("hd1280x720_to_200", "noise", 4, (1280, 720), (200, 200)),
    ("odd37x23_up_200", "noise", 5, (37, 23), (200, 200)),
    ("odd37x23_up_80", "noise", 6, (37, 23), (80, 80)),
    ("odd37x23_down_19x11", "noise", 7, (37, 23), (19, 11)),
    ("col1x57_to_80", "noise", 8, (1, 57), (80, 80)),
    ("row57x1_to_80", "noise", 9, (57, 1), (80, 80)),
    ("pixel1x1_to_80", "noise", 10, (1, 1), (80, 80)),
    ("row200x1_to_1x200", "noise", 11, (200, 1), (1, 200)),
    ("wide300x7_to_80", "binary", 12, (300, 7), (80, 80)),
    ("tall7x300_to_80", "noise", 13, (7, 300), (80, 80)),
    ("identity200", "noise", 14, (200, 200), (200, 200)),
    ("identity80", "noise", 15, (80, 80), (80, 80)),
    ("libero200_to_80", "noise", 16, (200, 200), (80, 80)),
    ("gripper84_to_80", "binary", 17, (84, 84), (80, 80)),
    ("static128_to_200", "noise", 18, (128, 128), (200, 200)),
    ("horizontal_only_100x80_to_200x80", "noise", 19, (100, 80), (200, 80)),
    ("vertical_only_80x100_to_80x37", "binary", 20, (80, 100), (80, 37)),
    ("heavy1000x3_to_5x2", "noise", 21, (1000, 3), (5, 2)),
    ("mixed50x90_to_91x13", "noise", 22, (50, 90), (91, 13)),
    ("extreme4000x30_to_3x2", "noise", 23, (4000, 30), (3, 2)),
    ("extreme2x3000_to_5x9", "binary", 24, (2, 3000), (5, 9)),
    ("upscale3x2_to_500x7", "noise", 25, (3, 2), (500, 7)),
    ("near641x479_to_199x201", "noise", 26, (641, 479), (199, 201)),
]

MIN_PIXELS = 80 * 80  # UD-VLA sets image_processor.min_pixels = 80 * 80
MAX_PIXELS = 1024 * 1024  # the processor's default, left as is
FACTOR = 8


def smart_resize(height, width, factor=FACTOR, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS):
    """Emu3's smart_resize, line by line."""
    if height < factor or width < factor:
        raise ValueError(f"height:{height} or width:{width} must be larger than factor:{factor}")
    elif max(height, width) / min(height, width) > 5:
        raise ValueError("absolute aspect ratio must be smaller than 5")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def rescale_normalize(arr):
    """transformers' rescale (dtype float32) then normalize (mean = std = 0.5)."""
    x = (arr.astype(np.float64) * (1 / 255)).astype(np.float32)
    mean = np.array([0.5, 0.5, 0.5], dtype=x.dtype)
    std = np.array([0.5, 0.5, 0.5], dtype=x.dtype)
    return (x - mean) / std


def process(img):
    """Emu3VisionVQImageProcessor.preprocess of one RGB image: CHW float32."""
    arr = np.array(img)
    h, w = arr.shape[:2]
    rh, rw = smart_resize(h, w)
    arr = np.array(Image.fromarray(arr).resize((rw, rh), resample=Image.BICUBIC))
    x = rescale_normalize(arr)
    return np.ascontiguousarray(x.transpose(2, 0, 1)), rh, rw


# name, kind, seed, (w, h) of the frame handed to the processor
PROCESS = [
    ("proc200", "noise", 31, (200, 200)),
    ("proc80", "binary", 32, (80, 80)),
    ("proc84_halves_to_even", "noise", 33, (84, 84)),
    ("proc37x23_min_pixels", "noise", 34, (37, 23)),
    ("proc1100x1000_max_pixels", "noise", 35, (1100, 1000)),
    ("proc100x20_aspect5", "noise", 36, (100, 20)),
    ("proc204x124_round_up", "noise", 37, (204, 124)),
    ("proc196x116_round_down", "noise", 38, (196, 116)),
]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def main():
    os.makedirs(os.path.join(HERE, "resize"), exist_ok=True)
    manifest = {"pillow": PIL.__version__, "numpy": np.__version__, "resize": [], "process": []}
    for name, kind, seed, (iw, ih), (ow, oh) in RESIZE:
        out = make_frame(kind, seed, iw, ih).resize((ow, oh))  # the release's call: default filter
        data = np.array(out).tobytes()
        entry = {"name": name, "kind": kind, "seed": seed, "in": [iw, ih], "out": [ow, oh], "sha256": sha(data)}
        # Identity and one-pixel outputs are the input and a flat colour: their SHA-256 suffices.
        trivial = name.startswith(("identity", "pixel"))
        if (len(data) <= FULL_LIMIT and not trivial) or name == "cam640x480_to_200":
            entry["file"] = f"resize/{name}.rgb"
            with open(os.path.join(HERE, entry["file"]), "wb") as f:
                f.write(data)
        manifest["resize"].append(entry)
    for name, kind, seed, (iw, ih) in PROCESS:
        x, rh, rw = process(make_frame(kind, seed, iw, ih))
        manifest["process"].append({"name": name, "kind": kind, "seed": seed, "in": [iw, ih],
                                    "out": [rw, rh], "sha256": sha(x.astype("<f4").tobytes())})
    levels = rescale_normalize(np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2))[0, :, 0]
    manifest["levels_f32_bits"] = [int(v) for v in levels.view(np.uint32)]
    sizes = []
    for h in list(range(1, 41)) + [84, 100, 124, 196, 200, 204, 480, 640, 720, 1000, 1100, 1280, 2000, 4000]:
        for w in list(range(1, 41, 3)) + [84, 116, 200, 204, 640, 1024, 1100, 1280, 3000, 4000]:
            try:
                sizes.append([h, w] + list(smart_resize(h, w)))
            except ValueError:
                sizes.append([h, w, 0, 0])
    manifest["smart_resize"] = sizes
    manifest["decode"] = make_decode_vectors()
    with open(os.path.join(HERE, "vectors.json"), "w") as f:
        json.dump(manifest, f, indent=0)
        f.write("\n")


def make_decode_vectors():
    """Small files in each mode PIL writes, and PIL's convert("RGB") of each after reopening."""
    os.makedirs(os.path.join(HERE, "decode"), exist_ok=True)
    w, h = 13, 7
    rnd = np.frombuffer(splitmix_bytes(99, w * h * 4), dtype=np.uint8).reshape(h, w, 4)
    # A camera-like frame for the chroma-subsampled JPEG: smooth colour ramps with mild noise (on pure
    # noise, libjpeg's smoothing chroma upsampling and Go's replication differ by tens of levels).
    yy, xx = np.mgrid[0:24, 0:40]
    ramps = np.stack([xx * 6, yy * 10, (xx + yy) * 4], axis=-1)
    mild = np.frombuffer(splitmix_bytes(98, 24 * 40 * 3), dtype=np.uint8).reshape(24, 40, 3) % 9
    smooth = np.clip(ramps + mild, 0, 255).astype(np.uint8)
    imgs = {
        "rgb.png": (Image.fromarray(np.ascontiguousarray(rnd[..., :3]), "RGB"), {}),
        "rgba.png": (Image.fromarray(np.ascontiguousarray(rnd), "RGBA"), {}),
        "l.png": (Image.fromarray(np.ascontiguousarray(rnd[..., 0]), "L"), {}),
        "la.png": (Image.fromarray(np.ascontiguousarray(rnd[..., :2]), "LA"), {}),
        "p.png": (Image.fromarray(np.ascontiguousarray(rnd[..., :3]), "RGB").quantize(37), {}),
        "i16.png": (Image.fromarray((rnd[..., 0].astype(np.uint16) * 3).astype(np.uint16)), {}),
        "rgb.jpg": (Image.fromarray(smooth, "RGB"), {"quality": 95}),
        "rgb444.jpg": (Image.fromarray(np.ascontiguousarray(rnd[..., :3]), "RGB"), {"quality": 95, "subsampling": 0}),
        "l.jpg": (Image.fromarray(np.ascontiguousarray(rnd[..., 0]), "L"), {"quality": 95}),
    }
    p = imgs["p.png"][0].copy()
    p.info["transparency"] = 3
    imgs["p_transparent.png"] = (p, {"transparency": 3})
    out = []
    for name in sorted(imgs):
        img, opts = imgs[name]
        buf = io.BytesIO()
        img.save(buf, "PNG" if name.endswith(".png") else "JPEG", **opts)
        with open(os.path.join(HERE, "decode", name), "wb") as f:
            f.write(buf.getvalue())
        back = Image.open(io.BytesIO(buf.getvalue()))
        rgb = np.array(back.convert("RGB")).tobytes()
        out.append({"file": "decode/" + name, "mode": back.mode, "w": back.size[0], "h": back.size[1],
                    "rgb_hex": rgb.hex()})
    return out


if __name__ == "__main__":
    main()
