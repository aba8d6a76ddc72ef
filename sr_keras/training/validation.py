"""Validation during training: whole images, PSNR/SSIM on RGB and Y with the border cropped by the scale,
next to MATLAB bicubic upscaling of the same LR images (REFERENCE section 7)."""
import numpy as np
import tensorflow as tf

from sr_keras import metrics
from sr_keras.data.degrade import imresize
from sr_keras.layers import set_pool_size


def load_validation_images(source, max_images=None):
    """Whole validation images as a list of (name, lr float32 [h, w, 3], hr float32 [H, W, 3]) numpy arrays."""
    images = []
    for item in source.images(shuffle=False):
        path = item["path"].numpy().decode()
        images.append((path, item["lr"].numpy(), item["hr"].numpy()))
        if max_images and len(images) >= max_images:
            break
    return images


def bicubic_baseline(images, scale):
    """Metrics of MATLAB bicubic upscaling of each LR image: {"per_image": [...], "mean": {...}}."""
    records = []
    for _, lr, hr in images:
        upscaled = imresize(lr, scale=float(scale)).numpy()
        records.append(metrics.image_metrics(upscaled, hr, crop_border=scale))
    return {"per_image": records, "mean": metrics.mean_metrics(records)}


def evaluate_generator(model, images, scale, pool_size=None, training_pool_size=None):
    """Runs `model` on every validation image and scores it.

    Args:
        model: a generator ([0, 255] in and out).
        images: from `load_validation_images`.
        scale: the SR factor (also the border cropped before scoring).
        pool_size: FSA pool size to evaluate with (A-SRResNet); restored to `training_pool_size` afterwards.
        training_pool_size: FSA pool size used in training.

    Returns:
        {"per_image": [metrics dicts], "mean": {...}, "first_sr": uint8 SR of the first image}.
    """
    if pool_size is not None:
        set_pool_size(model, pool_size)
    try:
        records, first = [], None
        for _, lr, hr in images:
            sr = model(tf.constant(lr[None]), training=False)[0].numpy()
            if first is None:
                first = np.clip(np.round(sr), 0, 255).astype("uint8")
            records.append(metrics.image_metrics(sr, hr, crop_border=scale))
    finally:
        if pool_size is not None:
            set_pool_size(model, training_pool_size or 1)
    return {"per_image": records, "mean": metrics.mean_metrics(records), "first_sr": first}


def comparison_strip(lr, sr, hr, scale, max_height=256):
    """LR (nearest) | bicubic | SR | HR side by side, uint8 [1, h, 4w, 3], cropped to at most `max_height` rows."""
    bicubic = np.clip(np.round(imresize(lr, scale=float(scale)).numpy()), 0, 255).astype("uint8")
    nearest = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    height = min(max_height, hr.shape[0])
    width = min(2 * max_height, hr.shape[1])
    panels = [np.clip(np.round(p), 0, 255).astype("uint8")[:height, :width] for p in (nearest, bicubic, sr, hr)]
    return np.concatenate(panels, axis=1)[None]
