"""The SRGAN line's published generators: RRDBNet in its three key layouts, and Real-ESRGAN's SRVGGNetCompact.

RRDBNet (`sr_keras.models.rrdbnet`), the same network under three sets of names:
- `realesrgan`: BasicSR / Real-ESRGAN (`basicsr/archs/rrdbnet_arch.py`; RealESRGAN_x4plus, RealESRNet_x4plus,
  RealESRGAN_x2plus, RealESRGAN_x4plus_anime_6B, BasicSR's ESRGAN files), usually under `params_ema` or `params`:
  `conv_first`, `body.<b>.rdb<d>.conv<i>`, `conv_body`, `conv_up1`, `conv_up2`, `conv_hr`, `conv_last`;
- `esrgan`: the 2018 ESRGAN release (xinntao/ESRGAN `RRDB_ESRGAN_x4.pth`, `RRDB_PSNR_x4.pth`): `model.0`,
  `model.1.sub.<b>.RDB<d>.conv<i>.0`, `model.1.sub.<n>` (the trunk conv), `model.3` and `model.6` (the
  upsampling convs), `model.8`, `model.10`;
- `bsrgan`: cszn/BSRGAN and KAIR (`models/network_rrdbnet.py`; BSRGAN.pth, BSRNet.pth): `conv_first`,
  `RRDB_trunk.<b>.RDB<d>.conv<i>`, `trunk_conv`, `upconv1`, `upconv2`, `HRconv`, `conv_last`.
The architecture's size comes from the shapes: `num_feat` from conv_first's outputs, `num_grow_ch` from the first
dense convolution's, `num_block` from the count, and the scale from conv_first's inputs (3: x4; 12: x2 and 48: x1,
whose input is pixel-unshuffled by 2 and 4). The unshuffled input channels are permuted from PyTorch's
`pixel_unshuffle` order (c * r^2 + dy * r + dx) to TensorFlow's `space_to_depth` order ((dy * r + dx) * C + c).

SRVGGNetCompact (`sr_keras.models.srvgg_compact`; realesr-general-x4v3, realesr-general-wdn-x4v3,
realesr-animevideov3), `realesrgan` source too: `body.0` (conv), `body.1` (PReLU, one slope per channel), then
conv / PReLU pairs, and the last conv `body.<2n+2>` to 3 * scale^2 channels, permuted for the pixel shuffle.

Every one of them works in [0, 1]; the Keras models take [0, 255] and divide by 255 themselves.
"""
import re

import numpy as np

from sr_keras.convert._common import (ConversionError, Reader, assign, check_scale, report, shuffle_permutation,
                                      torch_kernel)

REALESRGAN = "realesrgan"
ESRGAN = "esrgan"
BSRGAN = "bsrgan"

# layout -> (regex of a dense-block conv key with groups (block, rdb, conv), the other convs' keys in BasicSR's
# names: conv_first, conv_body, conv_up1, conv_up2, conv_hr, conv_last)
_RRDB_LAYOUTS = {
    REALESRGAN: (r"body\.(\d+)\.rdb(\d)\.conv(\d)$", "body.{b}.rdb{d}.conv{i}",
                 ("conv_first", "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last")),
    ESRGAN: (r"model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0$", "model.1.sub.{b}.RDB{d}.conv{i}.0",
             ("model.0", "model.1.sub.{n}", "model.3", "model.6", "model.8", "model.10")),
    BSRGAN: (r"RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)$", "RRDB_trunk.{b}.RDB{d}.conv{i}",
             ("conv_first", "trunk_conv", "upconv1", "upconv2", "HRconv", "conv_last")),
}
_KERAS_CONVS = ("conv_first", "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last")
_UNSHUFFLE = {3: (4, 1), 12: (2, 2), 48: (1, 4)}  # conv_first input channels -> (scale, unshuffle factor)


def _blocks(tensors, pattern):
    return sorted({int(m.group(1)) for key in tensors if (m := re.match(pattern, key.rsplit(".", 1)[0]))})


def detect_rrdbnet(tensors, layout):
    """("rrdbnet", builder arguments, scales) of an RRDBNet state dict in `layout` (a key of `_RRDB_LAYOUTS`)."""
    pattern, dense, others = _RRDB_LAYOUTS[layout]
    blocks = _blocks(tensors, pattern)
    first = f"{others[0]}.weight"
    if not blocks or first not in tensors:
        raise ConversionError(f"not a {layout} RRDBNet checkpoint: no {dense.format(b=0, d=1, i=1)} / {others[0]}")
    if blocks != list(range(len(blocks))):
        raise ConversionError(f"{layout} RRDBNet checkpoint with blocks {blocks[:3]}...: not numbered 0 .. n-1")
    num_feat, in_channels = tensors[first].shape[:2]
    if in_channels not in _UNSHUFFLE:
        raise ConversionError(f"{first} takes {in_channels} channels: not 3 (x4), 12 (x2) or 48 (x1)")
    grow = tensors[dense.format(b=0, d=1, i=1) + ".weight"].shape[0]
    arguments = {"num_feat": int(num_feat), "num_block": len(blocks), "num_grow_ch": int(grow)}
    return "rrdbnet", arguments, (_UNSHUFFLE[in_channels][0],)


def convert_rrdbnet(tensors, layout, scale=None):
    """(model, report) of an RRDBNet state dict in `layout` ("realesrgan", "esrgan" or "bsrgan")."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect_rrdbnet(tensors, layout)
    check_scale(architecture, scales, scale)
    _, dense, others = _RRDB_LAYOUTS[layout]
    n = arguments["num_block"]
    reader = Reader(tensors)
    model = sr_models.build_model(architecture, scale=scales[0], **arguments)
    assignments = {}
    for keras_name, key in zip(_KERAS_CONVS, others):
        assignments[keras_name] = reader.conv(key.format(n=n))
    unshuffle = _UNSHUFFLE[tensors[f"{others[0]}.weight"].shape[1]][1]
    if unshuffle > 1:
        kernel, bias = assignments["conv_first"]
        assignments["conv_first"] = [kernel[:, :, shuffle_permutation(kernel.shape[2], unshuffle), :], bias]
    for b in range(n):
        for d in (1, 2, 3):
            for i in range(1, 6):
                assignments[f"body_{b}_rdb{d}_conv{i}"] = reader.conv(dense.format(b=b, d=d, i=i))
    reader.leftover(f"a {layout} RRDBNet checkpoint")
    assign([model], assignments, architecture)
    return model, report(layout, architecture, arguments, scales, len(reader.used))


def detect_srvgg(tensors):
    """("srvgg_compact", builder arguments, scales) of a Real-ESRGAN SRVGGNetCompact state dict."""
    indices = sorted({int(m.group(1)) for key in tensors if (m := re.match(r"body\.(\d+)\.weight$", key))})
    if not indices or "body.0.weight" not in tensors or "body.1.weight" not in tensors \
            or np.ndim(tensors["body.1.weight"]) != 1 or np.ndim(tensors["body.0.weight"]) != 4:
        raise ConversionError("not a Real-ESRGAN SRVGGNetCompact checkpoint: no body.0 conv + body.1 PReLU")
    last = indices[-1]
    if indices != list(range(last + 1)) or last % 2 or last < 2:
        raise ConversionError(f"SRVGGNetCompact checkpoint with body indices {indices[:4]}...: not conv/PReLU "
                              f"pairs ending in a conv")
    num_feat = tensors["body.0.weight"].shape[0]
    out = tensors[f"body.{last}.weight"].shape[0]
    scale = int(round((out / 3) ** 0.5))
    if 3 * scale * scale != out:
        raise ConversionError(f"body.{last} has {out} output channels, not 3 * scale^2")
    return "srvgg_compact", {"num_feat": int(num_feat), "num_conv": (last - 2) // 2}, (scale,)


def convert_srvgg(tensors, scale=None):
    """(model, report) of a Real-ESRGAN SRVGGNetCompact state dict."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect_srvgg(tensors)
    check_scale(architecture, scales, scale)
    reader = Reader(tensors)
    model = sr_models.build_model(architecture, scale=scales[0], **arguments)
    last = 2 * arguments["num_conv"] + 2
    assignments = {}
    for index in range(last):
        if index % 2:
            alpha = reader.take(f"body.{index}.weight")
            assignments[f"body_{index}"] = [np.asarray(alpha, "float32").reshape(1, 1, -1)]
        else:
            assignments[f"body_{index}"] = reader.conv(f"body.{index}")
    assignments[f"body_{last}"] = reader.conv(f"body.{last}", shuffle=scales[0])
    reader.leftover(f"a Real-ESRGAN {architecture} checkpoint")
    assign([model], assignments, architecture)
    return model, report(REALESRGAN, architecture, arguments, scales, len(reader.used))


def detect_realesrgan(tensors):
    """The BasicSR / Real-ESRGAN layouts: RRDBNet or SRVGGNetCompact."""
    try:
        return detect_rrdbnet(tensors, REALESRGAN)
    except ConversionError:
        pass
    try:
        return detect_srvgg(tensors)
    except ConversionError:
        raise ConversionError("not a Real-ESRGAN checkpoint: neither RRDBNet (conv_first, body.<b>.rdb<d>.conv<i>) "
                              "nor SRVGGNetCompact (body.0 conv, body.1 PReLU, ...)") from None


def convert_realesrgan(tensors, scale=None):
    """(model, report) of a BasicSR / Real-ESRGAN RRDBNet or SRVGGNetCompact state dict."""
    detect_realesrgan(tensors)  # one of the two, or the error naming both
    try:
        detect_rrdbnet(tensors, REALESRGAN)
    except ConversionError:
        return convert_srvgg(tensors, scale)
    return convert_rrdbnet(tensors, REALESRGAN, scale)


def convert_vgg_style_discriminator(tensors):
    """(model, report) of a BasicSR `VGGStyleDiscriminator` state dict (ESRGAN's net_d, 128 or 256 px).

    Convolutions and batch norms map by name (`num_batches_tracked` is read and dropped: Keras keeps no such
    count); linear1's inputs are permuted from PyTorch's (c, h, w) flattening to Keras's (h, w, c).
    """
    import sr_keras.models as sr_models

    if "conv0_0.weight" not in tensors or "linear2.weight" not in tensors:
        raise ConversionError("not a BasicSR VGGStyleDiscriminator checkpoint: no conv0_0 / linear2")
    num_feat = int(tensors["conv0_0.weight"].shape[0])
    input_size = 256 if "conv5_0.weight" in tensors else 128
    model = sr_models.build_model("vgg_style_discriminator", input_size=input_size, num_feat=num_feat)
    reader = Reader(tensors)
    assignments = {"conv0_0": reader.conv("conv0_0")}
    for layer in model.layers:
        if layer.name.startswith("conv") and layer.name != "conv0_0" and not layer.name.endswith("lrelu"):
            assignments[layer.name] = [torch_kernel(reader.take(f"{layer.name}.weight"))]
        elif layer.name.startswith("bn"):
            assignments[layer.name] = [reader.take(f"{layer.name}.{part}") for part in
                                       ("weight", "bias", "running_mean", "running_var")]
            if reader.has(f"{layer.name}.num_batches_tracked"):
                reader.take(f"{layer.name}.num_batches_tracked")
    weight = np.asarray(reader.take("linear1.weight"), "float32")
    channels = weight.shape[1] // 16
    kernel = weight.reshape(-1, channels, 4, 4).transpose(2, 3, 1, 0).reshape(16 * channels, -1)
    assignments["linear1"] = [kernel, reader.take("linear1.bias")]
    assignments["logits"] = [np.asarray(reader.take("linear2.weight"), "float32").T, reader.take("linear2.bias")]
    reader.leftover("a BasicSR VGGStyleDiscriminator checkpoint")
    assign([model], assignments, "vgg_style_discriminator")
    return model, report("basicsr", "vgg_style_discriminator", {"input_size": input_size, "num_feat": num_feat}, (),
                         len(reader.used))
