"""What every source shares: reading a PyTorch checkpoint without running code, PyTorch -> Keras tensor layouts,
and copying named arrays into a model's layers with every shape checked and every tensor accounted for."""
import importlib
import os
import warnings

import numpy as np

# Wrappers the originals' training code puts around the state dict: BasicSR `params` / `params_ema` (the EMA is
# what BasicSR evaluates with, so it is preferred), ychfan/wdsr `model_state_dict`, generic `state_dict` / `model`.
WRAPPER_KEYS = ("params_ema", "params", "model_state_dict", "state_dict", "model")

# PyTorch >= 2.1's `torch.nn.utils.parametrizations.weight_norm` stores g and v under these names; the older
# `torch.nn.utils.weight_norm` (which the originals use) as `weight_g` / `weight_v`. Both are read.
_PARAMETRIZED = {".parametrizations.weight.original0": ".weight_g", ".parametrizations.weight.original1": ".weight_v"}


class ConversionError(ValueError):
    """A checkpoint that cannot be converted; the message names the first offending tensor or the reason."""


def existing_file(path):
    """`path` as a string; FileNotFoundError naming it when it is not a file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    return path


def optional_import(module, purpose, alternative):
    """The module `module` of the `convert` extra; ConversionError with the install command when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConversionError(f'{purpose} needs {module}: pip install "sr_keras[convert]" (or {alternative})') \
            from None


def read_state_dict(path):
    """{name: float32 numpy array} of a PyTorch checkpoint, loaded without running any pickled code.

    Handles a bare state dict, the wrappers in `WRAPPER_KEYS`, `module.` prefixes (DataParallel) and both
    weight-norm spellings.

    Raises:
        FileNotFoundError: no such file. ConversionError: not a readable, code-free PyTorch checkpoint, or
        torch is missing (the message has the install command).
    """
    path = existing_file(path)
    torch = optional_import("torch", "reading PyTorch checkpoints", "pip install torch; the CPU build is enough")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then reads fine
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling errors, truncated files, foreign formats
        text = str(error).strip()
        reason = text.splitlines()[0] if text else type(error).__name__
        if "weights_only" in text or "Unsupported global" in text:
            reason = "it holds Python objects beyond tensors, which would run code on load; refused"
        raise ConversionError(f"cannot read {path} as a PyTorch checkpoint: {reason}") from None
    for key in WRAPPER_KEYS:
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict) or not data:
        raise ConversionError(f"{path} holds no state dict of tensors")
    tensors = {}
    for name, value in data.items():
        if not hasattr(value, "detach"):
            raise ConversionError(f"{path}: entry {name!r} is not a tensor")
        name = name[len("module."):] if name.startswith("module.") else name
        for long, short in _PARAMETRIZED.items():
            if name.endswith(long):
                name = name[: -len(long)] + short
        tensors[name] = value.detach().cpu().float().numpy()
    return tensors


def torch_kernel(weight):
    """PyTorch conv weight [out, in, kh, kw] -> Keras kernel [kh, kw, in, out]."""
    return np.ascontiguousarray(np.asarray(weight, "float32").transpose(2, 3, 1, 0))


def shuffle_permutation(channels, r):
    """perm[k_tf] = k_pt: the PyTorch output channel behind each TensorFlow depth_to_space channel.

    PyTorch's `nn.PixelShuffle` reads channel c * r^2 + dy * r + dx for output channel c at offset (dy, dx);
    TensorFlow's `depth_to_space` (sr_keras's `PixelShuffle`) reads (dy * r + dx) * C + c.
    """
    base = channels // (r * r)
    perm = np.empty(channels, dtype=np.int64)
    for dy in range(r):
        for dx in range(r):
            for c in range(base):
                perm[(dy * r + dx) * base + c] = c * r * r + dy * r + dx
    return perm


def upsampler_steps(scale):
    """The pixel-shuffle factors of an EDSR-style upsampler: x2/x4/x8 as steps of 2, x3 as one step of 3."""
    return [2] * int(np.log2(scale)) if scale in (2, 4, 8) else [3]


class Reader:
    """Takes tensors out of a state dict by key, converted to Keras layouts, remembering which keys were used."""

    def __init__(self, tensors):
        self.tensors = tensors
        self.used = set()

    def take(self, name):
        if name not in self.tensors:
            raise ConversionError(f"missing tensor {name}")
        self.used.add(name)
        return self.tensors[name]

    def has(self, name):
        return name in self.tensors

    def conv(self, key, shuffle=None):
        """[kernel, bias] of the plain PyTorch conv `key`, output channels permuted for a following shuffle."""
        kernel, bias = torch_kernel(self.take(f"{key}.weight")), self.take(f"{key}.bias")
        if shuffle:
            perm = shuffle_permutation(kernel.shape[-1], shuffle)
            kernel, bias = kernel[..., perm], bias[perm]
        return [kernel, bias]

    def weight_norm_conv(self, key, shuffle=None, gain=1.0, bias_gain=1.0):
        """[v, g, bias] (the order of `WeightNormConv2D`'s weights) of the weight-normalised PyTorch conv `key`.

        `gain` multiplies g (the effective kernel scales with it), `bias_gain` the bias: the folding of constant
        input and output scalings into a convolution.
        """
        v = torch_kernel(self.take(f"{key}.weight_v"))
        g = self.take(f"{key}.weight_g").reshape(-1) * np.float32(gain)
        bias = self.take(f"{key}.bias") * np.float32(bias_gain)
        if shuffle:
            perm = shuffle_permutation(v.shape[-1], shuffle)
            v, g, bias = v[..., perm], g[perm], bias[perm]
        return [v, g.astype("float32"), bias.astype("float32")]

    def spectral_norm_conv(self, key):
        """{"kernel", "u", "v"} of the PyTorch conv `key` under `torch.nn.utils.spectral_norm` (`weight_orig`,
        `weight_u`, `weight_v`; no bias is read), in the layouts of `sr_keras.layers.SpectralNorm`.

        The kernel maps as any conv's. PyTorch's matrix is the weight as [out, in * kh * kw]: u has one entry per
        output channel and is taken as it is; v runs over the columns in (in, kh, kw) order and is reordered to
        the rows of the Keras kernel reshaped to [kh * kw * in, out], i.e. (kh, kw, in).
        """
        weight = self.take(f"{key}.weight_orig")
        u, v = self.take(f"{key}.weight_u"), self.take(f"{key}.weight_v")
        out, inputs, kh, kw = weight.shape
        if u.shape != (out,) or v.shape != (inputs * kh * kw,):
            raise ConversionError(f"{key}: weight_u {u.shape} / weight_v {v.shape} do not fit weight_orig "
                                  f"{weight.shape}")
        v = np.asarray(v, "float32").reshape(inputs, kh, kw).transpose(1, 2, 0).ravel()
        return {"kernel": torch_kernel(weight), "u": np.asarray(u, "float32"), "v": np.ascontiguousarray(v)}

    def leftover(self, what):
        """Raises ConversionError naming the first tensor no layer took."""
        extra = sorted(set(self.tensors) - self.used)
        if extra:
            raise ConversionError(f"unexpected tensor {extra[0]} (of {len(extra)} left over): not {what} as its "
                                  f"original code writes it")


def in_weight_order(layer, arrays):
    """`arrays` ({weight name: array}, e.g. "kernel", "u", "v") as the list `layer.set_weights` takes.

    Raises:
        ConversionError: a weight of the layer that `arrays` does not give, or an array the layer has no weight for.
    """
    names = [weight.name for weight in layer.weights]
    missing = [name for name in names if name not in arrays]
    extra = sorted(set(arrays) - set(names))
    if missing or extra:
        raise ConversionError(f"{layer.name}: weights {names}, given {sorted(arrays)}")
    return [arrays[name] for name in names]


def assign(targets, assignments, architecture):
    """Sets each layer named in `assignments` ({layer name: [arrays in the layer's weight order]}) in `targets`
    (models sharing layers), checking every shape; every layer of the targets that has weights must be given.

    Raises:
        ConversionError: a layer missing in the model, a shape mismatch (both named), or a model layer left
        without weights.
    """
    layers = {}
    for target in targets:
        for layer in target.layers:
            if layer.weights:
                layers.setdefault(layer.name, layer)
    for layer_name, arrays in assignments.items():
        layer = layers.get(layer_name)
        if layer is None:
            raise ConversionError(f"{architecture} has no layer {layer_name}")
        shapes = [tuple(w.shape) for w in layer.weights]
        given = [tuple(np.shape(a)) for a in arrays]
        if shapes != given:
            raise ConversionError(f"{layer_name}: the checkpoint gives shapes {given}, the model needs {shapes}")
        layer.set_weights([np.asarray(a, "float32") for a in arrays])
    unset = [name for name in layers if name not in assignments]
    if unset:
        raise ConversionError(f"the checkpoint has nothing for {architecture} layer {unset[0]}")


def check_scale(architecture, scales, scale):
    """ConversionError when `scale` is given and the checkpoint's `scales` do not have it."""
    if scale is not None and scale not in scales:
        raise ConversionError(f"the checkpoint is {architecture} x{'/'.join(map(str, scales))}, not x{scale}")


def report(source, architecture, arguments, scales, tensors):
    """The conversion report every converter returns (`tensors`: the number read).

    Raises:
        ConversionError: `source` is not among the model's converter sources (`ModelSpec.sources` of
            `sr_keras.models`, which says what converts into each model).
    """
    import sr_keras.models as sr_models

    if source not in sr_models.get_spec(architecture).sources:
        raise ConversionError(f"the registry does not list {source!r} among the sources of {architecture} "
                              f"(ModelSpec.sources: {', '.join(sr_models.get_spec(architecture).sources)})")
    return {"source": source, "architecture": architecture, "arguments": arguments, "scales": list(scales),
            "tensors": tensors}
