"""Trained generators by name: `sr_keras.pretrained.load("edsr_baseline_x4")`.

    >>> from sr_keras import pretrained
    >>> model = pretrained.load("wdsr_b_default_x4")      # shipped inside the package: works offline
    >>> model = pretrained.load("edsr_baseline_x2")       # the authors' file, downloaded once and converted
    >>> model = pretrained.load("edsr_baseline_x2", weights="edsr_baseline_x2-1bc95232.pt")   # offline
    >>> pretrained.default_model_name(2)
    'wdsr_b_default_x2'

    python -m sr_keras.pretrained list

Two kinds of presets:
- the default models (`DEFAULT_MODELS`, one per scale): WDSR-B generators trained by sr_keras itself on images
  available offline (`docs/models/default.md` is their model card; `tools/train_default_models.py` reproduces
  them), shipped inside the package as `.keras` files computing in float32;
- the originals' published weights (EDSR-PyTorch, BasicSR, ychfan/wdsr, krasserm/super-resolution), at the
  URL their authors publish them. The first `load` downloads the file into the cache (`sr_keras.download`:
  `$SR_KERAS_CACHE`, else `~/.cache/sr_keras`; resumed when cut, its sha256 checked where the authors publish
  one, renamed into place only when complete), converts it with `sr_keras.convert` (PyTorch files need
  `pip install "sr_keras[convert]"`) and keeps the converted `.keras` file in the cache, so later loads need
  neither the network nor torch. `weights=` (CLI `--weights`) takes the original file or a converted `.keras`
  file from anywhere, offline.

Importing this package imports no TensorFlow (`python -m sr_keras.pretrained list` answers at once); the
functions that load or convert a model import it, quietly, through `sr_keras.models`.
"""
import os
import tarfile
import zipfile

from sr_keras.pretrained.preset import WEIGHTS_DIR, Preset
from sr_keras.pretrained.published import published_presets

__all__ = ["DEFAULT_MODELS", "PRESETS", "REAL_MODELS", "WEIGHTS_DIR", "Preset", "cached_model_path",
           "default_model_name", "fetch", "get", "load", "model_path", "ship_default_models", "table"]

def _default(scale):
    return Preset(f"wdsr_b_default_x{scale}", "wdsr_b", scale,
                  f"WDSR-B x{scale}, 16 blocks, trained by sr_keras on offline photos (the default model at x{scale})",
                  file=f"wdsr_b_default_x{scale}.keras",
                  published={2: "held-out photos: +1.65 dB over bicubic", 3: "held-out photos: +1.07 dB over bicubic",
                             4: "held-out photos: +0.95 dB over bicubic"}[scale])


def _real(scale):
    return Preset(f"wdsr_b_real_x{scale}", "wdsr_b", scale,
                  f"WDSR-B x{scale}, 16 blocks, trained by sr_keras for real photos (Real-ESRGAN's blur, noise and "
                  f"JPEG degradations; upscale --real)", file=f"wdsr_b_real_x{scale}.keras", card="docs/models/real.md",
                  published={  # held-out photos, mean Y-PSNR (docs/models/real.md)
                      2: "held-out, heavy LR: +0.68 dB over the default; camera LR: -0.12 dB vs bicubic",
                      4: "held-out, heavy LR: +0.35 dB over the default; camera LR: -0.22 dB vs bicubic"}[scale])


PRESETS = {preset.name: preset for preset in (
    *(_default(scale) for scale in (2, 3, 4)), *(_real(scale) for scale in (2, 4)), *published_presets())}

# The model `python -m sr_keras.upscale` uses at each scale when no model is given, and with --real.
DEFAULT_MODELS = {2: "wdsr_b_default_x2", 3: "wdsr_b_default_x3", 4: "wdsr_b_default_x4"}
REAL_MODELS = {2: "wdsr_b_real_x2", 4: "wdsr_b_real_x4"}


def get(name):
    """The preset called `name`; ValueError listing the names otherwise."""
    if name not in PRESETS:
        raise ValueError(f"unknown pretrained model {name!r}; available: {', '.join(PRESETS)} "
                         f"(python -m sr_keras.pretrained list)")
    return PRESETS[name]


def default_model_name(scale, real=False):
    """The name of the default model at `scale` (`real`: the real-photo model); ValueError for a scale without
    one."""
    models, kind = (REAL_MODELS, "real-photo") if real else (DEFAULT_MODELS, "default")
    if scale not in models:
        raise ValueError(f"there is no {kind} model at x{scale}; {kind} models: "
                         f"{', '.join(f'x{s}' for s in models)}")
    return models[scale]


def cached_model_path(name):
    """Where the converted `.keras` file of the downloaded preset `name` is kept in the cache."""
    from sr_keras.download import cache_dir

    return os.path.join(cache_dir("models"), f"{name}.keras")


def fetch(name, progress=True):
    """The published checkpoint file of preset `name`, downloaded into the cache when not there yet (resumed,
    hash-checked where the authors publish a hash, renamed into place only when complete); the checkpoint
    itself when the authors publish an archive.

    Raises:
        ValueError: a preset shipped with the package (nothing to download), or a download that failed (the
            message names the preset and says how to give the file by hand with --weights).
    """
    from sr_keras.download import DownloadError, cache_dir, download

    preset = get(name)
    if preset.url is None:
        raise ValueError(f"{name} ships with sr_keras: there is nothing to download")
    dest = os.path.join(cache_dir("checkpoints"), preset.filename)
    try:
        path = download(preset.url, dest, sha256=preset.sha256, progress=progress)
    except (DownloadError, OSError) as error:
        raise ValueError(f"cannot download {name}: {error}; download {preset.filename} by hand from "
                         f"{preset.page or preset.url} and pass --weights=<the file>") from None
    if preset.member:
        path = _extract(path, preset.member, os.path.join(cache_dir("checkpoints"), name))
    return path


def _extract(archive, member, folder):
    """The file whose name ends in `member` inside the .zip / .tar.gz `archive`, written to `folder` once
    (atomically; nothing else of the archive is written, so no member name can escape the folder)."""
    from sr_keras.files import atomic_path

    target = os.path.join(folder, os.path.basename(member))
    if os.path.isfile(target):
        return target
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as handle:
                names = [n for n in handle.namelist() if n.endswith(member)]
                if names:
                    with handle.open(names[0]) as source, atomic_path(target) as temporary:
                        _copy(source, temporary)
        else:
            with tarfile.open(archive) as handle:
                found = [m for m in handle.getmembers() if m.isfile() and m.name.endswith(member)]
                names = [m.name for m in found]
                if found:
                    with handle.extractfile(found[0]) as source, atomic_path(target) as temporary:
                        _copy(source, temporary)
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as error:
        os.remove(archive)  # e.g. a web page served instead of the file: never reuse it from the cache
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"the download {os.path.basename(archive)} is not a readable .zip / .tar.gz ({reason}); "
                         f"it was deleted: download it by hand and pass --weights=<the checkpoint>") from None
    if not names:
        raise ValueError(f"{os.path.basename(archive)} holds no {member}")
    return target


def _copy(source, path):
    with open(path, "wb") as handle:
        while True:
            chunk = source.read(1 << 20)
            if not chunk:
                break
            handle.write(chunk)


def _convert(preset, path):
    """The model converted from the original file `path`, checked to be the preset's architecture and scale."""
    from sr_keras.convert import ConversionError, convert_file

    try:
        model, report = convert_file(path, source=preset.source, scale=preset.scale)
    except (ConversionError, FileNotFoundError) as error:
        raise ValueError(f"{preset.name}: {error}") from None
    if report["architecture"] != preset.architecture:
        raise ValueError(f"{path} is {report['architecture']}, not {preset.name}'s {preset.architecture}")
    return model


def model_path(name, weights=None, progress=True):
    """A `.keras` file of the preset `name`, ready for `load_generator` or `--init_from`.

    Args:
        name: a key of `PRESETS`.
        weights: a local file to use instead of the download: the original checkpoint (converted here, into the
            cache under a name carrying its hash) or a converted `.keras` file (returned as it is, once checked).
        progress: show download progress.

    Raises:
        ValueError: unknown name, a missing bundled file, a failed download or conversion, or `weights` that are
            not this preset's architecture and scale; FileNotFoundError: `weights` does not exist.
    """
    from sr_keras.files import save_keras
    from sr_keras.models.saving import load_generator

    preset = get(name)
    if weights is not None:
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"--weights file not found: {weights}")
        if weights.endswith(".keras"):
            _check_matches(preset, load_generator(weights), weights)
            return weights
        if preset.source is None:
            raise ValueError(f"{name} is an sr_keras model: give its .keras file as --weights")
        from sr_keras.download import cache_dir, file_sha256

        target = os.path.join(cache_dir("models"), f"{name}-{file_sha256(weights)[:12]}.keras")
        if not os.path.isfile(target):
            save_keras(_convert(preset, weights), target)
        return target
    if preset.bundled:
        if not os.path.isfile(preset.path):
            raise ValueError(f"pretrained model {name!r} is missing from this installation ({preset.path}); "
                             f"reinstall sr_keras")
        return preset.path
    target = cached_model_path(name)
    if not os.path.isfile(target):
        save_keras(_convert(preset, fetch(name, progress=progress)), target)
    return target


def _check_matches(preset, model, path):
    from sr_keras.models import model_info

    info = model_info(model)
    if info is not None and (info["architecture"], info["scale"]) != (preset.architecture, preset.scale):
        raise ValueError(f"{path} is {info['architecture']} x{info['scale']}, not {preset.name} "
                         f"({preset.architecture} x{preset.scale})")


def load(name, weights=None, progress=True, denoise_strength=None):
    """The Keras generator of the preset `name` (custom layers registered; float RGB [0, 255] in and out).

    Presets shipped with the package load from it; the originals' weights are downloaded and converted once
    (see `model_path`), or taken from `weights` offline.

    Args:
        name: a key of `PRESETS`.
        weights: the preset's file given by hand (see `model_path`).
        progress: show download progress.
        denoise_strength: presets with a `companion` only (realesr_general_x4v3): every weight becomes
            strength x this preset's + (1 - strength) x the companion's, as Real-ESRGAN's `-dn` (its
            `RealESRGANer.dni`); 1 keeps this preset's own weights, 0 gives the companion's (weak denoising).
            Default 0.5, Real-ESRGAN's. With `weights`, the companion's file is looked for beside it under its
            published name (as Real-ESRGAN's `inference_realesrgan.py` does).

    Raises:
        ValueError: unknown name, missing file, failed download or conversion, a denoise strength outside [0, 1]
            or for a preset without companion (one line, naming the preset).
    """
    from sr_keras.models.saving import load_generator

    preset = get(name)
    if denoise_strength is not None and preset.companion is None:
        raise ValueError(f"--denoise_strength applies to {', '.join(p.name for p in PRESETS.values() if p.companion)}"
                         f", not {name}")
    strength = 0.5 if denoise_strength is None else float(denoise_strength)
    if not 0.0 <= strength <= 1.0:  # before any download
        raise ValueError(f"--denoise_strength must be between 0 and 1, got {denoise_strength}")
    model = load_generator(model_path(name, weights=weights, progress=progress))
    if preset.companion is None:
        return model
    if strength == 1.0:
        return model
    companion = get(preset.companion)
    companion_weights = None
    if weights is not None:
        companion_weights = os.path.join(os.path.dirname(os.path.abspath(weights)), companion.filename)
        if not os.path.isfile(companion_weights):
            raise ValueError(f"--denoise_strength={strength:g} mixes {name} with {companion.name}: put "
                             f"{companion.filename} ({companion.url}) beside {weights}, or give --denoise_strength=1")
    other = load_generator(model_path(companion.name, weights=companion_weights, progress=progress))
    mixed = [strength * a + (1.0 - strength) * b for a, b in zip(model.get_weights(), other.get_weights())]
    model.set_weights(mixed)
    return model


def listing(width=100):
    """The presets one per line, fitted to `width` columns: name, scale, where the file is (shipped in the
    package or downloaded once) and as much of the description as fits (`table` has every column)."""
    name_width = max(len(name) for name in PRESETS)
    lines = []
    for preset in PRESETS.values():
        where = "shipped" if preset.bundled else "download"
        line = f"{preset.name:<{name_width}}  x{preset.scale}  {where:<8}  {preset.description}"
        lines.append(line if len(line) <= width else line[:width - 3] + "...")
    return "\n".join(lines)


def table():
    """The presets as a markdown table."""
    lines = ["| name | architecture | scale | description | published result | where | licence |",
             "| --- | --- | ---: | --- | --- | --- | --- |"]
    for preset in PRESETS.values():
        where = "in the package" if preset.bundled else f"[{preset.filename}]({preset.url})"
        lines.append(f"| `{preset.name}` | {preset.architecture} | x{preset.scale} | {preset.description} | "
                     f"{preset.published} | {where} | {preset.licence} |")
    return "\n".join(lines)


def ship_default_models(run_dir, scale):
    """Copies the final generator of a default-model training run into the package, computing in float32
    (`tools/train_default_models.py --ship`). Returns the written path."""
    from sr_keras.files import save_keras
    from sr_keras.models.precision import float32_copy
    from sr_keras.models.saving import load_generator

    model = float32_copy(load_generator(os.path.join(run_dir, f"generator_final_x{scale}.keras")))
    return save_keras(model, get(default_model_name(scale)).path)
