"""Scoring a generator on whole images by the field's conventions, next to MATLAB bicubic: the one
evaluation path of the package (training validation and `python -m sr_keras.evaluate` both use it).

    >>> from sr_keras.data import embedded_photos
    >>> from sr_keras.evaluation import evaluate, load_pairs, table
    >>> pairs = load_pairs(embedded_photos("valid", scale=4))
    >>> result = evaluate(model, pairs, scale=4)
    >>> print(table({4: result}))

SR is quantised to uint8 (clip, round), a border is cropped, PSNR and SSIM are computed on RGB and on Y
(BT.601) for every image and averaged over the set (`sr_keras.metrics`). How wide the border is, and which
figure a paper reports, is the evaluation protocol (`PROTOCOLS`):

- `benchmark` (default): `scale` pixels cropped, the Y-channel PSNR/SSIM headline. Set5, Set14, B100,
  Urban100 and Manga109 in every paper of the field (BasicSR `calculate_psnr(crop_border=scale,
  test_y_channel=True)`; EDSR-PyTorch `utility.calc_psnr` for benchmark sets: Y, shave `scale`).
- `div2k`: `scale + 6` pixels cropped, the RGB PSNR headline: EDSR-PyTorch `utility.calc_psnr` for
  non-benchmark sets, which is how its DIV2K validation tables are computed (EDSR 34.61 / 30.92 / 28.95 dB
  for the baseline at x2 / x3 / x4). EDSR-PyTorch reports no SSIM there; the SSIMs shown use the same border.
"""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
import dataclasses
import os

import numpy as np

from sr_keras import metrics
from sr_keras.data.degrade import imresize

METRICS = ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y")


@dataclasses.dataclass(frozen=True)
class Protocol:
    """An evaluation protocol: the border cropped (`scale + extra_border` pixels) and the headline figure."""

    name: str
    extra_border: int
    headline: str
    source: str

    def crop_border(self, scale):
        return scale + self.extra_border


PROTOCOLS = {
    "benchmark": Protocol("benchmark", 0, "psnr_y", "Y channel, scale pixels cropped (BasicSR's and "
                                                    "EDSR-PyTorch's rule for benchmark sets)"),
    "div2k": Protocol("div2k", 6, "psnr_rgb", "RGB, scale + 6 pixels cropped (EDSR-PyTorch utility.calc_psnr "
                                              "on DIV2K validation)"),
}


def get_protocol(name):
    """The protocol called `name`; ValueError listing the names otherwise."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown evaluation protocol {name!r}; protocols: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def load_pairs(source, max_images=None):
    """Whole images of `source` as a list of (name, lr float32 [h, w, 3], hr float32 [H, W, 3]) numpy arrays."""
    pairs = []
    for item in source.images(shuffle=False):
        pairs.append((item["path"].numpy().decode(), item["lr"].numpy(), item["hr"].numpy()))
        if max_images and len(pairs) >= max_images:
            break
    return pairs


DEGRADATIONS = ("bicubic", "camera", "realesrgan", "bsrgan")


def degrade_pairs(pairs, scale, degradation, seed=0, first_index=0):
    """`pairs` with each LR image remade from its HR image by `degradation`, seeded photo by photo.

    Args:
        pairs: (name, lr, hr) from `load_pairs` (HR cropped to a multiple of `scale`).
        scale: the SR factor.
        degradation: "bicubic" (the pairs unchanged), "camera" (`sr_keras.data.camera`, the fixed held-out
            chain), "realesrgan" (Real-ESRGAN's second-order model without the USM sharpening) or "bsrgan".
        seed: the seed; photo i of `pairs` uses (seed, first_index + i).
        first_index: the index of the first photo (to keep the draws of several sets apart).
    """
    if degradation not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {degradation!r}; degradations: {', '.join(DEGRADATIONS)}")
    if degradation == "bicubic":
        return list(pairs)
    import tensorflow as tf

    from sr_keras.data import bsrgan, camera, realesrgan

    degraded = []
    for index, (name, _, hr) in enumerate(pairs, first_index):
        if degradation == "camera":
            lr, _ = camera.camera_degrade(hr, scale, seed, index)
        elif degradation == "realesrgan":
            lr = realesrgan.degrade_batch(hr[None], scale, tf.constant([seed, index], tf.int64),
                                          realesrgan.RealESRGANSettings())[0]
        else:
            lr = bsrgan.degrade_image(hr, scale, tf.constant([seed, index], tf.int64))
        degraded.append((name, np.asarray(lr, np.float32), hr))
    return degraded


def _scores(records):
    return {"per_image": records, "mean": metrics.mean_metrics([{k: r[k] for k in METRICS} for r in records])}


def bicubic_scores(pairs, scale, protocol="benchmark"):
    """MATLAB bicubic upscaling of each LR image, scored by `protocol`: {"per_image": [...], "mean": {...}}.

    The LR images are those of `pairs` (uint8-grid values when the package made them), as BasicSR's and
    EDSR-PyTorch's bicubic baselines upscale the stored uint8 LR images."""
    border = get_protocol(protocol).crop_border(scale)
    records = []
    for name, lr, hr in pairs:
        upscaled = imresize(lr, scale=float(scale)).numpy()
        records.append(dict(metrics.image_metrics(upscaled, hr, crop_border=border), image=os.path.basename(name)))
    return _scores(records)


def evaluate(model, pairs, scale, self_ensemble=False, tile=None, overlap=16, pool_size=None, bicubic=None,
             progress=None, protocol="benchmark"):
    """Scores `model` and MATLAB bicubic on every (name, lr, hr) of `pairs` by `protocol`.

    Args:
        model: a generator ([0, 255] in and out).
        pairs: from `load_pairs`.
        scale: the SR factor (also the border cropped before scoring).
        self_ensemble, tile, overlap: as `sr_keras.inference.predict`.
        pool_size: FSA pool size to evaluate with (A-SRResNet); the model's own is restored afterwards.
        bicubic: the `bicubic_scores` of these pairs if already computed (training validation reuses them).
        progress: called as progress(done, name, record) after each image.
        protocol: a name of `PROTOCOLS`.

    Returns:
        {"scale", "protocol", "crop_border", "headline", "images", "self_ensemble", "model": {"per_image",
        "mean"}, "bicubic": {...}, "first_sr": uint8 SR of the first image}.
    """
    rule = get_protocol(protocol)
    border = rule.crop_border(scale)
    from sr_keras.inference import predict
    from sr_keras.layers import pool_size_set

    records, first = [], None
    with pool_size_set(model, pool_size):
        for index, (name, lr, hr) in enumerate(pairs):
            sr = predict(model, lr, tile=tile, overlap=overlap, self_ensemble=self_ensemble, progress=False)
            if first is None:
                first = np.clip(np.round(sr), 0, 255).astype("uint8")
            records.append(dict(metrics.image_metrics(sr, hr, crop_border=border), image=os.path.basename(name)))
            if progress:
                progress(index + 1, os.path.basename(name), records[-1])
    return {"scale": scale, "protocol": rule.name, "crop_border": border, "headline": rule.headline,
            "images": [os.path.basename(name) for name, _, _ in pairs], "self_ensemble": self_ensemble,
            "model": _scores(records),
            "bicubic": bicubic if bicubic is not None else bicubic_scores(pairs, scale, protocol), "first_sr": first}


def as_json(result):
    """`result` without its image array, ready for `json.dump`."""
    return {k: v for k, v in result.items() if k != "first_sr"}


def table(results, label="model"):
    """The results table of the package: a line naming the protocol, then one row per scale for the model and
    one for MATLAB bicubic.

    Args:
        results: {scale: result of `evaluate`}.
        label: the model's name in the table.
    """
    protocols = sorted({get_protocol(r.get("protocol", "benchmark")).name for r in results.values()})
    images = sorted({name for r in results.values() for name in r.get("images", ())})
    scored = f" on {len(images)} image{'s' if len(images) != 1 else ''} ({_names(images)})" if images else ""
    lines = [f"protocol {', '.join(protocols)}{scored}: " + "; ".join(PROTOCOLS[p].source for p in protocols),
             "| scale | method | PSNR RGB | SSIM RGB | PSNR Y | SSIM Y |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for scale in sorted(results):
        result = results[scale]
        name = label + (" + self-ensemble" if result.get("self_ensemble") else "")
        for row, key in ((name, "model"), ("bicubic", "bicubic")):
            mean = result[key]["mean"]
            lines.append(f"| x{scale} | {row} | {mean['psnr_rgb']:.2f} | {mean['ssim_rgb']:.4f} | "
                         f"{mean['psnr_y']:.2f} | {mean['ssim_y']:.4f} |")
    return "\n".join(lines)


def _names(images, shown=3):
    stems = [os.path.splitext(name)[0] for name in images]
    return ", ".join(stems[:shown]) + (f", ... {len(stems) - shown} more" if len(stems) > shown else "")


def comparison_strip(lr, sr, hr, scale, max_height=256):
    """LR (nearest) | bicubic | SR | HR side by side, uint8 [1, h, 4w, 3], cropped to at most `max_height` rows."""
    bicubic = imresize(lr, scale=float(scale)).numpy()
    nearest = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    height = min(max_height, hr.shape[0])
    width = min(2 * max_height, hr.shape[1])
    panels = [np.clip(np.round(p), 0, 255).astype("uint8")[:height, :width] for p in (nearest, bicubic, sr, hr)]
    return np.concatenate(panels, axis=1)[None]
