"""Losses, each returning one value per example (shape [batch]) so that distributed training can average
over the global batch with `tf.nn.compute_average_loss`.

Value ranges: models produce RGB in [0, 255]. Pixel losses are computed on [0, 255] or [0, 1] as the original
does (`--loss_range`: Adam is scale-free but for its epsilon, so the range changes the updates a little); SRGAN's
MSE content loss on [-1, 1] (seed 000: HR in [-1, 1]) so its balance with the 1e-3 adversarial term matches the
paper.
"""
import keras
import tensorflow as tf

from sr_keras.checks import ConfigError

# SRGAN (Ledig et al. 2017; seed 000): VGG feature MSE is scaled by 0.0061 (= 1 / 12.75^2).
VGG_LOSS_FACTOR = 0.0061
VGG_LAYERS = {"vgg22": "block2_conv2", "vgg54": "block5_conv4"}


def _per_example_mean(values):
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=-1)


def pixel_loss(sr, hr, kind="l1", value_range=1):
    """Per-example L1 or MSE of pixels scaled to [0, `value_range`] (1: BasicSR; 255: EDSR-PyTorch and
    wdsr_ntire2018, which compare the [0, 255] images themselves). Returns [batch]."""
    diff = tf.cast(sr, tf.float32) - tf.cast(hr, tf.float32)
    if value_range != 255:
        diff = diff * (value_range / 255.0)
    if kind == "l1":
        return _per_example_mean(tf.abs(diff))
    if kind == "mse":
        return _per_example_mean(tf.square(diff))
    raise ValueError(f"unknown pixel loss {kind!r} (l1 or mse)")


def srgan_mse_loss(sr, hr):
    """Per-example MSE on [-1, 1]-scaled pixels (SRGAN's content loss). Returns [batch]."""
    diff = (tf.cast(sr, tf.float32) - tf.cast(hr, tf.float32)) / 127.5
    return _per_example_mean(tf.square(diff))


def vgg_feature_extractor(layer="vgg54", weights="imagenet"):
    """VGG19 up to block2_conv2 ("vgg22") or block5_conv4 ("vgg54"), post-activation, frozen.

    Args:
        layer: "vgg22" or "vgg54".
        weights: "imagenet" (Keras downloads the weights at first use), a local weights file (for offline
            machines: the Keras `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`), or None (random; tests).

    Returns:
        A frozen Keras model from RGB [0, 255] to the chosen feature map.

    Raises:
        ConfigError("vgg_weights"): the ImageNet weights cannot be downloaded (offline) or the local file
            cannot be read; one line naming --vgg_weights and --content_loss=mse.
    """
    if layer not in VGG_LAYERS:
        raise ValueError(f"VGG content loss must be one of {tuple(VGG_LAYERS)}, got {layer!r}")
    vgg = _vgg19(weights)
    vgg.trainable = False
    features = keras.Model(vgg.input, vgg.get_layer(VGG_LAYERS[layer]).output, name=f"{layer}_features")
    features.trainable = False
    return features


# Real-ESRGAN's perceptual loss (options/train_realesrgan_x4plus.yml, BasicSR PerceptualLoss): VGG19 features
# before the ReLU of these layers, L1 between SR and HR features, weighted.
REALESRGAN_LAYER_WEIGHTS = {"block1_conv2": 0.1, "block2_conv2": 0.1, "block3_conv4": 1.0, "block4_conv4": 1.0,
                            "block5_conv4": 1.0}


def vgg19_preactivation_features(layer_weights=None, weights="imagenet"):
    """A frozen VGG19 returning the pre-ReLU outputs of the named conv layers (BasicSR's ``VGGFeatureExtractor``
    takes "conv5_4" and the like before their ReLU; Keras's VGG19 fuses each ReLU into its conv layer).

    The network is rebuilt from `keras.applications.VGG19`'s layers with the activation moved into separate
    ReLU layers, and its weights copied. Input: RGB in [0, 255]; it applies VGG19's own preprocessing. Keras's
    ImageNet weights are Caffe's original VGG19 (BGR, mean-subtracted input) where BasicSR loads torchvision's
    (RGB, ImageNet mean and std): same layers, another training of them.

    Args:
        layer_weights: {Keras layer name: weight}; default `REALESRGAN_LAYER_WEIGHTS`.
        weights: as `vgg_feature_extractor`.

    Returns:
        A frozen model from [B, H, W, 3] to a list of feature maps in the order of `layer_weights`.
    """
    layer_weights = dict(layer_weights or REALESRGAN_LAYER_WEIGHTS)
    vgg = _vgg19(weights)
    wanted = list(layer_weights)
    last = max(vgg.layers.index(vgg.get_layer(name)) for name in wanted)
    inputs = keras.Input((None, None, 3))
    x = inputs
    outputs = {}
    for layer in vgg.layers[1:last + 1]:
        if isinstance(layer, keras.layers.Conv2D):
            config = layer.get_config()
            config["activation"] = "linear"
            conv = keras.layers.Conv2D.from_config(config)
            x = conv(x)
            conv.set_weights(layer.get_weights())
            outputs[layer.name] = x
            x = keras.layers.ReLU(name=f"{layer.name}_relu")(x)
        else:
            x = layer.__class__.from_config(layer.get_config())(x)
    model = keras.Model(inputs, [outputs[name] for name in wanted], name="vgg19_preactivation")
    model.trainable = False
    return model


def _vgg19(weights):
    try:
        return keras.applications.VGG19(include_top=False, weights=weights, input_shape=(None, None, 3))
    except Exception as error:  # noqa: BLE001 - urllib, HTTP, h5py and Keras errors: all mean "no weights"
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        where = "download the VGG19 ImageNet weights" if weights == "imagenet" else f"read {weights}"
        raise ConfigError("vgg_weights", f"cannot {where} ({reason}); on an offline machine give the file "
                          f"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 with --vgg_weights=FILE (Keras "
                          f"keeps it in ~/.keras/models once downloaded), or train with --content_loss=mse")


def perceptual_loss(features, sr, hr, layer_weights=None):
    """Real-ESRGAN's perceptual loss: sum over layers of weight x mean |VGG(sr) - VGG(hr)|. Returns [batch].

    Args:
        features: `vgg19_preactivation_features(layer_weights)`.
        sr, hr: [B, H, W, 3] in [0, 255].
        layer_weights: the same dict the features were built with (default `REALESRGAN_LAYER_WEIGHTS`).
    """
    layer_weights = list((layer_weights or REALESRGAN_LAYER_WEIGHTS).values())

    def extract(images):
        maps = features(keras.applications.vgg19.preprocess_input(tf.cast(images, tf.float32)), training=False)
        return [tf.cast(m, tf.float32) for m in maps]

    total = 0.0
    for weight, sr_map, hr_map in zip(layer_weights, extract(sr), extract(tf.stop_gradient(hr))):
        total += weight * _per_example_mean(tf.abs(sr_map - hr_map))
    return total


VGG_SCALES = ("per_element", "per_position")


def vgg_loss(features, sr, hr, vgg_scale="per_element"):
    """Per-example SRGAN perceptual loss between the VGG19 features of SR and HR. Returns [batch].

    The TensorFlow originals scale it differently, by the feature maps' channel count (512 for VGG54):
    - "per_element" (default): 0.0061 x the mean over H, W and C of the squared difference, as
      krasserm/super-resolution (`mean_squared_error` of the feature maps, then times 1 / 12.75^2);
    - "per_position": 0.0061 x the mean over H and W of the channel sum, as brade31919/SRGAN-tensorflow
      (`reduce_mean(reduce_sum(square(diff), axis=[3]))`), C times larger.
    """
    if vgg_scale not in VGG_SCALES:
        raise ValueError(f"vgg_scale must be one of {VGG_SCALES}, got {vgg_scale!r}")
    def extract(images):
        return tf.cast(features(keras.applications.vgg19.preprocess_input(tf.cast(images, tf.float32)),
                                training=False), tf.float32)

    squared = tf.square(extract(sr) - extract(hr))
    if vgg_scale == "per_position":
        squared = tf.reduce_sum(squared, axis=-1)
    return VGG_LOSS_FACTOR * _per_example_mean(squared)


def discriminator_loss(real_logits, fake_logits):
    """Per-example BCE of the discriminator: real crops labelled 1, generated ones 0. Returns [batch].

    Logits are taken to float32 first, so the loss is float32 under mixed precision too."""
    real_logits, fake_logits = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
    real = tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(real_logits), real_logits)
    fake = tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(fake_logits), fake_logits)
    return _per_example_mean(real) + _per_example_mean(fake)


def patch_gan_losses(logits, target_is_real):
    """Per-example BCE-with-logits against a constant label, averaged over every output of the discriminator
    (BasicSR's ``GANLoss(gan_type="vanilla")`` on the U-Net discriminator's per-pixel logits). Returns [batch]."""
    logits = tf.cast(logits, tf.float32)
    labels = tf.ones_like(logits) if target_is_real else tf.zeros_like(logits)
    return _per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))


def generator_adversarial_loss(fake_logits):
    """Per-example -log D(G(lr)) (the non-saturating GAN loss), in float32. Returns [batch]."""
    fake_logits = tf.cast(fake_logits, tf.float32)
    return _per_example_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(fake_logits), fake_logits))
