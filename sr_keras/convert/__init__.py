"""Converting the originals' published PyTorch checkpoints into sr_keras models, tensor by tensor, by name.

    >>> from sr_keras.convert import convert_file
    >>> model, report = convert_file("edsr_baseline_x2-1bc95232.pt")     # detects EDSR baseline x2
    >>> model.save("edsr_baseline_x2.keras")

    python -m sr_keras.convert --input=edsr_baseline_x2-1bc95232.pt --output=edsr_baseline_x2.keras

Sources handled so far: EDSR-PyTorch (sanghyun-son/EDSR-PyTorch, `src/model/edsr.py` and `mdsr.py`): EDSR and
EDSR baseline at x2, x3, x4 and x8, MDSR and MDSR baseline (one file holding every scale). The file is read
with `torch.load(weights_only=True)`, which refuses any pickle that would run code, in both PyTorch's legacy
and zip formats; PyTorch is needed only here (`pip install torch`).

Mapping (PyTorch -> Keras):
- every convolution weight [out, in, kh, kw] -> kernel [kh, kw, in, out]; biases as they are;
- a convolution feeding a pixel shuffle of factor r has its output channels permuted: PyTorch's
  `nn.PixelShuffle` reads channel c * r^2 + dy * r + dx for output channel c at offset (dy, dx), TensorFlow's
  `depth_to_space` (sr_keras's `PixelShuffle`) reads (dy * r + dx) * C + c;
- the frozen mean-shift convolutions (`sub_mean`, `add_mean`) are not copied: they are checked to hold the
  DIV2K mean shift of `rgb_range` 255 that sr_keras's models have built in, and refused otherwise.
"""
import os
import re
import warnings

import numpy as np

from sr_keras.layers import DIV2K_RGB_MEAN

EDSR_KIND = "edsr_pytorch"


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message names the first offending tensor or the reason."""


def read_state_dict(path):
    """{name: float32 numpy array} of a PyTorch checkpoint, loaded without running any pickled code.

    Handles a bare state dict, `{"state_dict": ...}` / `{"params": ...}` / `{"params_ema": ...}` wrappers and
    `module.` prefixes (DataParallel).

    Raises:
        FileNotFoundError: no such file. ConversionError: not a readable, code-free PyTorch checkpoint, or
        torch is missing (the message has the install command).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        import torch
    except ImportError:
        raise ConversionError("reading PyTorch checkpoints needs torch: pip install torch (the CPU build is "
                              "enough)") from None
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then reads fine
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling errors, truncated files, foreign formats
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            reason = "it holds Python objects beyond tensors, which would run code on load; refused"
        raise ConversionError(f"cannot read {path} as a PyTorch checkpoint: {reason}") from None
    for key in ("params_ema", "params", "state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not data:
        raise ConversionError(f"{path} holds no state dict of tensors")
    tensors = {}
    for name, value in data.items():
        if not hasattr(value, "detach"):
            raise ConversionError(f"{path}: entry {name!r} is not a tensor")
        tensors[name[len("module."):] if name.startswith("module.") else name] = (
            value.detach().cpu().float().numpy())
    return tensors


def _conv(weight):
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))


def _shuffle_permutation(channels, r):
    """perm[k_tf] = k_pt: the PyTorch output channel behind each TensorFlow depth_to_space channel."""
    base = channels // (r * r)
    perm = np.empty(channels, dtype=np.int64)
    for dy in range(r):
        for dx in range(r):
            for c in range(base):
                perm[(dy * r + dx) * base + c] = c * r * r + dy * r + dx
    return perm


def _upsampler_steps(scale):
    return [2] * int(np.log2(scale)) if scale in (2, 4, 8) else [3]


def detect(tensors):
    """(architecture, {builder arguments}, scales) of an EDSR-PyTorch state dict, from its keys and shapes."""
    if "head.0.weight" not in tensors:
        raise ConversionError("unknown checkpoint layout: no 'head.0.weight' (EDSR-PyTorch keys expected: head.0, "
                              "body.<i>.body.0/2, tail ...)")
    num_filters = tensors["head.0.weight"].shape[0]
    blocks = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"body\.(\d+)\.body\.0\.weight$", k))})
    num_res_blocks = len(blocks)
    multiscale = any(k.startswith("pre_process.") for k in tensors)
    if multiscale:
        count = len({k.split(".")[1] for k in tensors if k.startswith("upsample.")})
        scales = (2, 3, 4)[:count] if count <= 3 else None
        if scales is None:
            raise ConversionError(f"MDSR checkpoint with {count} upsamplers; sr_keras reads the published 2+3+4")
        name = "mdsr_baseline" if num_res_blocks == 16 else "mdsr"
        return name, {"num_filters": num_filters, "num_res_blocks": num_res_blocks}, scales
    stages = sorted({int(m.group(1)) for k in tensors if (m := re.match(r"tail\.0\.(\d+)\.weight$", k))})
    first = tensors.get("tail.0.0.weight")
    if first is None:
        raise ConversionError("EDSR checkpoint without its upsampler (tail.0.0.weight)")
    ratio = first.shape[0] // num_filters
    scale = 3 if ratio == 9 else 2 ** len(stages)
    name = "edsr" if (num_filters, num_res_blocks) == (256, 32) else "edsr_baseline"
    res_scale = 0.1 if name == "edsr" else 1.0
    return name, {"num_filters": num_filters, "num_res_blocks": num_res_blocks, "res_scale": res_scale}, (scale,)


def _check_mean_shift(tensors, name, sign):
    weight, bias = tensors.get(f"{name}.weight"), tensors.get(f"{name}.bias")
    if weight is None:
        return
    expected = sign * 255.0 * np.asarray(DIV2K_RGB_MEAN, "float32")
    if not (np.allclose(weight.reshape(3, 3), np.eye(3), atol=1e-6) and np.allclose(bias, expected, atol=1e-3)):
        raise ConversionError(f"{name}: the checkpoint's mean shift ({bias.tolist()}) is not DIV2K's at rgb_range "
                              f"255; sr_keras's EDSR expects rgb_range 255")


class _Reader:
    """Takes (weight, bias) pairs out of a state dict by key, remembering which keys were used."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.used = set()

    def conv(self, key, shuffle=None):
        """(Keras kernel, bias) of the PyTorch conv `key`, its output channels permuted for a following shuffle."""
        names = (f"{key}.weight", f"{key}.bias")
        missing = [name for name in names if name not in self.tensors]
        if missing:
            raise ConversionError(f"missing tensor {missing[0]}")
        self.used.update(names)
        kernel, bias = _conv(self.tensors[names[0]]), self.tensors[names[1]]
        if shuffle:
            perm = _shuffle_permutation(kernel.shape[-1], shuffle)
            kernel, bias = kernel[..., perm], bias[perm]
        return kernel, bias


def _edsr_assignments(reader, scale, prefix, num_res_blocks, upsample_key):
    """{keras layer name: (kernel, bias)} for the shared and per-scale convs of one EDSR / MDSR scale model."""
    out = {"head_conv": reader.conv("head.0")}
    for i in range(num_res_blocks):
        out[f"body_block{i + 1}_conv1"] = reader.conv(f"body.{i}.body.0")
        out[f"body_block{i + 1}_conv2"] = reader.conv(f"body.{i}.body.2")
    out["body_conv"] = reader.conv(f"body.{num_res_blocks}")
    for j, r in enumerate(_upsampler_steps(scale)):
        out[f"{prefix}upsample_{j + 1}_conv"] = reader.conv(f"{upsample_key}.{2 * j}", shuffle=r)
    return out


def convert_state_dict(tensors, scale=None):
    """Builds the sr_keras model of an EDSR-PyTorch state dict and copies every tensor into it.

    Args:
        tensors: from `read_state_dict`.
        scale: the expected scale (an error if the checkpoint's differs); MDSR: the member returned (default
            the largest), all members are filled.

    Returns:
        (model, report): the Keras generator, and {"source", "architecture", "arguments", "scales", "tensors"}.
    """
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect(tensors)
    if scale is not None and scale not in scales:
        raise ConversionError(f"the checkpoint is {architecture} x{'/'.join(map(str, scales))}, not x{scale}")
    _check_mean_shift(tensors, "sub_mean", -1)
    _check_mean_shift(tensors, "add_mean", 1)
    reader = _Reader(tensors)
    reader.used |= {f"{name}.{part}" for name in ("sub_mean", "add_mean") for part in ("weight", "bias")} & set(
        tensors)
    if architecture.startswith("mdsr"):
        models = sr_models.get_spec(architecture).builder(scales=scales, num_filters=arguments["num_filters"],
                                                          num_res_blocks=arguments["num_res_blocks"])
        assignments = {}
        for index, s in enumerate(scales):
            assignments.update(_edsr_assignments(reader, s, f"x{s}_", arguments["num_res_blocks"],
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
        assignments = _edsr_assignments(reader, scales[0], "", arguments["num_res_blocks"], "tail.0")
        assignments["tail_conv"] = reader.conv("tail.1")
        targets = [model]
    layers = {layer.name: layer for target in targets for layer in target.layers}
    for layer_name, (kernel, bias) in assignments.items():
        layer = layers.get(layer_name)
        if layer is None:
            raise ConversionError(f"{architecture} has no layer {layer_name}")
        shapes = [tuple(w.shape) for w in layer.weights]
        if shapes != [kernel.shape, bias.shape]:
            raise ConversionError(f"{layer_name}: the checkpoint gives {[kernel.shape, bias.shape]}, the model "
                                  f"needs {shapes}")
        layer.set_weights([kernel, bias])
    extra = sorted(set(tensors) - reader.used)
    if extra:
        raise ConversionError(f"unexpected tensor {extra[0]} (of {len(extra)} left over): not an "
                              f"{architecture} checkpoint as EDSR-PyTorch writes it")
    report = {"source": EDSR_KIND, "architecture": architecture, "arguments": arguments, "scales": list(scales),
              "tensors": len(reader.used)}
    return model, report


def convert_file(path, scale=None):
    """`read_state_dict` then `convert_state_dict`; the report names the file."""
    model, report = convert_state_dict(read_state_dict(path), scale=scale)
    report["input"] = os.fspath(path)
    return model, report
