"""EDSR and MDSR checkpoints: EDSR-PyTorch (sanghyun-son/EDSR-PyTorch, `src/model/edsr.py`, `mdsr.py`) and
BasicSR (XPixelGroup/BasicSR, `basicsr/archs/edsr_arch.py`).

EDSR-PyTorch keys: `sub_mean` / `add_mean` (frozen 1x1 mean shifts), `head.0`, `body.<i>.body.0/2`, `body.<n>`,
`tail.0.<2j>` (upsampler convs, each followed by a pixel shuffle), `tail.1`; MDSR adds `pre_process.<k>` (two
5x5 residual blocks per scale) and `upsample.<k>`, and its tail is `tail.0`. sr_keras's EDSR has the mean shift
of `rgb_range` 255 built in, so the mean-shift convs are checked to hold exactly that and are not copied.

BasicSR keys: `conv_first`, `body.<i>.conv1/conv2`, `conv_after_body`, `upsample.<2j>`, `conv_last`. BasicSR
works in [0, 1] but subtracts the mean and multiplies by `img_range` 255 first and undoes both at the end, so
its function is EDSR-PyTorch's at `rgb_range` 255 exactly: the tensors copy unchanged into the same model
(sr_keras takes [0, 255]; BasicSR's output times 255 is ours).
"""
import re

import numpy as np

from sr_keras.convert._common import ConversionError, Reader, assign, check_scale, report, upsampler_steps
from sr_keras.layers import DIV2K_RGB_MEAN

EDSR_PYTORCH = "edsr_pytorch"
BASICSR = "basicsr"


def _edsr_name(num_filters, num_res_blocks):
    """The paper's model (256 filters, 32 blocks, residual scaling 0.1) or the baseline family (scaling 1)."""
    if (num_filters, num_res_blocks) == (256, 32):
        return "edsr", {"num_filters": 256, "num_res_blocks": 32, "res_scale": 0.1}
    return "edsr_baseline", {"num_filters": num_filters, "num_res_blocks": num_res_blocks, "res_scale": 1.0}


def _scale_of(first_upsampler, num_filters, steps):
    ratio = first_upsampler.shape[0] // num_filters
    return 3 if ratio == 9 else 2 ** steps


def _block_indices(tensors, pattern):
    return sorted({int(m.group(1)) for k in tensors if (m := re.match(pattern, k))})


def detect_edsr_pytorch(tensors):
    """(architecture, builder arguments, scales) of an EDSR-PyTorch state dict, from its keys and shapes."""
    if "head.0.weight" not in tensors:
        raise ConversionError("not an EDSR-PyTorch checkpoint: no 'head.0.weight' (expected keys head.0, "
                              "body.<i>.body.0/2, tail ...)")
    num_filters = tensors["head.0.weight"].shape[0]
    num_res_blocks = len(_block_indices(tensors, r"body\.(\d+)\.body\.0\.weight$"))
    if any(k.startswith("pre_process.") for k in tensors):
        count = len({k.split(".")[1] for k in tensors if k.startswith("upsample.")})
        if count > 3:
            raise ConversionError(f"MDSR checkpoint with {count} upsamplers; sr_keras reads the published 2+3+4")
        name = "mdsr_baseline" if num_res_blocks == 16 else "mdsr"
        return name, {"num_filters": num_filters, "num_res_blocks": num_res_blocks}, (2, 3, 4)[:count]
    return _single_scale(tensors, num_filters, num_res_blocks, "tail.0.0.weight", r"tail\.0\.(\d+)\.weight$", "EDSR")


def detect_basicsr(tensors):
    """(architecture, builder arguments, scales) of a BasicSR EDSR state dict."""
    if "conv_first.weight" not in tensors or "conv_after_body.weight" not in tensors:
        raise ConversionError("not a BasicSR EDSR checkpoint: no 'conv_first' / 'conv_after_body'")
    num_filters = tensors["conv_first.weight"].shape[0]
    num_res_blocks = len(_block_indices(tensors, r"body\.(\d+)\.conv1\.weight$"))
    return _single_scale(tensors, num_filters, num_res_blocks, "upsample.0.weight", r"upsample\.(\d+)\.weight$",
                         "BasicSR EDSR")


def _single_scale(tensors, num_filters, num_res_blocks, first_key, steps_pattern, what):
    """(architecture, builder arguments, (scale,)) of a one-scale EDSR whose upsampler's first conv is
    `first_key` and whose upsampler convs match `steps_pattern`."""
    first = tensors.get(first_key)
    if first is None:
        raise ConversionError(f"{what} checkpoint without its upsampler ({first_key})")
    steps = len(_block_indices(tensors, steps_pattern))
    name, arguments = _edsr_name(num_filters, num_res_blocks)
    return name, arguments, (_scale_of(first, num_filters, steps),)


def _check_mean_shift(tensors, name, sign):
    weight, bias = tensors.get(f"{name}.weight"), tensors.get(f"{name}.bias")
    if weight is None:
        return
    expected = sign * 255.0 * np.asarray(DIV2K_RGB_MEAN, "float32")
    if not (np.allclose(weight.reshape(3, 3), np.eye(3), atol=1e-6) and np.allclose(bias, expected, atol=1e-3)):
        raise ConversionError(f"{name}: the checkpoint's mean shift ({bias.tolist()}) is not DIV2K's at rgb_range "
                              f"255; sr_keras's EDSR expects rgb_range 255")


def _edsr_pytorch_layers(reader, scale, prefix, num_res_blocks, upsample_key):
    """{keras layer name: weights} of the shared and per-scale convs of one EDSR / MDSR scale model."""
    out = {"head_conv": reader.conv("head.0")}
    for i in range(num_res_blocks):
        out[f"body_block{i + 1}_conv1"] = reader.conv(f"body.{i}.body.0")
        out[f"body_block{i + 1}_conv2"] = reader.conv(f"body.{i}.body.2")
    out["body_conv"] = reader.conv(f"body.{num_res_blocks}")
    for j, r in enumerate(upsampler_steps(scale)):
        out[f"{prefix}upsample_{j + 1}_conv"] = reader.conv(f"{upsample_key}.{2 * j}", shuffle=r)
    return out


def convert_edsr_pytorch(tensors, scale=None):
    """(model, report) of an EDSR-PyTorch EDSR or MDSR state dict; MDSR: the member at `scale` (default the
    largest) is returned, every member is filled (they share layers)."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect_edsr_pytorch(tensors)
    check_scale(architecture, scales, scale)
    _check_mean_shift(tensors, "sub_mean", -1)
    _check_mean_shift(tensors, "add_mean", 1)
    reader = Reader(tensors)
    reader.used |= {f"{name}.{part}" for name in ("sub_mean", "add_mean") for part in ("weight", "bias")} & set(
        tensors)
    spec = sr_models.get_spec(architecture)
    if spec.kind == "multiscale_generator":
        models = spec.builder(scales=scales, **arguments)
        assignments = {}
        for index, s in enumerate(scales):
            assignments.update(_edsr_pytorch_layers(reader, s, f"x{s}_", arguments["num_res_blocks"],
                                                    f"upsample.{index}"))
            for block in range(2):
                for conv_index, suffix in ((0, "conv1"), (2, "conv2")):
                    assignments[f"x{s}_pre_block{block + 1}_{suffix}"] = reader.conv(
                        f"pre_process.{index}.{block}.body.{conv_index}")
        assignments["tail_conv"] = reader.conv("tail.0")
        targets = list(models.values())
        model = models[scale or max(scales)]
    else:
        model = sr_models.build_model(architecture, scale=scales[0], **arguments)
        assignments = _edsr_pytorch_layers(reader, scales[0], "", arguments["num_res_blocks"], "tail.0")
        assignments["tail_conv"] = reader.conv("tail.1")
        targets = [model]
    reader.leftover(f"an {architecture} checkpoint")
    assign(targets, assignments, architecture)
    return model, report(EDSR_PYTORCH, architecture, arguments, scales, len(reader.used))


def convert_basicsr(tensors, scale=None):
    """(model, report) of a BasicSR EDSR state dict (EDSR_M: baseline, EDSR_L: the paper's model)."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect_basicsr(tensors)
    check_scale(architecture, scales, scale)
    reader = Reader(tensors)
    model = sr_models.build_model(architecture, scale=scales[0], **arguments)
    assignments = {"head_conv": reader.conv("conv_first")}
    for i in range(arguments["num_res_blocks"]):
        assignments[f"body_block{i + 1}_conv1"] = reader.conv(f"body.{i}.conv1")
        assignments[f"body_block{i + 1}_conv2"] = reader.conv(f"body.{i}.conv2")
    assignments["body_conv"] = reader.conv("conv_after_body")
    for j, r in enumerate(upsampler_steps(scales[0])):
        assignments[f"upsample_{j + 1}_conv"] = reader.conv(f"upsample.{2 * j}", shuffle=r)
    assignments["tail_conv"] = reader.conv("conv_last")
    reader.leftover(f"a BasicSR {architecture} checkpoint")
    assign([model], assignments, architecture)
    return model, report(BASICSR, architecture, arguments, scales, len(reader.used))
