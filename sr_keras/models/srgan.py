"""SRResNet and the SRGAN discriminator: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", CVPR 2017 (seeds 000 and 004).

Generator: conv9x9 + PReLU; residual blocks [conv3x3, BN, PReLU, conv3x3, BN, add]; conv3x3, BN, add the head
output; sub-pixel upsampling [conv3x3 4F, shuffle 2, PReLU] per factor 2; conv9x9 to RGB with tanh. The
network works in [0, 1] in and [-1, 1] out (seed 000); the model converts from and to [0, 255] itself.

The builders here also make A-SRResNet and the A-SRGAN discriminator (see `asrgan.py`): the same networks
with spectral normalisation on every convolution and dense layer and a Flexible Self Attention layer.

Initialisation follows the TensorFlow originals (brade31919/SRGAN-tensorflow, krasserm/super-resolution):
Glorot-uniform kernels (`xavier_initializer`, Keras' default) and zero biases; batch norm with epsilon 1e-3.
"""
import math

import keras

from sr_keras.layers import Denormalize, FlexibleSelfAttention, Normalize, PixelShuffle
from sr_keras.models._common import SUPPORTED_SCALES, check_positive, check_scale, conv2d, dense, lr_input
from sr_keras.models.generator import SRGenerator, generator_builder

# (filters, stride) of the seven conv-BN-LeakyReLU blocks that follow the discriminator's first conv.
DISCRIMINATOR_BLOCKS = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2))
# Batch-norm epsilon of the TensorFlow originals (brade31919/SRGAN-tensorflow lib/ops.py via slim.batch_norm,
# krasserm/super-resolution model/srgan.py via keras BatchNormalization): 1e-3.
BN_EPSILON = 1e-3
# A-SRGAN's discriminator FSA follows this block (index into DISCRIMINATOR_BLOCKS): the (256, 2) block.
DISCRIMINATOR_ATTENTION_AFTER = 4


def _batch_norm(name):
    # Momentum 0.9 (a moving average keeping 90% per step); epsilon 1e-3 as both TensorFlow originals have it
    # (brade31919/SRGAN-tensorflow: slim.batch_norm's default; krasserm/super-resolution: Keras'
    # BatchNormalization default). Synchronised across replicas under tf.distribute, a plain BN otherwise.
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=BN_EPSILON, synchronized=True, name=name)


def _prelu(name):
    return keras.layers.PReLU(shared_axes=[1, 2], name=name)


def _attention(pool_size, name):
    return FlexibleSelfAttention(pool_size=pool_size, spectral_norm=True, name=name)


def build_srresnet(scale, num_filters, num_res_blocks, spectral_norm, pool_size, model_name, name):
    """Shared builder of SRResNet (`pool_size=None`, no attention) and A-SRResNet (FSA before upsampling)."""
    scale = check_scale(scale, SUPPORTED_SCALES, model_name)
    num_filters = check_positive(num_filters, "num_filters", model_name)
    num_res_blocks = check_positive(num_res_blocks, "num_res_blocks", model_name)
    sn = spectral_norm
    lr = lr_input()
    x = Normalize(scale=255.0, name="to_unit_range")(lr)
    x = conv2d(num_filters, 9, "head_conv", spectral_norm=sn)(x)
    head = x = _prelu("head_prelu")(x)
    for i in range(num_res_blocks):
        block = f"body_block{i + 1}"
        y = conv2d(num_filters, 3, f"{block}_conv1", spectral_norm=sn)(x)
        y = _prelu(f"{block}_prelu")(_batch_norm(f"{block}_bn1")(y))
        y = conv2d(num_filters, 3, f"{block}_conv2", spectral_norm=sn)(y)
        y = _batch_norm(f"{block}_bn2")(y)
        x = keras.layers.Add(name=f"{block}_add")([x, y])
    x = _batch_norm("body_bn")(conv2d(num_filters, 3, "body_conv", spectral_norm=sn)(x))
    x = keras.layers.Add(name="body_skip")([head, x])
    if pool_size is not None:
        x = _attention(pool_size, "attention")(x)
    factors = [3] if scale == 3 else [2] * int(math.log2(scale))
    for i, r in enumerate(factors):
        step = f"upsample_{i + 1}"
        x = conv2d(num_filters * r * r, 3, f"{step}_conv", spectral_norm=sn)(x)
        x = _prelu(f"{step}_prelu")(PixelShuffle(r, name=f"{step}_shuffle")(x))
    x = conv2d(3, 9, "tail_conv", activation="tanh", spectral_norm=sn)(x)
    sr = Denormalize(mean=127.5, scale=127.5, name="to_pixel_range")(x)
    return SRGenerator(lr, sr, name=name)


def build_discriminator(hr_size, num_filters, num_layers, spectral_norm, pool_size, model_name, name):
    """Shared builder of the SRGAN discriminator and the A-SRGAN discriminator (FSA after the (256, 2) block)."""
    hr_size = check_positive(hr_size, "hr_size", model_name)
    num_filters = check_positive(num_filters, "num_filters", model_name)
    num_layers = check_positive(num_layers, "num_layers", model_name)
    if not 1 <= num_layers <= len(DISCRIMINATOR_BLOCKS) + 1:
        raise ValueError(
            f"{model_name}: num_layers must be between 1 and {len(DISCRIMINATOR_BLOCKS) + 1}, got {num_layers}")
    blocks = DISCRIMINATOR_BLOCKS[: num_layers - 1]
    downsampling = 2 ** sum(1 for _, stride in blocks if stride == 2)
    if hr_size < downsampling:
        raise ValueError(f"{model_name}: hr_size {hr_size} is smaller than the network's total stride "
                         f"{downsampling}")
    sn = spectral_norm
    width = num_filters / 64.0
    hr = keras.Input(shape=(hr_size, hr_size, 3), name="hr")
    x = Normalize(mean=127.5, scale=127.5, name="to_signed_unit_range")(hr)
    x = conv2d(num_filters, 3, "conv1", spectral_norm=sn)(x)
    x = keras.layers.LeakyReLU(0.2, name="conv1_lrelu")(x)
    for i, (filters, stride) in enumerate(blocks):
        block = f"block{i + 1}"
        x = conv2d(max(1, int(filters * width)), 3, f"{block}_conv", strides=stride, spectral_norm=sn)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"{block}_lrelu")(_batch_norm(f"{block}_bn")(x))
        attention_here = i == min(DISCRIMINATOR_ATTENTION_AFTER, len(blocks) - 1)
        if pool_size is not None and attention_here:
            x = _attention(pool_size, "attention")(x)
    if pool_size is not None and not blocks:
        x = _attention(pool_size, "attention")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = dense(1024, "dense1", spectral_norm=sn)(x)
    x = keras.layers.LeakyReLU(0.2, name="dense1_lrelu")(x)
    logits = dense(1, "logits", spectral_norm=sn)(x)
    probability = keras.layers.Activation("sigmoid", name="probability")(logits)
    return keras.Model(hr, probability, name=name)


@generator_builder
def srresnet(scale=4, num_filters=64, num_res_blocks=16, name=None):
    """SRResNet, the SRGAN generator (Ledig et al., CVPR 2017): 64 filters, 16 blocks by default.

    x2, x4 and x8 use log2(scale) sub-pixel steps of factor 2 as in the paper; x3 (not in the paper) uses
    one step of factor 3 (conv F -> 9F, shuffle 3, PReLU), as EDSR does.

    Args:
        scale: 2, 3, 4 or 8.
        num_filters: feature channels.
        num_res_blocks: residual blocks.
        name: model name, default "srresnet_x<scale>".

    Returns:
        A functional Keras model (`SRGenerator`, recording architecture, scale and these arguments) from
        float RGB [0, 255] of any size to RGB [0, 255] at `scale` times the size.
    """
    return build_srresnet(scale, num_filters, num_res_blocks, False, None, "srresnet",
                          name or f"srresnet_x{scale}")


def srgan_discriminator(hr_size=96, num_filters=64, num_layers=8, name="srgan_discriminator"):
    """SRGAN discriminator (Ledig et al., CVPR 2017).

    conv3x3 + LeakyReLU 0.2, then seven [conv3x3, BN, LeakyReLU 0.2] blocks with (filters, stride) (64,2)
    (128,1) (128,2) (256,1) (256,2) (512,1) (512,2), Dense 1024, LeakyReLU, Dense 1 (the layer named
    "logits"), sigmoid. Input is an HR crop in [0, 255] of fixed size.

    Args:
        hr_size: side of the square HR crop the discriminator sees (96 in the paper).
        num_filters: filters of the first conv; the blocks scale with it (64 in the paper).
        num_layers: number of conv layers, 1 to 8, keeping the first ones (8 in the paper; MMSR's "X-Y"
            depths use fewer).
        name: model name.

    Returns:
        A functional Keras model from [batch, hr_size, hr_size, 3] to the probability [batch, 1] of "real".
    """
    return build_discriminator(hr_size, num_filters, num_layers, False, None, "srgan_discriminator", name)
