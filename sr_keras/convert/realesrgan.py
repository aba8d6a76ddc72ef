"""Real-ESRGAN's discriminator checkpoints: BasicSR's `UNetDiscriminatorSN` (XPixelGroup/BasicSR
`basicsr/archs/discriminator_arch.py`, the `net_d` of Real-ESRGAN's training, published as e.g.
`RealESRGAN_x4plus_netD.pth` under the `params` key) into `sr_keras.models.unet_discriminator_sn`.

Keys: `conv0.weight`, `conv0.bias` and `conv9.weight`, `conv9.bias` (plain convs), and for conv1 .. conv8, each
under `torch.nn.utils.spectral_norm` and without a bias, `conv<i>.weight_orig` (the raw weight, the trained
parameter), `conv<i>.weight_u` and `conv<i>.weight_v` (the power-iteration vectors, buffers). They map onto the
layers of the same names (`conv<i>_sn` wrapping `conv<i>` for the normalised ones): kernels transposed from
[out, in, kh, kw] to [kh, kw, in, out], u as it is, v reordered from PyTorch's (in, kh, kw) columns to the Keras
kernel's (kh, kw, in) rows (`Reader.spectral_norm_conv`). With the stored u and v, the Keras model in inference
mode is PyTorch's module in eval mode; each training-mode call then updates u and v as PyTorch's would.

`skip_connection` is not in the state dict (it adds no weights): Real-ESRGAN trains with it, the default here.
The model takes [0, 255]; the original [0, 1] (the model divides by 255 itself, so its logits equal the
original's on the same image).

    >>> from sr_keras.convert import read_state_dict
    >>> from sr_keras.convert.realesrgan import convert_unet_discriminator_sn
    >>> model, report = convert_unet_discriminator_sn(read_state_dict("RealESRGAN_x4plus_netD.pth"))
"""
from sr_keras.convert._common import ConversionError, Reader, assign, in_weight_order, report

BASICSR = "basicsr"
ARCHITECTURE = "unet_discriminator_sn"
# BasicSR's module names: conv0 and conv9 plain, conv1 .. conv8 spectral-normalised.
NORMALISED = tuple(f"conv{i}" for i in range(1, 9))


def detect_unet_discriminator_sn(tensors, skip_connection=True):
    """(architecture, builder arguments) of a BasicSR `UNetDiscriminatorSN` state dict, from its keys and shapes.

    Raises:
        ConversionError: not that layout (the message says which key is missing).
    """
    for key in ("conv0.weight", "conv1.weight_orig", "conv9.weight"):
        if key not in tensors:
            raise ConversionError(f"not a BasicSR UNetDiscriminatorSN checkpoint: no {key!r} (expected conv0, "
                                  f"conv1 .. conv8 with weight_orig / weight_u / weight_v, conv9)")
    num_feat, num_in_ch = tensors["conv0.weight"].shape[:2]
    return ARCHITECTURE, {"num_feat": int(num_feat), "skip_connection": bool(skip_connection),
                          "num_in_ch": int(num_in_ch)}


def convert_unet_discriminator_sn(tensors, skip_connection=True):
    """The sr_keras U-Net discriminator holding a BasicSR `UNetDiscriminatorSN` state dict's weights.

    Args:
        tensors: {name: array}, e.g. from `sr_keras.convert.read_state_dict(path)`.
        skip_connection: as the checkpoint was trained (not stored in it; True in Real-ESRGAN).

    Returns:
        (model, report): the Keras discriminator and {"source", "architecture", "arguments", "scales" (empty),
        "tensors" (the number read)}.

    Raises:
        ConversionError: another layout, or a missing, extra or mis-shaped tensor (named).
    """
    import sr_keras.models as sr_models

    architecture, arguments = detect_unet_discriminator_sn(tensors, skip_connection)
    model = sr_models.build_model(architecture, **arguments)
    reader = Reader(tensors)
    assignments = {"conv0": reader.conv("conv0")}
    for key in NORMALISED:
        assignments[f"{key}_sn"] = in_weight_order(model.get_layer(f"{key}_sn"), reader.spectral_norm_conv(key))
    assignments["conv9"] = reader.conv("conv9")
    reader.leftover("a BasicSR UNetDiscriminatorSN checkpoint")
    assign([model], assignments, architecture)
    return model, report(BASICSR, architecture, arguments, [], len(reader.used))
