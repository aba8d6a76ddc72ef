"""The SRGAN line's generators today:

- `rrdbnet`: ESRGAN's RRDBNet (Wang et al. 2018), also BSRGAN's and Real-ESRGAN's x4plus / x2plus / anime_6B,
  after BasicSR 1.4.2 `basicsr/archs/rrdbnet_arch.py`;
- `srvgg_compact`: Real-ESRGAN's `SRVGGNetCompact` (realesr-general-x4v3, realesr-animevideov3), after
  `basicsr/archs/srvgg_arch.py`.

Both take RGB in [0, 255] like every generator here and work in [0, 1] inside, as the originals do.
Initialisation is PyTorch's default `nn.Conv2d` one. BasicSR scales the RRDB convolutions' Kaiming-normal
initialisation by 0.1 (`default_init_weights`); that only matters for training from scratch and comes with the
training support.
"""
import keras

from sr_keras.layers import (CropToScaledInput, Denormalize, Normalize, PixelShuffle, PixelUnshuffle,
                             ReflectPadToMultiple)
from sr_keras.models._common import SUPPORTED_SCALES, check_positive, check_scale, conv2d, lr_input
from sr_keras.models.generator import SRGenerator, generator_builder

RRDB_SCALES = (1, 2, 4)  # x4 as ESRGAN; x2 and x1 pixel-unshuffle the input by 2 and 4 first
RESIDUAL_SCALE = 0.2  # both inside each dense block and around each RRDB


def _lrelu(name):
    return keras.layers.LeakyReLU(0.2, name=name)


def _scaled_residual(x, y, name):
    """x + 0.2 * y."""
    return keras.layers.Add(name=f"{name}_add")([x, keras.layers.Rescaling(RESIDUAL_SCALE, name=f"{name}_scale")(y)])


def _dense_block(x, num_feat, num_grow_ch, name):
    """BasicSR's `ResidualDenseBlock`: five convolutions, each fed with the block input and every earlier
    output (concatenated), LeakyReLU 0.2 after the first four; the fifth's output scaled by 0.2 and added."""
    features, in_channels = [x], num_feat
    for i in range(1, 6):
        inputs = features[0] if len(features) == 1 else keras.layers.Concatenate(name=f"{name}_cat{i}")(features)
        y = conv2d(num_feat if i == 5 else num_grow_ch, 3, f"{name}_conv{i}", torch_in_channels=in_channels)(inputs)
        if i < 5:
            y = _lrelu(f"{name}_lrelu{i}")(y)
            features.append(y)
            in_channels += num_grow_ch
    return _scaled_residual(x, y, name)


def _nearest_x2(x, name):
    """Nearest-neighbour x2 upsampling (PyTorch's `F.interpolate(scale_factor=2, mode="nearest")`) as four
    copies of the channels through a pixel shuffle: the same values, and operators every export runtime has
    built in with the channel count known (Keras's `UpSampling2D` loses it at dynamic sizes, and LiteRT then
    refuses the next convolution)."""
    copies = keras.layers.Concatenate(name=f"{name}_copies")([x] * 4)
    return PixelShuffle(2, name=f"{name}_nearest")(copies)


@generator_builder
def rrdbnet(scale=4, num_feat=64, num_block=23, num_grow_ch=32, name=None):
    """RRDBNet (ESRGAN, Real-ESRGAN, BSRGAN): `num_block` residual-in-residual dense blocks.

    conv_first; `num_block` RRDBs (3 dense blocks each, the output scaled by 0.2 and added); conv_body added to
    conv_first's output; two steps of nearest x2 upsampling + conv + LeakyReLU 0.2; conv_hr + LeakyReLU;
    conv_last. x2 and x1 pixel-unshuffle the input by 2 and 4 first, so the network itself always upsamples x4;
    their input is reflect-padded to a multiple of 2 or 4 and the output cropped back, as Real-ESRGAN's
    `RealESRGANer` does around the network, so any size is taken.

    Args:
        scale: 1, 2 or 4.
        num_feat: feature channels (64).
        num_block: RRDBs (23; Real-ESRGAN's anime model 6).
        num_grow_ch: channels each dense-block convolution adds (32).
        name: model name, default "rrdbnet_x<scale>".
    """
    scale = check_scale(scale, RRDB_SCALES, "rrdbnet")
    for value, what in ((num_feat, "num_feat"), (num_block, "num_block"), (num_grow_ch, "num_grow_ch")):
        check_positive(value, what, "rrdbnet")
    lr = lr_input()
    x = Normalize(scale=255.0, name="to_unit_range")(lr)
    in_channels = 3
    if scale != 4:  # any size: reflect-padded to a multiple of the unshuffle factor, cropped back at the end
        x = ReflectPadToMultiple(4 // scale, name="pad")(x)
        x = PixelUnshuffle(4 // scale, name="unshuffle")(x)
        in_channels *= (4 // scale) ** 2
    first = conv2d(num_feat, 3, "conv_first", torch_in_channels=in_channels)(x)
    x = first
    for b in range(num_block):
        block = f"body_{b}"
        y = x
        for d in range(1, 4):
            y = _dense_block(y, num_feat, num_grow_ch, f"{block}_rdb{d}")
        x = _scaled_residual(x, y, block)
    x = conv2d(num_feat, 3, "conv_body", torch_in_channels=num_feat)(x)
    x = keras.layers.Add(name="body_skip")([first, x])
    for i in (1, 2):
        x = _nearest_x2(x, f"up{i}")
        x = _lrelu(f"conv_up{i}_lrelu")(conv2d(num_feat, 3, f"conv_up{i}", torch_in_channels=num_feat)(x))
    x = _lrelu("conv_hr_lrelu")(conv2d(num_feat, 3, "conv_hr", torch_in_channels=num_feat)(x))
    x = conv2d(3, 3, "conv_last", torch_in_channels=num_feat)(x)
    sr = Denormalize(scale=255.0, name="to_pixel_range")(x)
    if scale != 4:
        sr = CropToScaledInput(scale, name="crop")([sr, lr])
    return SRGenerator(lr, sr, name=name or f"rrdbnet_x{scale}")


@generator_builder
def srvgg_compact(scale=4, num_feat=64, num_conv=16, name=None):
    """Real-ESRGAN's SRVGGNetCompact: conv + PReLU, `num_conv` x (conv + PReLU), conv to 3 * scale^2 channels,
    pixel shuffle, plus the nearest-upsampled input.

    Args:
        scale: 2, 3, 4 or 8 (the published models are x4).
        num_feat: feature channels (64).
        num_conv: body convolutions (32 in realesr-general-x4v3, 16 in realesr-animevideov3).
        name: model name, default "srvgg_compact_x<scale>".
    """
    scale = check_scale(scale, SUPPORTED_SCALES, "srvgg_compact")
    check_positive(num_feat, "num_feat", "srvgg_compact")
    check_positive(num_conv, "num_conv", "srvgg_compact")
    lr = lr_input()
    unit = Normalize(scale=255.0, name="to_unit_range")(lr)
    x = conv2d(num_feat, 3, "body_0", torch_in_channels=3)(unit)
    x = keras.layers.PReLU(shared_axes=[1, 2], name="body_1")(x)
    for i in range(num_conv):
        x = conv2d(num_feat, 3, f"body_{2 * i + 2}", torch_in_channels=num_feat)(x)
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"body_{2 * i + 3}")(x)
    x = conv2d(3 * scale * scale, 3, f"body_{2 * num_conv + 2}", torch_in_channels=num_feat)(x)
    x = PixelShuffle(scale, name="upsampler")(x)
    base = keras.layers.UpSampling2D(scale, interpolation="nearest", name="base_nearest")(unit)
    x = keras.layers.Add(name="add_base")([x, base])
    sr = Denormalize(scale=255.0, name="to_pixel_range")(x)
    return SRGenerator(lr, sr, name=name or f"srvgg_compact_x{scale}")


VGG_STYLE_SIZES = (128, 256)
# PyTorch's BatchNorm2d defaults, as BasicSR builds them: epsilon 1e-5, momentum 0.1 (Keras's 0.9).
_TORCH_BN = dict(epsilon=1e-5, momentum=0.9)


def vgg_style_discriminator(input_size=128, num_feat=64, name="vgg_style_discriminator"):
    """ESRGAN's VGG-style discriminator (BasicSR 1.4.2 `VGGStyleDiscriminator`), for 128 or 256 px HR crops.

    conv0_0 (3x3, bias) + LeakyReLU 0.2; conv0_1 (4x4, stride 2, no bias) + BN + LeakyReLU; then per stage i
    conv{i}_0 (3x3) and conv{i}_1 (4x4, stride 2), each without bias and followed by BN and LeakyReLU, with
    2, 4, 8, 8 (and 8 at 256 px) times `num_feat` channels; flattened 4x4 features, linear1 (100) + LeakyReLU,
    linear2 (the layer named "logits"), and a sigmoid ("probability") so `GANTrainer` takes its logits like the
    SRGAN discriminator's. Input: RGB [0, 255] (divided by 255: BasicSR feeds [0, 1]). Batch norm as PyTorch's
    defaults (epsilon 1e-5, momentum 0.1 in PyTorch's convention); the features are flattened in Keras's
    (h, w, c) order, which the converter's permutation of linear1 accounts for.

    Args:
        input_size: 128 or 256, the HR crop side.
        num_feat: the first convolution's channels (64).
        name: model name.
    """
    if input_size not in VGG_STYLE_SIZES:
        raise ValueError(f"vgg_style_discriminator: input_size must be 128 or 256, got {input_size!r}")
    num_feat = check_positive(num_feat, "num_feat", "vgg_style_discriminator")
    hr = keras.Input(shape=(input_size, input_size, 3), name="hr")
    x = Normalize(scale=255.0, name="to_unit_range")(hr)
    x = _lrelu("conv0_0_lrelu")(keras.layers.Conv2D(num_feat, 3, padding="same", name="conv0_0")(x))
    x = keras.layers.Conv2D(num_feat, 4, strides=2, padding="same", use_bias=False, name="conv0_1")(x)
    x = _lrelu("conv0_1_lrelu")(keras.layers.BatchNormalization(name="bn0_1", **_TORCH_BN)(x))
    widths = (2, 4, 8, 8, 8)[:4 if input_size == 128 else 5]
    for stage, width in enumerate(widths, start=1):
        for part, (kernel, stride) in enumerate(((3, 1), (4, 2))):
            x = keras.layers.Conv2D(num_feat * width, kernel, strides=stride, padding="same", use_bias=False,
                                    name=f"conv{stage}_{part}")(x)
            x = keras.layers.BatchNormalization(name=f"bn{stage}_{part}", **_TORCH_BN)(x)
            x = _lrelu(f"conv{stage}_{part}_lrelu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = _lrelu("linear1_lrelu")(keras.layers.Dense(100, name="linear1")(x))
    logits = keras.layers.Dense(1, name="logits")(x)
    probability = keras.layers.Activation("sigmoid", name="probability")(logits)
    return keras.Model(hr, probability, name=name)
