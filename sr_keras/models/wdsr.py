"""WDSR-A and WDSR-B: Yu et al., "Wide Activation for Efficient and Accurate Image Super-Resolution", 2018.

Structure follows the authors' code (JiahuiYu/wdsr_ntire2018 wdsr_a.py, wdsr_b.py): the input is normalised
as (x - 255 * mean) / 127.5; the main path is a head conv, N wide-activation residual blocks and a tail conv
to 3 * s^2 channels with pixel shuffle; a 5x5 conv on the normalised input, also pixel-shuffled, is added;
there is no global residual around the body. Every convolution is weight-normalised and starts as the
original's do: PyTorch's default `nn.Conv2d` initialisation of v and the bias (`_common.torch_init`; the
original keeps the defaults), then g = ||v||.
"""
import keras

from sr_keras.layers import DIV2K_RGB_MEAN, Denormalize, Normalize, PixelShuffle, WeightNormConv2D
from sr_keras.models._common import SUPPORTED_SCALES, check_positive, check_scale, lr_input, torch_init
from sr_keras.models.generator import SRGenerator, generator_builder

_MEAN_255 = tuple(255.0 * m for m in DIV2K_RGB_MEAN)


def _block_a(x, num_filters, expansion, res_scale, low_rank_ratio, name):
    """WDSR-A block: conv3x3 F -> F*e, ReLU, conv3x3 F*e -> F, times res_scale, plus input."""
    del low_rank_ratio  # WDSR-A has no low-rank 1x1 convolution.
    y = WeightNormConv2D(num_filters * expansion, 3, activation="relu", name=f"{name}_conv1",
                         **torch_init(num_filters, 3))(x)
    y = WeightNormConv2D(num_filters, 3, name=f"{name}_conv2", **torch_init(num_filters * expansion, 3))(y)
    return _residual(x, y, res_scale, name)


def _block_b(x, num_filters, expansion, res_scale, low_rank_ratio, name):
    """WDSR-B block: conv1x1 F -> F*e, ReLU, conv1x1 -> int(ratio*F), conv3x3 -> F, times res_scale, plus input."""
    low_rank = max(1, int(num_filters * low_rank_ratio))
    y = WeightNormConv2D(num_filters * expansion, 1, activation="relu", name=f"{name}_conv1",
                         **torch_init(num_filters, 1))(x)
    y = WeightNormConv2D(low_rank, 1, name=f"{name}_conv2", **torch_init(num_filters * expansion, 1))(y)
    y = WeightNormConv2D(num_filters, 3, name=f"{name}_conv3", **torch_init(low_rank, 3))(y)
    return _residual(x, y, res_scale, name)


def _residual(x, y, res_scale, name):
    if res_scale != 1:
        y = keras.layers.Rescaling(res_scale, name=f"{name}_scale")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def _mean_255(rgb_mean, model_name):
    """The per-channel mean in [0, 255] of `rgb_mean` (three values in [0, 1]; None: DIV2K's)."""
    if rgb_mean is None:
        return _MEAN_255
    values = tuple(float(v) for v in rgb_mean)
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"{model_name}: rgb_mean must be three values in [0, 1], got {rgb_mean!r}")
    return tuple(255.0 * v for v in values)


def _wdsr(scale, num_filters, num_res_blocks, expansion, res_scale, low_rank_ratio, rgb_mean, block, model_name,
          name):
    scale = check_scale(scale, SUPPORTED_SCALES, model_name)
    mean = _mean_255(rgb_mean, model_name)
    num_filters = check_positive(num_filters, "num_filters", model_name)
    num_res_blocks = check_positive(num_res_blocks, "num_res_blocks", model_name)
    expansion = check_positive(expansion, "expansion", model_name)
    lr = lr_input()
    x = Normalize(mean=mean, scale=127.5, name="normalize")(lr)
    main = WeightNormConv2D(num_filters, 3, name="head_conv", **torch_init(3, 3))(x)
    for i in range(num_res_blocks):
        main = block(main, num_filters, expansion, res_scale, low_rank_ratio, f"body_block{i + 1}")
    main = WeightNormConv2D(3 * scale * scale, 3, name="tail_conv", **torch_init(num_filters, 3))(main)
    main = PixelShuffle(scale, name="tail_shuffle")(main)
    skip = WeightNormConv2D(3 * scale * scale, 5, name="skip_conv", **torch_init(3, 5))(x)
    skip = PixelShuffle(scale, name="skip_shuffle")(skip)
    x = keras.layers.Add(name="main_plus_skip")([main, skip])
    sr = Denormalize(mean=mean, scale=127.5, name="denormalize")(x)
    return SRGenerator(lr, sr, name=name)


@generator_builder
def wdsr_a(scale=4, num_filters=32, num_res_blocks=32, expansion=4, res_scale=1.0, rgb_mean=None, name=None):
    """WDSR-A (Yu et al., 2018): wide 3x3 convolution before the ReLU.

    Defaults: 32 filters, 32 blocks, expansion 4 (2,388,080 parameters at x4 with the weight-norm g).
    The official "WDSR baseline" is `wdsr_a(scale=2, num_res_blocks=16)`.

    Args:
        scale: 2, 3, 4 or 8.
        num_filters: feature channels F of the residual path.
        num_res_blocks: residual blocks N.
        expansion: width multiplier e before the ReLU.
        res_scale: residual scaling inside each block.
        rgb_mean: the per-channel mean (in [0, 1]) subtracted before the 127.5 normalisation and added back;
            None is DIV2K's (0.4488, 0.4371, 0.4040), as in the original. The authors' later code (ychfan/wdsr)
            subtracts 0.5: `sr_keras.convert` builds its models with (0.5, 0.5, 0.5), because with zero padding
            a different mean cannot be folded exactly into the first convolutions at the image border.
        name: model name, default "wdsr_a_x<scale>".

    Returns:
        A functional Keras model (`SRGenerator`, recording architecture, scale and these arguments) from
        float RGB [0, 255] of any size to RGB [0, 255] at `scale` times the size.
    """
    return _wdsr(scale, num_filters, num_res_blocks, expansion, res_scale, None, rgb_mean, _block_a, "wdsr_a",
                 name or f"wdsr_a_x{scale}")


@generator_builder
def wdsr_b(scale=4, num_filters=32, num_res_blocks=32, expansion=6, res_scale=1.0, low_rank_ratio=0.8,
           rgb_mean=None, name=None):
    """WDSR-B (Yu et al., 2018): 1x1 expansion, ReLU, low-rank 1x1, then 3x3.

    Defaults: 32 filters, 32 blocks, expansion 6, low-rank ratio 0.8 (615,088 parameters at x4 with g).

    Args:
        scale: 2, 3, 4 or 8.
        num_filters: feature channels F of the residual path.
        num_res_blocks: residual blocks N.
        expansion: width multiplier e of the first 1x1 convolution.
        res_scale: residual scaling inside each block.
        low_rank_ratio: the low-rank 1x1 convolution has int(ratio * F) filters.
        rgb_mean: the per-channel mean (in [0, 1]) subtracted before the 127.5 normalisation and added back;
            None is DIV2K's (0.4488, 0.4371, 0.4040), as in the original. The authors' later code (ychfan/wdsr)
            subtracts 0.5: `sr_keras.convert` builds its models with (0.5, 0.5, 0.5), because with zero padding
            a different mean cannot be folded exactly into the first convolutions at the image border.
        name: model name, default "wdsr_b_x<scale>".

    Returns:
        A functional Keras model (`SRGenerator`, recording architecture, scale and these arguments) from
        float RGB [0, 255] of any size to RGB [0, 255] at `scale` times the size.
    """
    return _wdsr(scale, num_filters, num_res_blocks, expansion, res_scale, low_rank_ratio, rgb_mean, _block_b,
                 "wdsr_b",
                 name or f"wdsr_b_x{scale}")
