"""WDSR checkpoints: the authors' NTIRE 2018 code (JiahuiYu/wdsr_ntire2018 `wdsr_a.py`, `wdsr_b.py`, trained
inside EDSR-PyTorch) and their later re-implementation (ychfan/wdsr `models/wdsr.py`, which publishes trained
WDSR-A weights).

Every convolution is weight-normalised: PyTorch stores `weight_g` [out, 1, 1, 1] and `weight_v` [out, in, kh, kw]
(`weight_norm`, norm over all axes but the first), which map onto `WeightNormConv2D`'s g and v (kernel); the
convs feeding a pixel shuffle have v, g and the bias permuted to TensorFlow's channel order.

wdsr_ntire2018 keys: `head.0`, `body.<i>.body.0/2` (WDSR-A) or `body.<i>.body.0/2/3` (WDSR-B), `tail.0`,
`skip.0`; input (x - 255 * DIV2K mean) / 127.5, as sr_keras's WDSR: the tensors copy unchanged. The residual
scaling is not in the state dict (EDSR-PyTorch's `--res_scale`, default 1): pass it when it was not 1.

ychfan/wdsr keys: `body.0` (the head conv, inside `body`), `body.<1..n>.body.0/2` (WDSR-A blocks), `body.<n+1>`
(the tail conv), `skip.0`; it works in [0, 1] with the mean 0.5 subtracted (`image_mean`), with no division by
127.5 and no residual scaling in the forward pass (it only initialises the last g of each block to
1/sqrt(n)). Folded into sr_keras's WDSR-A built with `rgb_mean=(0.5, 0.5, 0.5)`, whose input is
u' = (255 x - 127.5) / 127.5 = 2 u for ychfan's u = x - 0.5 and whose output is 127.5 y' + 127.5 = 255 (y + 0.5)
exactly when y' = 2 y:
- head: g / 2 (it sees 2 u), bias unchanged;
- tail and skip: outputs doubled: tail g x 2 and bias x 2; skip sees 2 u and must output twice as much, so its g
  is unchanged and its bias x 2;
- blocks: unchanged (the head output is ychfan's exactly).
A mean other than 0.5 cannot be folded exactly: with zero padding, a constant offset of the input is not a
constant offset of the first convolution's output at the image border, hence the `rgb_mean` argument.
"""
import re

from sr_keras.convert._common import ConversionError, Reader, assign, report

NTIRE2018 = "wdsr"
YCHFAN = "wdsr_ychfan"


def _indices(tensors, pattern):
    return sorted({int(m.group(1)) for k in tensors if (m := re.match(pattern, k))})


def _scale(skip_v):
    channels = skip_v.shape[0]
    scale = int(round((channels / 3) ** 0.5))
    if 3 * scale * scale != channels:
        raise ConversionError(f"skip.0 has {channels} output channels, not 3 * scale^2")
    return scale


def _expansion(wide, num_filters, key):
    if wide % num_filters:
        raise ConversionError(f"{key}: {wide} channels is not a whole multiple of {num_filters} filters; sr_keras's "
                              f"WDSR takes an integer expansion")
    return wide // num_filters


def detect_ntire2018(tensors, res_scale=1.0):
    """(architecture, builder arguments, scales) of a wdsr_ntire2018 WDSR-A or WDSR-B state dict."""
    if "head.0.weight_v" not in tensors or "skip.0.weight_v" not in tensors:
        raise ConversionError("not a wdsr_ntire2018 checkpoint: no weight-normalised head.0 / skip.0")
    num_filters = tensors["head.0.weight_v"].shape[0]
    blocks = _indices(tensors, r"body\.(\d+)\.body\.0\.weight_v$")
    if not blocks:
        raise ConversionError("wdsr_ntire2018 checkpoint without residual blocks (body.0.body.0)")
    wide = tensors["body.0.body.0.weight_v"].shape[0]
    arguments = {"num_filters": num_filters, "num_res_blocks": len(blocks),
                 "expansion": _expansion(wide, num_filters, "body.0.body.0"), "res_scale": float(res_scale)}
    if "body.0.body.3.weight_v" in tensors:
        low_rank = tensors["body.0.body.2.weight_v"].shape[0]
        arguments["low_rank_ratio"] = 0.8 if int(num_filters * 0.8) == low_rank else (low_rank + 0.5) / num_filters
        return "wdsr_b", arguments, (_scale(tensors["skip.0.weight_v"]),)
    return "wdsr_a", arguments, (_scale(tensors["skip.0.weight_v"]),)


def detect_ychfan(tensors):
    """(architecture, builder arguments, scales) of a ychfan/wdsr WDSR state dict."""
    if "body.0.weight_v" not in tensors or "skip.0.weight_v" not in tensors or "head.0.weight_v" in tensors:
        raise ConversionError("not a ychfan/wdsr checkpoint: no weight-normalised body.0 / skip.0")
    blocks = _indices(tensors, r"body\.(\d+)\.body\.0\.weight_v$")
    if not blocks or blocks != list(range(1, len(blocks) + 1)):
        raise ConversionError("ychfan/wdsr checkpoint without residual blocks body.1 ... body.n")
    if "body.1.body.3.weight_v" in tensors:
        raise ConversionError("ychfan/wdsr checkpoint with a four-layer block; only its WDSR-A block is known")
    num_filters = tensors["body.0.weight_v"].shape[0]
    wide = tensors["body.1.body.0.weight_v"].shape[0]
    arguments = {"num_filters": num_filters, "num_res_blocks": len(blocks),
                 "expansion": _expansion(wide, num_filters, "body.1.body.0"), "res_scale": 1.0,
                 "rgb_mean": (0.5, 0.5, 0.5)}
    return "wdsr_a", arguments, (_scale(tensors["skip.0.weight_v"]),)


def _check_scale(architecture, scales, scale):
    if scale is not None and scale not in scales:
        raise ConversionError(f"the checkpoint is {architecture} x{scales[0]}, not x{scale}")


def convert_ntire2018(tensors, scale=None, res_scale=1.0):
    """(model, report) of a wdsr_ntire2018 state dict; `res_scale` as it was trained (not stored in the file)."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect_ntire2018(tensors, res_scale)
    _check_scale(architecture, scales, scale)
    s = scales[0]
    reader = Reader(tensors)
    model = sr_models.build_model(architecture, scale=s, **arguments)
    convs = ("0", "2", "3") if "low_rank_ratio" in arguments else ("0", "2")  # WDSR-B's low-rank conv
    assignments = {"head_conv": reader.weight_norm_conv("head.0")}
    for i in range(arguments["num_res_blocks"]):
        for number, index in enumerate(convs, start=1):
            assignments[f"body_block{i + 1}_conv{number}"] = reader.weight_norm_conv(f"body.{i}.body.{index}")
    assignments["tail_conv"] = reader.weight_norm_conv("tail.0", shuffle=s)
    assignments["skip_conv"] = reader.weight_norm_conv("skip.0", shuffle=s)
    reader.leftover(f"a wdsr_ntire2018 {architecture} checkpoint")
    assign([model], assignments, architecture)
    return model, report(NTIRE2018, architecture, arguments, [s], len(reader.used))


def convert_ychfan(tensors, scale=None):
    """(model, report) of a ychfan/wdsr state dict, its [0, 1] and mean-0.5 conventions folded in (see above)."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect_ychfan(tensors)
    _check_scale(architecture, scales, scale)
    s, n = scales[0], arguments["num_res_blocks"]
    reader = Reader(tensors)
    model = sr_models.build_model(architecture, scale=s, **arguments)
    assignments = {"head_conv": reader.weight_norm_conv("body.0", gain=0.5)}
    for i in range(1, n + 1):
        assignments[f"body_block{i}_conv1"] = reader.weight_norm_conv(f"body.{i}.body.0")
        assignments[f"body_block{i}_conv2"] = reader.weight_norm_conv(f"body.{i}.body.2")
    assignments["tail_conv"] = reader.weight_norm_conv(f"body.{n + 1}", shuffle=s, gain=2.0, bias_gain=2.0)
    assignments["skip_conv"] = reader.weight_norm_conv("skip.0", shuffle=s, bias_gain=2.0)
    reader.leftover(f"a ychfan/wdsr {architecture} checkpoint")
    assign([model], assignments, architecture)
    return model, report(YCHFAN, architecture, arguments, [s], len(reader.used))
