"""krasserm/super-resolution's published Keras weights (`weights.h5` / `gan_generator.h5`): EDSR x4 (16 blocks),
WDSR-B x4 (32 blocks, tensorflow-addons weight norm) and the SRResNet / SRGAN generator x4.

The files are Keras 2 `save_weights` HDF5: the root (or its `model_weights` group) lists `layer_names` in the
model's layer order, each layer group lists its `weight_names` (`.../kernel:0`, `.../bias:0`, tensorflow-addons'
`WeightNormalization` adds `.../g:0` and a non-trainable `.../initialized:0`; batch norm `gamma`, `beta`,
`moving_mean`, `moving_variance`; PReLU `alpha`). Keras 2 names layers by a global counter (`conv2d_17`), so
the names depend on what else the author had built in that session: the layers are matched by position and
weight kind, every shape checked, as Keras 2's own `load_weights` did. Only h5py is needed (no TensorFlow 2.x
Keras, no tensorflow-addons).

The models are krasserm's `model/edsr.py`, `model/wdsr.py`, `model/srgan.py`:
- WDSR-B and SRResNet normalise exactly as sr_keras does ((x - 255 mean) / 127.5; x / 255 in, tanh out): the
  arrays copy unchanged; tensorflow-addons' g is sr_keras's g, its kernel is v. Both use `depth_to_space`,
  so no channel permutation.
- EDSR divides by 127.5 after subtracting the mean (EDSR-PyTorch and sr_keras do not) and multiplies by 127.5
  at the end. Convolutions, ReLU and the residual additions are positively homogeneous, so this is sr_keras's
  EDSR with every bias multiplied by 127.5 and the kernels unchanged, exactly.
"""

import numpy as np

from sr_keras.convert._common import ConversionError, assign, existing_file, optional_import, report

KRASSERM = "krasserm"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
EDSR_SCALING = 127.5


def is_hdf5(path):
    with open(path, "rb") as handle:
        return handle.read(8) == HDF5_SIGNATURE


def _text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def read_keras2_weights(path):
    """[(layer name, {weight kind: array})] of a Keras 2 HDF5 weights file, layers without weights dropped.

    The kind is the weight name's last part without ':0' (kernel, bias, g, gamma, alpha, ...).
    """
    path = existing_file(path)
    h5py = optional_import("h5py", "reading Keras 2 .h5 weights", "pip install h5py")
    layers = []
    try:
        with h5py.File(path, "r") as handle:
            root = handle["model_weights"] if "model_weights" in handle else handle
            if "layer_names" not in root.attrs:
                raise ConversionError(f"{path} is HDF5 but not Keras 2 weights (no layer_names)")
            for name in map(_text, root.attrs["layer_names"]):
                group = root[name]
                weights = {}
                for weight_name in map(_text, group.attrs.get("weight_names", [])):
                    kind = weight_name.split("/")[-1].split(":")[0]
                    weights[kind] = np.asarray(group[weight_name], dtype="float32")
                weights.pop("initialized", None)  # tensorflow-addons' data-init flag, not a parameter
                if weights:
                    layers.append((name, weights))
    except ConversionError:
        raise
    except Exception as error:  # noqa: BLE001 - truncated or foreign HDF5 files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConversionError(f"cannot read {path} as Keras weights: {reason}") from None
    if not layers:
        raise ConversionError(f"{path} holds no layer weights")
    return layers


def _kind(weights):
    if "g" in weights:
        return "weight_norm_conv"
    if "gamma" in weights:
        return "batch_norm"
    if "alpha" in weights:
        return "prelu"
    if "kernel" in weights and np.ndim(weights["kernel"]) == 4:
        return "conv"
    return "other"


def detect(layers):
    """(architecture, builder arguments, scales) of krasserm weights, from the layers' kinds and shapes."""
    kinds = [_kind(w) for _, w in layers]
    if "other" in kinds:
        name = layers[kinds.index("other")][0]
        raise ConversionError(f"layer {name} ({', '.join(layers[kinds.index('other')][1])}) is not a layer of "
                              f"krasserm's EDSR, WDSR or SRResNet")
    head = layers[0][1]["kernel"]
    num_filters = head.shape[-1]
    if "weight_norm_conv" in kinds:
        skips = [i for i, (_, w) in enumerate(layers) if w["kernel"].shape[:3] == (5, 5, 3)]
        if len(skips) != 1:
            raise ConversionError("WDSR weights without exactly one 5x5 skip convolution from RGB")
        skip = layers[skips[0]][1]["kernel"]
        scale = int(round((skip.shape[-1] / 3) ** 0.5))
        body = [w for i, (_, w) in enumerate(layers) if i not in skips][1:-1]
        low_rank = bool(body) and body[0]["kernel"].shape[:2] == (1, 1)  # WDSR-B's 1x1 convs
        per_block, architecture = (3, "wdsr_b") if low_rank else (2, "wdsr_a")
        if not body or len(body) % per_block:
            raise ConversionError(f"{len(body)} body convolutions do not make whole {architecture} blocks")
        arguments = {"num_filters": num_filters, "num_res_blocks": len(body) // per_block,
                     "expansion": body[0]["kernel"].shape[-1] // num_filters, "res_scale": 1.0}
        if low_rank:
            low_rank = body[1]["kernel"].shape[-1]
            arguments["low_rank_ratio"] = 0.8 if int(num_filters * 0.8) == low_rank else (low_rank + 0.5) / num_filters
        return architecture, arguments, (scale,)
    convs = [w for (_, w), kind in zip(layers, kinds) if kind == "conv"]
    upsamplers = [w["kernel"].shape[-1] // num_filters for w in convs[1:-1]
                  if w["kernel"].shape[-1] in (4 * num_filters, 9 * num_filters)]
    scale = 3 if upsamplers == [9] else 2 ** len(upsamplers)
    if "batch_norm" in kinds:
        blocks = kinds.count("batch_norm") - 1
        return "srresnet", {"num_filters": num_filters, "num_res_blocks": blocks // 2}, (scale,)
    blocks = (len(convs) - 3 - len(upsamplers)) // 2
    return "edsr_baseline", {"num_filters": num_filters, "num_res_blocks": blocks, "res_scale": 1.0}, (scale,)


def _arrays(layer, weights, bias_gain):
    """The file's arrays in the order of `layer`'s weights."""
    kind = type(layer).__name__
    if kind == "WeightNormConv2D":
        return [weights["kernel"], weights["g"], weights["bias"]]
    if kind == "Conv2D":
        return [weights["kernel"], weights["bias"] * np.float32(bias_gain)]
    if kind == "BatchNormalization":
        return [weights["gamma"], weights["beta"], weights["moving_mean"], weights["moving_variance"]]
    if kind == "PReLU":
        return [weights["alpha"]]
    raise ConversionError(f"sr_keras layer {layer.name} ({kind}) has no krasserm counterpart")


def convert(layers, scale=None):
    """(model, report) of krasserm weights read by `read_keras2_weights`."""
    import sr_keras.models as sr_models

    architecture, arguments, scales = detect(layers)
    if scale is not None and scale not in scales:
        raise ConversionError(f"the weights are {architecture} x{scales[0]}, not x{scale}")
    model = sr_models.build_model(architecture, scale=scales[0], **arguments)
    targets = [layer for layer in model.layers if layer.weights]
    sources = list(layers)
    weight_norm = any(_kind(w) == "weight_norm_conv" for _, w in layers)  # WDSR
    if weight_norm:  # the skip conv's place in Keras 2's layer order varies: take it by shape
        skip = next(i for i, (_, w) in enumerate(sources) if w["kernel"].shape[:3] == (5, 5, 3))
        sources.append(sources.pop(skip))
        targets.sort(key=lambda layer: layer.name == "skip_conv")
    if len(sources) != len(targets):
        raise ConversionError(f"the file has {len(sources)} layers with weights, {architecture} x{scales[0]} "
                              f"{arguments} has {len(targets)}")
    plain = all(_kind(w) == "conv" for _, w in layers)  # EDSR: plain convolutions only
    bias_gain = EDSR_SCALING if plain else 1.0
    assignments = {}
    for layer, (name, weights) in zip(targets, sources):
        try:
            assignments[layer.name] = _arrays(layer, weights, bias_gain)
        except KeyError as missing:
            raise ConversionError(f"layer {name} has no {missing.args[0]} weight for {layer.name}") from None
    assign([model], assignments, architecture)
    count = sum(len(w) for _, w in layers)
    return model, report(KRASSERM, architecture, arguments, scales, count)
