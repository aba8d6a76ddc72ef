"""EDSR and MDSR: Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017.

Structure follows the authors' code (sanghyun-son/EDSR-PyTorch src/model/edsr.py, mdsr.py, common.py): mean
shift, head conv, residual blocks without batch norm (conv, ReLU, conv, times res_scale, plus input), body
conv with a global skip from the head, sub-pixel upsampler, tail conv, mean shift back. Every convolution
starts as PyTorch's default `nn.Conv2d` does (kaiming-uniform a = sqrt(5) kernel, uniform bias; see
`sr_keras.models._common.torch_init`), as in EDSR-PyTorch, which keeps those defaults.
"""
import math

import keras

from sr_keras.layers import DIV2K_RGB_MEAN, Denormalize, Normalize, PixelShuffle
from sr_keras.models._common import SUPPORTED_SCALES, check_positive, check_scale, conv2d, lr_input
from sr_keras.models.generator import SRGenerator, generator_builder

_MEAN_255 = tuple(255.0 * m for m in DIV2K_RGB_MEAN)


def _res_block(num_filters, kernel_size, res_scale, name):
    """Creates one EDSR residual block; returns a function applying it (so MDSR can share it)."""
    conv1 = conv2d(num_filters, kernel_size, f"{name}_conv1", activation="relu", torch_in_channels=num_filters)
    conv2 = conv2d(num_filters, kernel_size, f"{name}_conv2", torch_in_channels=num_filters)
    scaling = keras.layers.Rescaling(res_scale, name=f"{name}_scale") if res_scale != 1 else None
    add = keras.layers.Add(name=f"{name}_add")

    def apply(x):
        y = conv2(conv1(x))
        if scaling is not None:
            y = scaling(y)
        return add([x, y])

    return apply


def _upsampler(scale, num_filters, name):
    """EDSR upsampler: log2(scale) x [conv F->4F, shuffle 2] for powers of two, [conv F->9F, shuffle 3] for 3."""
    if scale == 3:
        steps = [(3, f"{name}_1")]
    else:
        steps = [(2, f"{name}_{i + 1}") for i in range(int(math.log2(scale)))]
    layers = [(conv2d(num_filters * r * r, 3, f"{step}_conv", torch_in_channels=num_filters),
               PixelShuffle(r, name=f"{step}_shuffle")) for r, step in steps]

    def apply(x):
        for conv, shuffle in layers:
            x = shuffle(conv(x))
        return x

    return apply


def _body(num_filters, num_res_blocks, res_scale):
    blocks = [_res_block(num_filters, 3, res_scale, f"body_block{i + 1}") for i in range(num_res_blocks)]
    body_conv = conv2d(num_filters, 3, "body_conv", torch_in_channels=num_filters)
    skip = keras.layers.Add(name="body_skip")

    def apply(x):
        y = x
        for block in blocks:
            y = block(y)
        return skip([x, body_conv(y)])

    return apply


@generator_builder
def edsr(scale=4, num_filters=256, num_res_blocks=32, res_scale=0.1, name=None):
    """EDSR (Lim et al., CVPRW 2017); defaults are the paper's model: 256 filters, 32 blocks, res_scale 0.1.

    Args:
        scale: 2, 3, 4 or 8.
        num_filters: feature channels F.
        num_res_blocks: residual blocks N.
        res_scale: residual scaling inside each block.
        name: model name, default "edsr_x<scale>".

    Returns:
        A functional Keras model (`SRGenerator`, recording architecture, scale and these arguments) from
        float RGB [0, 255] of any size to RGB [0, 255] at `scale` times the size.
    """
    scale = check_scale(scale, SUPPORTED_SCALES, "edsr")
    num_filters = check_positive(num_filters, "num_filters", "edsr")
    num_res_blocks = check_positive(num_res_blocks, "num_res_blocks", "edsr")
    lr = lr_input()
    x = Normalize(mean=_MEAN_255, name="sub_mean")(lr)
    x = conv2d(num_filters, 3, "head_conv", torch_in_channels=3)(x)
    x = _body(num_filters, num_res_blocks, res_scale)(x)
    x = _upsampler(scale, num_filters, "upsample")(x)
    x = conv2d(3, 3, "tail_conv", torch_in_channels=num_filters)(x)
    sr = Denormalize(mean=_MEAN_255, name="add_mean")(x)
    return SRGenerator(lr, sr, name=name or f"edsr_x{scale}")


@generator_builder
def edsr_baseline(scale=4, num_filters=64, num_res_blocks=16, res_scale=1.0, name=None):
    """EDSR baseline (Lim et al., CVPRW 2017): 64 filters, 16 blocks, no residual scaling. See `edsr`."""
    return edsr(scale, num_filters, num_res_blocks, res_scale, name=name or f"edsr_baseline_x{scale}")


@generator_builder
def mdsr(scales=(2, 3, 4), num_filters=64, num_res_blocks=80, res_scale=1.0, name="mdsr"):
    """MDSR (Lim et al., CVPRW 2017): one shared body, scale-specific pre-processing and upsamplers.

    Head conv (shared), then per scale a pre-processing branch of two residual blocks with 5x5 kernels, the
    shared body (N blocks, conv, global skip), the scale's upsampler, the shared tail conv. Each scale gets
    its own Keras model, all built from the same layer objects, so training one updates the shared weights
    of all (one scale per mini-batch, as in the paper).

    Args:
        scales: the scales to build, each 2, 3, 4 or 8, no repeats.
        num_filters: feature channels F (64 in the paper).
        num_res_blocks: shared body blocks (80 in the paper, 16 in the baseline).
        res_scale: residual scaling.
        name: prefix of the per-scale model names.

    Returns:
        dict mapping each scale to its Keras model (an `SRGenerator` recording its own scale; float RGB
        [0, 255] in and out).
    """
    scales = tuple(check_scale(s, SUPPORTED_SCALES, "mdsr") for s in scales)
    if not scales or len(set(scales)) != len(scales):
        raise ValueError(f"mdsr: scales must be a non-empty list without repeats, got {scales}")
    num_filters = check_positive(num_filters, "num_filters", "mdsr")
    num_res_blocks = check_positive(num_res_blocks, "num_res_blocks", "mdsr")
    sub_mean = Normalize(mean=_MEAN_255, name="sub_mean")
    head = conv2d(num_filters, 3, "head_conv", torch_in_channels=3)
    body = _body(num_filters, num_res_blocks, res_scale)
    tail = conv2d(3, 3, "tail_conv", torch_in_channels=num_filters)
    add_mean = Denormalize(mean=_MEAN_255, name="add_mean")
    models = {}
    for scale in scales:
        pre_process = [_res_block(num_filters, 5, 1.0, f"x{scale}_pre_block{i + 1}") for i in range(2)]
        upsample = _upsampler(scale, num_filters, f"x{scale}_upsample")
        lr = lr_input(name=f"lr_x{scale}")
        x = head(sub_mean(lr))
        for block in pre_process:
            x = block(x)
        x = upsample(body(x))
        sr = add_mean(tail(x))
        models[scale] = SRGenerator(lr, sr, name=f"{name}_x{scale}")
    return models


@generator_builder
def mdsr_baseline(scales=(2, 3, 4), num_filters=64, num_res_blocks=16, res_scale=1.0, name="mdsr_baseline"):
    """MDSR baseline: 16 shared body blocks. See `mdsr`."""
    return mdsr(scales, num_filters, num_res_blocks, res_scale, name=name)
