"""Real-ESRGAN's second-order degradation model as batched TensorFlow ops, for ``tf.data`` graphs.

Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021;
the code followed is xinntao/Real-ESRGAN ``realesrgan/models/realesrnet_model.py`` (``feed_data``) and
``options/train_realesrnet_x4plus.yml``, with BasicSR's ``basicsr/data/realesrgan_dataset.py`` (kernels) and
``basicsr/data/degradations.py`` (noise). From an HR batch in [0, 1] (optionally USM-sharpened first):

1. blur with a per-image kernel (`draw_kernels`: a sinc kernel with probability 0.1, else one of six
   Gaussian-like families); resize by a per-batch factor (up / down / keep) with a per-batch mode (area,
   bilinear, bicubic: PyTorch's ``F.interpolate``, `sr_keras.data.interpolate`); per batch Gaussian or
   Poisson noise, with per-image sigma or scale and per-image gray noise; clip; JPEG with a per-image quality
   (`sr_keras.data.jpeg.diff_jpeg`);
2. with probability 0.8 (per batch) a second per-image blur; a second resize, to ``int(H / scale * factor)``;
   a second noise; then, in an order drawn per batch, [resize to H / scale + the final per-image sinc filter
   (probability 0.8, else identity)] and JPEG;
3. round to the uint8 grid.

Every random choice is drawn from stateless TF random ops seeded by a [2] seed tensor, so a seeded pipeline
gives the same batches in every run. `draw_parameters` makes all of a batch's draws (parameters only, cheap:
its frequencies can be checked over many draws), `degrade` applies them.

Where this differs from the original (each a choice of cost, none of the model): the HR crop itself is degraded
(Real-ESRGAN degrades a 400 px region and then crops 256 px of it with the LR), so the blur at a crop's border
sees reflected pixels instead of its neighbours.
"""
import dataclasses
import math

import tensorflow as tf

from sr_keras.checks import ConfigError
from sr_keras.data import kernels as K
from sr_keras.data.interpolate import interpolate
from sr_keras.data.jpeg import diff_jpeg

KERNEL_SIZES = tuple(range(7, 22, 2))  # BasicSR's realesrgan_dataset.kernel_range: 7, 9, ..., 21
RESIZE_KINDS = ("up", "down", "keep")
NOISE_KINDS = ("gaussian", "poisson")
ORDERS = ("resize_then_jpeg", "jpeg_then_resize")


def _setting(default, help_text):
    """A field of `RealESRGANSettings`; the training command line has one flag per field (help from here)."""
    item = float if isinstance(default, tuple) else None
    return dataclasses.field(default=default, metadata={"help": f"realesrgan: {help_text}", "item": item})


_KERNEL_PROBS = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)
_MODE_PROBS = (1 / 3, 1 / 3, 1 / 3)  # area, bilinear, bicubic: random.choice in realesrnet_model.feed_data
_RANGES = ("blur_sigma", "betag_range", "betap_range", "resize_range", "noise_range", "poisson_scale_range",
           "jpeg_range", "blur_sigma2", "betag_range2", "betap_range2", "resize_range2", "noise_range2",
           "poisson_scale_range2", "jpeg_range2")
_PROBABILITIES = ("sinc_prob", "gaussian_noise_prob", "gray_noise_prob", "second_blur_prob", "sinc_prob2",
                  "gaussian_noise_prob2", "gray_noise_prob2", "final_sinc_prob", "final_order_prob")


@dataclasses.dataclass(frozen=True)
class RealESRGANSettings:
    """Every setting of the degradation, with the values of ``options/train_realesrnet_x4plus.yml`` (the same in
    the x2 and GAN option files). Names follow the YAML file; "2" marks the second stage. The kernel families
    are `kernels.KERNEL_TYPES`, in that order (a probability of 0 leaves one out)."""

    kernel_prob: tuple = _setting(_KERNEL_PROBS, "first-stage kernel family probabilities (iso, aniso, "
                                  "generalized iso/aniso, plateau iso/aniso)")
    sinc_prob: float = _setting(0.1, "first-stage probability of a sinc kernel instead")
    blur_sigma: tuple = _setting((0.2, 3.0), "first-stage kernel sigma range (HR pixels)")
    betag_range: tuple = _setting((0.5, 4.0), "first-stage generalized Gaussian beta range")
    betap_range: tuple = _setting((1.0, 2.0), "first-stage plateau beta range")
    resize_prob: tuple = _setting((0.2, 0.7, 0.1), "first-stage resize up, down, keep probabilities")
    resize_range: tuple = _setting((0.15, 1.5), "first-stage resize factor range")
    resize_mode_prob: tuple = _setting(_MODE_PROBS, "first-stage resize mode probabilities (area, bilinear, "
                                       "bicubic; Real-ESRGAN draws them uniformly)")
    gaussian_noise_prob: float = _setting(0.5, "first-stage probability of Gaussian (else Poisson) noise")
    noise_range: tuple = _setting((1.0, 30.0), "first-stage Gaussian noise sigma range (grey levels)")
    poisson_scale_range: tuple = _setting((0.05, 3.0), "first-stage Poisson noise scale range")
    gray_noise_prob: float = _setting(0.4, "first-stage probability of gray noise")
    jpeg_range: tuple = _setting((30.0, 95.0), "first-stage JPEG quality range")
    second_blur_prob: float = _setting(0.8, "probability of the second-stage blur")
    kernel_prob2: tuple = _setting(_KERNEL_PROBS, "second-stage kernel family probabilities")
    sinc_prob2: float = _setting(0.1, "second-stage probability of a sinc kernel")
    blur_sigma2: tuple = _setting((0.2, 1.5), "second-stage kernel sigma range")
    betag_range2: tuple = _setting((0.5, 4.0), "second-stage generalized Gaussian beta range")
    betap_range2: tuple = _setting((1.0, 2.0), "second-stage plateau beta range")
    resize_prob2: tuple = _setting((0.3, 0.4, 0.3), "second-stage resize up, down, keep probabilities")
    resize_range2: tuple = _setting((0.3, 1.2), "second-stage resize factor range")
    resize_mode_prob2: tuple = _setting(_MODE_PROBS, "second-stage resize mode probabilities (this resize, to "
                                        "about H / scale, does most of the down-scaling; of area, bilinear and "
                                        "bicubic only area averages, the others alias)")
    gaussian_noise_prob2: float = _setting(0.5, "second-stage probability of Gaussian noise")
    noise_range2: tuple = _setting((1.0, 25.0), "second-stage Gaussian noise sigma range")
    poisson_scale_range2: tuple = _setting((0.05, 2.5), "second-stage Poisson noise scale range")
    gray_noise_prob2: float = _setting(0.4, "second-stage probability of gray noise")
    jpeg_range2: tuple = _setting((30.0, 95.0), "second-stage JPEG quality range")
    final_sinc_prob: float = _setting(0.8, "probability of the final sinc filter")
    final_order_prob: float = _setting(0.5, "probability of [resize + sinc] before the final JPEG (else after)")
    final_mode_prob: tuple = _setting(_MODE_PROBS, "final resize (to exactly H / scale) mode "
                                      "probabilities (area, bilinear, bicubic)")

    def __post_init__(self):
        for name in ("kernel_prob", "kernel_prob2", "resize_prob", "resize_prob2", "resize_mode_prob",
                     "resize_mode_prob2", "final_mode_prob"):
            probs = tuple(getattr(self, name))
            expected = len(K.KERNEL_TYPES) if name.startswith("kernel") else 3
            if len(probs) != expected or any(p < 0 for p in probs) or not math.isclose(sum(probs), 1.0,
                                                                                      abs_tol=1e-6):
                raise ConfigError(name, f"must be {expected} probabilities summing to 1, got {probs}")
        for name in _RANGES:
            low_high = tuple(getattr(self, name))
            if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1]:
                raise ConfigError(name, f"must be a range low,high with 0 <= low <= high, got {low_high}")
        for name in ("jpeg_range", "jpeg_range2"):
            low, high = getattr(self, name)
            if not (1 <= low and high <= 100):
                raise ConfigError(name, f"JPEG qualities lie in [1, 100], got {(low, high)}")
        for name in ("resize_range", "resize_range2"):
            low, high = getattr(self, name)
            if not low <= 1 <= high or low <= 0:
                raise ConfigError(name, f"must be a range low,high with 0 < low <= 1 <= high, got {(low, high)}")
        for name in _PROBABILITIES:
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(name, f"must be a probability in [0, 1], got {getattr(self, name)}")

    def changed(self):
        """The names of the settings that differ from Real-ESRGAN's values."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) != f.default]


def _uniform(seed, shape, low, high, dtype=tf.float32):
    return tf.random.stateless_uniform(shape, seed, minval=low, maxval=high, dtype=dtype)


def _categorical(seed, shape, probs):
    """int32 draws of indices with the given probabilities (the inverse CDF of one uniform each)."""
    u = tf.random.stateless_uniform(shape, seed, dtype=tf.float64)
    edges = tf.constant([sum(probs[:i + 1]) for i in range(len(probs) - 1)], tf.float64)
    return tf.reduce_sum(tf.cast(u[..., None] >= edges, tf.int32), axis=-1)


def _beta(seed, batch, beta_range):
    """BasicSR's beta: with probability 1/2 uniform in [low, 1), else in [1, high)."""
    s = tf.random.experimental.stateless_split(seed, 3)
    low_half = _uniform(s[0], [batch], 0.0, 1.0) < 0.5
    return tf.where(low_half, _uniform(s[1], [batch], beta_range[0], 1.0), _uniform(s[2], [batch], 1.0,
                                                                                       beta_range[1]))


def draw_kernels(seed, batch, probs, sinc_prob, sigma_range, betag_range, betap_range):
    """One blur kernel per image, as ``RealESRGANDataset.__getitem__`` draws kernel1 / kernel2.

    The size is uniform over 7, 9, ..., 21; with probability ``sinc_prob`` a sinc kernel with cutoff uniform in
    [pi/3, pi) (size below 13) or [pi/5, pi); else a family drawn with ``probs`` (`kernels.KERNEL_TYPES` order),
    sigma_x, sigma_y uniform in ``sigma_range`` (isotropic: sigma_y = sigma_x, no rotation), rotation uniform
    in [-pi, pi), beta as `_beta`.

    Returns:
        (kernels float32 [B, 21, 21], draws {"size", "sinc", "type", ...} int/float [B]).
    """
    s = tf.random.experimental.stateless_split(seed, 9)
    size = tf.gather(tf.constant(KERNEL_SIZES), _categorical(s[0], [batch], [1.0 / len(KERNEL_SIZES)] *
                                                             len(KERNEL_SIZES)))
    sinc = _uniform(s[1], [batch], 0.0, 1.0) < sinc_prob
    kind = _categorical(s[2], [batch], probs)
    sigma_x = _uniform(s[3], [batch], sigma_range[0], sigma_range[1])
    sigma_y = _uniform(s[4], [batch], sigma_range[0], sigma_range[1])
    theta = _uniform(s[5], [batch], -math.pi, math.pi)
    betag = _beta(s[6], batch, betag_range)
    betap = _beta(s[7], batch, betap_range)
    cutoff = tf.where(size < 13, _uniform(s[8], [batch], math.pi / 3, math.pi),
                      _uniform(s[8], [batch], math.pi / 5, math.pi))
    isotropic = tf.equal(kind % 2, 0)  # iso, generalized_iso, plateau_iso sit at even positions
    sigma_y = tf.where(isotropic, sigma_x, sigma_y)
    theta = tf.where(isotropic, tf.zeros_like(theta), theta)
    family = kind // 2  # 0 Gaussian, 1 generalized Gaussian, 2 plateau
    gaussian = K.gaussian_kernels(size, sigma_x, sigma_y, theta)
    generalized = K.generalized_gaussian_kernels(size, sigma_x, sigma_y, theta, betag)
    plateau = K.plateau_kernels(size, sigma_x, sigma_y, theta, betap)
    chosen = tf.where(tf.reshape(family == 0, [-1, 1, 1]), gaussian,
                      tf.where(tf.reshape(family == 1, [-1, 1, 1]), generalized, plateau))
    kernels = tf.where(tf.reshape(sinc, [-1, 1, 1]), K.sinc_kernels(size, cutoff), chosen)
    draws = {"size": size, "sinc": sinc, "type": kind, "sigma_x": sigma_x, "sigma_y": sigma_y, "theta": theta,
             "betag": betag, "betap": betap, "cutoff": cutoff}
    return kernels, draws


def draw_final_sinc(seed, batch, prob):
    """The final per-image filter: with probability ``prob`` a sinc kernel (size uniform 7-21, cutoff uniform in
    [pi/3, pi)), else the identity (``pulse_tensor``). Returns (kernels [B, 21, 21], applied [B] bool)."""
    s = tf.random.experimental.stateless_split(seed, 3)
    applied = _uniform(s[0], [batch], 0.0, 1.0) < prob
    size = tf.gather(tf.constant(KERNEL_SIZES), _categorical(s[1], [batch], [1.0 / len(KERNEL_SIZES)] *
                                                             len(KERNEL_SIZES)))
    cutoff = _uniform(s[2], [batch], math.pi / 3, math.pi)
    kernels = tf.where(tf.reshape(applied, [-1, 1, 1]), K.sinc_kernels(size, cutoff), K.pulse_kernels(batch))
    return kernels, applied


def _draw_resize(seed, probs, factor_range, mode_probs):
    """Per batch: (kind index of RESIZE_KINDS, factor, mode index of `sr_keras.data.interpolate.MODES`)."""
    s = tf.random.experimental.stateless_split(seed, 3)
    kind = _categorical(s[0], [], probs)
    u = _uniform(s[1], [], 0.0, 1.0, tf.float64)
    up = 1.0 + u * (factor_range[1] - 1.0)
    down = factor_range[0] + u * (1.0 - factor_range[0])
    factor = tf.gather(tf.stack([up, down, tf.constant(1.0, tf.float64)]), kind)
    mode = _categorical(s[2], [], mode_probs)
    return kind, factor, mode


def _draw_noise(seed, batch, gaussian_prob, sigma_range, poisson_range, gray_prob):
    s = tf.random.experimental.stateless_split(seed, 5)
    return {"kind": tf.cast(_uniform(s[0], [], 0.0, 1.0) >= gaussian_prob, tf.int32),  # 0 Gaussian, 1 Poisson
            "sigma": _uniform(s[1], [batch], sigma_range[0], sigma_range[1]),
            "poisson_scale": _uniform(s[2], [batch], poisson_range[0], poisson_range[1]),
            "gray": _uniform(s[3], [batch], 0.0, 1.0) < gray_prob,
            "seed": s[4]}


def draw_parameters(seed, batch, settings=RealESRGANSettings()):
    """Every random draw of one batch's degradation (see the module docstring for which are per image).

    Args:
        seed: int [2] tensor.
        batch: the batch size (python int or scalar tensor).
        settings: a `RealESRGANSettings`.

    Returns:
        A dict of tensors: "kernel1", "kernel2", "sinc" ([B, 21, 21] kernels and their draws), per-batch
        "resize1" / "resize2" / "final_mode" choices, "noise1" / "noise2" dicts, "jpeg1" / "jpeg2" [B] qualities,
        "second_blur" and "order" per-batch flags.
    """
    cfg = settings
    seed = tf.cast(seed, tf.int64)
    s = tf.random.experimental.stateless_split(seed, 12)
    kernel1, kernel1_draws = draw_kernels(s[0], batch, cfg.kernel_prob, cfg.sinc_prob, cfg.blur_sigma,
                                          cfg.betag_range, cfg.betap_range)
    kernel2, kernel2_draws = draw_kernels(s[1], batch, cfg.kernel_prob2, cfg.sinc_prob2, cfg.blur_sigma2,
                                          cfg.betag_range2, cfg.betap_range2)
    sinc, sinc_applied = draw_final_sinc(s[2], batch, cfg.final_sinc_prob)
    return {
        "kernel1": kernel1, "kernel1_draws": kernel1_draws, "kernel2": kernel2, "kernel2_draws": kernel2_draws,
        "sinc": sinc, "sinc_applied": sinc_applied,
        "resize1": _draw_resize(s[3], cfg.resize_prob, cfg.resize_range, cfg.resize_mode_prob),
        "noise1": _draw_noise(s[4], batch, cfg.gaussian_noise_prob, cfg.noise_range, cfg.poisson_scale_range,
                              cfg.gray_noise_prob),
        "jpeg1": _uniform(s[5], [batch], cfg.jpeg_range[0], cfg.jpeg_range[1]),
        "second_blur": _uniform(s[6], [], 0.0, 1.0) < cfg.second_blur_prob,
        "resize2": _draw_resize(s[7], cfg.resize_prob2, cfg.resize_range2, cfg.resize_mode_prob2),
        "noise2": _draw_noise(s[8], batch, cfg.gaussian_noise_prob2, cfg.noise_range2, cfg.poisson_scale_range2,
                              cfg.gray_noise_prob2),
        "jpeg2": _uniform(s[9], [batch], cfg.jpeg_range2[0], cfg.jpeg_range2[1]),
        "order": tf.cast(_uniform(s[10], [], 0.0, 1.0) >= cfg.final_order_prob, tf.int32),
        "final_mode": _categorical(s[11], [], cfg.final_mode_prob),
    }


# ----------------------------------------------------------------------------------------------- noise


def gaussian_noise(images, sigma, gray, color_draw, gray_draw):
    """BasicSR ``generate_gaussian_noise_pt`` for given standard-normal draws, on [0, 1] images.

    Args:
        images: [B, H, W, C] in [0, 1].
        sigma: [B] standard deviations in grey levels (of 255).
        gray: [B] bool, gray noise (one draw for all channels) for that image.
        color_draw: [B, H, W, C] standard normal draws; gray_draw: [1, H, W, 1] (BasicSR draws one gray field
            for the whole batch, ``torch.randn(h, w)``, and scales it by each image's sigma) or [B, H, W, 1].

    Returns:
        The noise [B, H, W, C] (add it and clip).
    """
    del images
    sigma = tf.reshape(tf.cast(sigma, tf.float32), [-1, 1, 1, 1]) / 255.0
    gray = tf.reshape(tf.cast(gray, tf.float32), [-1, 1, 1, 1])
    return color_draw * sigma * (1.0 - gray) + gray_draw * sigma * gray


def _grayscale(images):
    """torchvision ``rgb_to_grayscale``: 0.2989 R + 0.587 G + 0.114 B."""
    return 0.2989 * images[..., 0:1] + 0.587 * images[..., 1:2] + 0.114 * images[..., 2:3]


def poisson_levels(images):
    """The rate inputs of BasicSR's Poisson noise: the image rounded to the uint8 grid (in [0, 1]) and, per image,
    ``2^ceil(log2(number of distinct grey levels))``.

    Returns:
        (quantised [B, H, W, C] float32, vals [B] float32).
    """
    levels = tf.clip_by_value(tf.round(images * 255.0), 0.0, 255.0)
    flat = tf.reshape(tf.cast(levels, tf.int32), [tf.shape(images)[0], -1])
    counts = tf.math.bincount(flat, minlength=256, maxlength=256, axis=-1)
    distinct = tf.reduce_sum(tf.cast(counts > 0, tf.float32), axis=-1)
    vals = tf.pow(2.0, tf.math.ceil(tf.math.log(distinct) / math.log(2.0)))
    return levels / 255.0, vals


def poisson_noise(images, scale, gray, color_counts, gray_counts):
    """BasicSR ``generate_poisson_noise_pt`` for given Poisson draws, on [0, 1] images.

    Args:
        images: [B, H, W, 3] in [0, 1].
        scale: [B] noise scales.
        gray: [B] bool, gray noise for that image.
        color_counts: Poisson draws with rates ``quantised * vals`` (`poisson_levels(images)`), [B, H, W, 3];
        gray_counts: the same for the grayscale image (`poisson_levels(_grayscale(images))`), [B, H, W, 1].

    Returns:
        The noise [B, H, W, 3] (add it to the unrounded image and clip).
    """
    quantised, vals = poisson_levels(images)
    noise = color_counts / tf.reshape(vals, [-1, 1, 1, 1]) - quantised
    gray_quantised, gray_vals = poisson_levels(_grayscale(images))
    noise_gray = gray_counts / tf.reshape(gray_vals, [-1, 1, 1, 1]) - gray_quantised
    g = tf.reshape(tf.cast(gray, tf.float32), [-1, 1, 1, 1])
    noise = noise * (1.0 - g) + noise_gray * g
    return noise * tf.reshape(tf.cast(scale, tf.float32), [-1, 1, 1, 1])


def _add_noise(images, noise):
    """Adds one batch-level noise draw (Gaussian or Poisson) and clips to [0, 1]."""
    s = tf.random.experimental.stateless_split(noise["seed"], 2)
    shape = tf.shape(images)

    def gaussian():
        color = tf.random.stateless_normal(shape, s[0])
        gray = tf.random.stateless_normal(tf.concat([[1], shape[1:3], [1]], 0), s[1])
        return gaussian_noise(images, noise["sigma"], noise["gray"], color, gray)

    def poisson():
        quantised, vals = poisson_levels(images)
        color = tf.random.stateless_poisson(shape, s[0], quantised * tf.reshape(vals, [-1, 1, 1, 1]), tf.float32)
        gray_quantised, gray_vals = poisson_levels(_grayscale(images))
        gray = tf.random.stateless_poisson(tf.shape(gray_quantised), s[1],
                                           gray_quantised * tf.reshape(gray_vals, [-1, 1, 1, 1]), tf.float32)
        return poisson_noise(images, noise["poisson_scale"], noise["gray"], color, gray)

    added = tf.cond(tf.equal(noise["kind"], 0), gaussian, poisson)
    return tf.clip_by_value(images + added, 0.0, 1.0)


# ------------------------------------------------------------------------------------------------ apply


def _jpeg(images, quality):
    """Clamp to [0, 1], then DiffJPEG (it works on [0, 255])."""
    return diff_jpeg(tf.clip_by_value(images, 0.0, 1.0) * 255.0, quality) / 255.0


def degrade(hr, scale, params, usm=False):
    """Applies one batch's drawn degradation (`draw_parameters`) to an HR batch.

    Args:
        hr: float [B, H, W, 3] in [0, 255], H and W multiples of ``scale`` and at least 74 px (the smallest
            first-stage resize must leave more than the 10 px of the kernels' reflect padding).
        scale: integer SR factor.
        params: `draw_parameters(seed, B, settings)`.
        usm: sharpen the HR first (BasicSR ``USMSharp``), as Real-ESRGAN degrades its ``gt_usm``.

    Returns:
        LR float32 [B, H / scale, W / scale, 3] on the uint8 grid, in [0, 255].
    """
    hr = tf.cast(hr, tf.float32)
    if usm:
        hr = K.usm_sharpen(hr)
    out = hr / 255.0
    shape = tf.shape(out)
    lr_h, lr_w = shape[1] // scale, shape[2] // scale
    # First stage.
    out = K.filter2d(out, params["kernel1"])
    _, factor, mode = params["resize1"]
    out = interpolate(out, mode, scale_factor=factor)
    out = _add_noise(out, params["noise1"])
    out = _jpeg(out, params["jpeg1"])
    # Second stage.
    out = tf.cond(params["second_blur"], lambda: K.filter2d(out, params["kernel2"]), lambda: out)
    _, factor, mode = params["resize2"]
    size2 = [tf.cast(tf.cast(shape[1], tf.float64) / scale * factor, tf.int32),
             tf.cast(tf.cast(shape[2], tf.float64) / scale * factor, tf.int32)]
    out = interpolate(out, mode, size=size2)
    out = _add_noise(out, params["noise2"])

    def resize_sinc(x):
        return K.filter2d(interpolate(x, params["final_mode"], size=[lr_h, lr_w]), params["sinc"])

    out = tf.cond(tf.equal(params["order"], 0),
                  lambda: _jpeg(resize_sinc(out), params["jpeg2"]),
                  lambda: resize_sinc(_jpeg(out, params["jpeg2"])))
    lr = tf.clip_by_value(tf.round(out * 255.0), 0.0, 255.0)
    lr.set_shape([hr.shape[0], None if hr.shape[1] is None else hr.shape[1] // scale,
                  None if hr.shape[2] is None else hr.shape[2] // scale, 3])
    return lr


def degrade_batch(hr, scale, seed, settings=RealESRGANSettings(), usm=False):
    """Draws and applies one batch's degradation: ``degrade(hr, scale, draw_parameters(seed, B, settings), usm)``."""
    batch = tf.shape(hr)[0]
    return degrade(hr, scale, draw_parameters(seed, batch, settings), usm)
