"""The Real-ESRGAN discriminator: Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure
Synthetic Data", ICCV Workshops 2021, as BasicSR 1.4.2 writes it (`basicsr/archs/discriminator_arch.py`,
`UNetDiscriminatorSN`).

A U-Net that gives one real/fake logit per pixel instead of one per image:
- conv0 3x3 (bias) + LeakyReLU 0.2 at full size;
- three downsampling convs 4x4 stride 2 (conv1..conv3: F -> 2F -> 4F -> 8F channels at 1/2, 1/4, 1/8);
- three upsampling steps, each a bilinear x2 upsample then a 3x3 conv (conv4..conv6: 8F -> 4F -> 2F -> F) and
  LeakyReLU 0.2, with the matching encoder map added after the activation (`skip_connection`);
- conv7, conv8 3x3 + LeakyReLU 0.2, then conv9 3x3 (bias) to one channel: the logits, no sigmoid (Real-ESRGAN
  trains it with BCE-with-logits, BasicSR's "vanilla" GAN loss).
Every conv but the first and the last is spectral-normalised and has no bias (`SpectralNorm`: the semantics of
`torch.nn.utils.spectral_norm`, which BasicSR uses). Weights start as PyTorch's default `nn.Conv2d`
initialisation (BasicSR does not re-initialise this network).

The original receives images in [0, 1]; the model here takes [0, 255] like every sr_keras model and divides by
255 first. Its upsampling is `F.interpolate(scale_factor=2, mode="bilinear", align_corners=False)`, which for an
exact x2 is the half-pixel bilinear resize of `keras.layers.UpSampling2D(interpolation="bilinear")` (the same
sample positions, the same edge clamping and weights 1/4, 3/4; the two libraries round the last bit
differently). Height and width must be multiples of 8, as in the original: otherwise the upsampled maps do not
match the encoder maps they are added to.
"""
import keras

from sr_keras.layers import Normalize
from sr_keras.models._common import check_positive, conv2d

MODEL_NAME = "unet_discriminator_sn"
# BasicSR's negative slope of every LeakyReLU in the network.
LEAKY_SLOPE = 0.2
# Channel multipliers of conv1..conv3 (the encoder) and conv4..conv6 (the decoder), in units of num_feat.
ENCODER = (2, 4, 8)
DECODER = (4, 2, 1)


def _leaky(name):
    return keras.layers.LeakyReLU(LEAKY_SLOPE, name=name)


def _sn_conv(filters, kernel_size, name, in_channels, strides=1):
    """A bias-free spectral-normalised conv (`<name>_sn` wrapping `<name>`), initialised as PyTorch's default."""
    return conv2d(filters, kernel_size, name, strides=strides, spectral_norm=True, use_bias=False,
                  torch_in_channels=in_channels)


def unet_discriminator_sn(num_feat=64, skip_connection=True, num_in_ch=3, name=MODEL_NAME):
    """Real-ESRGAN's U-Net discriminator with spectral normalisation (BasicSR `UNetDiscriminatorSN`).

    Layer names follow BasicSR's module names: `conv0`, `conv1_sn` (wrapping `conv1`) ... `conv8_sn`, `conv9`;
    `conv<i>_lrelu` after each activated conv, `up<k>` the bilinear upsampling before conv<k+3>, `skip<k>` the
    sum after it, `to_unit_range` the division by 255.

    Args:
        num_feat: channels of conv0; the encoder widens to 2, 4 and 8 times it (64 in Real-ESRGAN).
        skip_connection: add each encoder map to the decoder map of the same size (True in Real-ESRGAN).
        num_in_ch: input channels (3: RGB).
        name: model name.

    Returns:
        A functional Keras model from images [batch, H, W, num_in_ch] in [0, 255], H and W multiples of 8 (any
        size otherwise), to per-pixel logits [batch, H, W, 1].
    """
    num_feat = check_positive(num_feat, "num_feat", MODEL_NAME)
    num_in_ch = check_positive(num_in_ch, "num_in_ch", MODEL_NAME)
    if not isinstance(skip_connection, bool):
        raise ValueError(f"{MODEL_NAME}: skip_connection must be True or False, got {skip_connection!r}")
    images = keras.Input(shape=(None, None, num_in_ch), name="hr")
    if num_in_ch == 3:
        x = Normalize(scale=255.0, name="to_unit_range")(images)
    else:  # Normalize is per RGB channel; any other channel count is divided by Keras' own rescaling
        x = keras.layers.Rescaling(1.0 / 255.0, name="to_unit_range")(images)
    x = conv2d(num_feat, 3, "conv0", torch_in_channels=num_in_ch)(x)
    encoder = [_leaky("conv0_lrelu")(x)]
    channels = num_feat
    for i, multiple in enumerate(ENCODER, start=1):
        x = _sn_conv(num_feat * multiple, 4, f"conv{i}", channels, strides=2)(encoder[-1])
        encoder.append(_leaky(f"conv{i}_lrelu")(x))
        channels = num_feat * multiple
    x = encoder.pop()  # x3: the bottom of the U
    for k, multiple in enumerate(DECODER, start=1):
        i = len(ENCODER) + k
        x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"up{k}")(x)
        x = _sn_conv(num_feat * multiple, 3, f"conv{i}", channels)(x)
        x = _leaky(f"conv{i}_lrelu")(x)
        if skip_connection:
            x = keras.layers.Add(name=f"skip{k}")([x, encoder.pop()])
        channels = num_feat * multiple
    for i in (7, 8):
        x = _leaky(f"conv{i}_lrelu")(_sn_conv(num_feat, 3, f"conv{i}", num_feat)(x))
    logits = conv2d(1, 3, "conv9", torch_in_channels=num_feat)(x)
    return keras.Model(images, logits, name=name)
