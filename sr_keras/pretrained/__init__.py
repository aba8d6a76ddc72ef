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
"""
import dataclasses
import os
import tarfile
import zipfile

from sr_keras.models.saving import load_generator

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")

_DEFAULT_LICENCE = "Apache-2.0 (trained by sr_keras; the training images keep their own licences, see the card)"


@dataclasses.dataclass(frozen=True)
class Preset:
    """One named trained generator.

    Attributes:
        name: the name `load` and `--pretrained` take.
        architecture: the registry name of the generator (`sr_keras.models.MODELS`).
        scale: its SR factor.
        description: one line for the table.
        file: the `.keras` file inside the package (`weights/`), for models shipped with it.
        licence: the weights' licence (the original repository's).
        card: where its training and evaluation are documented.
        url: where the authors publish the file (presets not shipped with the package).
        filename: the published file's name (the cache keeps it).
        sha256: the hex digest or prefix the authors publish (torch.hub file names end in its first 8 digits);
            None where they publish none.
        member: the checkpoint's name inside a published .zip / .tar.gz archive (matched by its end).
        source: the `sr_keras.convert` source of the published file.
        published: the authors' own figure for it, with their protocol.
        page: the page that links the file, for a download by hand.
    """

    name: str
    architecture: str
    scale: int
    description: str
    file: str = None
    licence: str = _DEFAULT_LICENCE
    card: str = "docs/models/default.md"
    url: str = None
    filename: str = None
    sha256: str = None
    member: str = None
    source: str = None
    published: str = ""
    page: str = None

    @property
    def path(self):
        """The bundled `.keras` file (presets shipped with the package), else None."""
        return os.path.join(WEIGHTS_DIR, self.file) if self.file else None

    @property
    def bundled(self):
        return self.file is not None


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


_EDSR_URL = "https://cv.snu.ac.kr/research/EDSR/models/"
_EDSR_PAGE = "https://github.com/sanghyun-son/EDSR-PyTorch"
_EDSR_PROTOCOL = "DIV2K 0801-0900, RGB, scale+2 border ignored (EDSR-PyTorch README)"
_EDSR_FILES = {  # name: (file, PSNR on DIV2K val as published)
    "edsr_baseline_x2": ("edsr_baseline_x2-1bc95232.pt", 34.61),
    "edsr_baseline_x3": ("edsr_baseline_x3-abf2a44e.pt", 30.92),
    "edsr_baseline_x4": ("edsr_baseline_x4-6b446fab.pt", 28.95), "edsr_x2": ("edsr_x2-0edfb8a3.pt", 35.03),
    "edsr_x3": ("edsr_x3-ea3ef2c6.pt", 31.26), "edsr_x4": ("edsr_x4-4f62e9ef.pt", 29.25),
}
_MDSR_FILES = {"mdsr_baseline": ("mdsr_baseline-a00cab12.pt", {2: 34.63, 3: 30.94, 4: 28.97}),
               "mdsr": ("mdsr-4a78bedf.pt", {2: 34.92, 3: 31.22, 4: 29.24})}


def _torch_hub_hash(filename):
    return filename.rsplit("-", 1)[1].split(".")[0]


def _edsr_pytorch():
    for name, (filename, psnr) in _EDSR_FILES.items():
        architecture, scale = name.rsplit("_x", 1)
        size = "16 blocks, 64 filters" if "baseline" in name else "32 blocks, 256 filters"
        yield Preset(name, architecture, int(scale), f"EDSR-PyTorch's {architecture.replace('_', ' ')} x{scale} "
                     f"({size})", licence="MIT (sanghyun-son/EDSR-PyTorch)", card=_EDSR_PAGE,
                     url=_EDSR_URL + filename, filename=filename, sha256=_torch_hub_hash(filename),
                     source="edsr_pytorch", published=f"{psnr:.2f} dB, {_EDSR_PROTOCOL}", page=_EDSR_PAGE)
    for architecture, (filename, figures) in _MDSR_FILES.items():
        for scale, psnr in figures.items():
            yield Preset(f"{architecture}_x{scale}", architecture, scale,
                         f"EDSR-PyTorch's {architecture.replace('_', ' ')}, its x{scale} path (one file, every scale)",
                         licence="MIT (sanghyun-son/EDSR-PyTorch)", card=_EDSR_PAGE, url=_EDSR_URL + filename,
                         filename=filename, sha256=_torch_hub_hash(filename), source="edsr_pytorch",
                         published=f"{psnr:.2f} dB, {_EDSR_PROTOCOL}", page=_EDSR_PAGE)


_DRIVE = "https://drive.usercontent.google.com/download?id={}&export=download&confirm=t"
_BASICSR_PAGE = "https://github.com/XPixelGroup/BasicSR/blob/master/docs/ModelZoo.md"
_BASICSR_FILES = {  # name: (file, Google Drive id as in BasicSR's scripts/download_pretrained_models.py, DIV2K100)
    "basicsr_edsr_m_x2": ("EDSR_Mx2_f64b16_DIV2K_official-3ba7b086.pth",
                          "1mREMGVDymId3NzIc2u90sl_X4-pb4ZcV", "34.6291"),
    "basicsr_edsr_m_x3": ("EDSR_Mx3_f64b16_DIV2K_official-6908f88a.pth",
                          "1EriqQqlIiRyPbrYGBbwr_FZzvb3iwqz5", "30.9438"),
    "basicsr_edsr_m_x4": ("EDSR_Mx4_f64b16_DIV2K_official-0c287733.pth",
                          "1bCK6cFYU01uJudLgUUe-jgx-tZ3ikOWn", "28.9679"),
    "basicsr_edsr_l_x2": ("EDSR_Lx2_f256b32_DIV2K_official-be38e77d.pth",
                          "15257lZCRZ0V6F9LzTyZFYbbPrqNjKyMU", "35.0495"),
    "basicsr_edsr_l_x3": ("EDSR_Lx3_f256b32_DIV2K_official-3660f70d.pth",
                          "18q_D434sLG_rAZeHGonAX8dkqjoyZ2su", "31.28"),
    "basicsr_edsr_l_x4": ("EDSR_Lx4_f256b32_DIV2K_official-76ee1c8f.pth",
                          "1GCi30YYCzgMCcgheGWGusP9aWKOAy5vl", "29.277"),
}


def _basicsr():
    for name, (filename, drive_id, psnr) in _BASICSR_FILES.items():
        scale = int(name[-1])
        architecture = "edsr" if "_l_" in name else "edsr_baseline"
        yield Preset(name, architecture, scale, f"BasicSR's EDSR_{'L' if '_l_' in name else 'M'}x{scale} "
                     "(EDSR-PyTorch's official weights in BasicSR's layout)",
                     licence="Apache-2.0 (XPixelGroup/BasicSR)",
                     card=_BASICSR_PAGE, url=_DRIVE.format(drive_id), filename=filename,
                     sha256=_torch_hub_hash(filename), source="basicsr",
                     published=f"{psnr} dB, DIV2K100, RGB, scale border cropped (BasicSR ModelZoo)", page=_BASICSR_PAGE)


_YCHFAN_PAGE = "https://github.com/ychfan/wdsr"
_YCHFAN_FILES = {  # name: (url, archive, DIV2K val, parameters)
    "wdsr_a_x2": ("https://github.com/ychfan/wdsr/files/4176974/wdsr_x2.zip", "34.76", "1,190,100"),
    "wdsr_a_x3": ("https://github.com/ychfan/wdsr/files/4176981/wdsr_x3.zip", "31.03", "1,195,605"),
    "wdsr_a_x4": ("https://github.com/ychfan/wdsr/files/4176985/wdsr_x4.zip", "29.04", "1,203,312"),
    "wdsr_a_large_x2": (_DRIVE.format("10OsQD--qWZIBinFignAWwppHw5z9LPMI"), "35.06", "37,808,180"),
    "wdsr_a_large_x3": (_DRIVE.format("10Yh0mI2825k69vChRZRGMsAC7C-M5hbk"), "31.34", "37,826,645"),
    "wdsr_a_large_x4": (_DRIVE.format("10sYc5F63-o3eovtGCG5SSawk4otEHIxe"), "29.33", "37,852,496"),
}


def _ychfan():
    for name, (url, psnr, params) in _YCHFAN_FILES.items():
        scale = int(name[-1])
        large = "large" in name
        size = "32 blocks, 128 filters" if large else "16 blocks, 32 filters"
        yield Preset(name, "wdsr_a", scale, f"the WDSR authors' WDSR-A x{scale} ({size}, {params} parameters; "
                     f"ychfan/wdsr, mean 0.5 folded in)", licence="MIT (ychfan/wdsr)", card=_YCHFAN_PAGE, url=url,
                     filename=f"wdsr{'_large' if large else ''}_x{scale}.zip", member="epoch_30.pth",
                     source="wdsr_ychfan", published=f"{psnr} dB, DIV2K val, RGB (ychfan/wdsr README)",
                     page=_YCHFAN_PAGE)


_KRASSERM_PAGE = "https://github.com/krasserm/super-resolution"


def _krasserm():
    specs = (("krasserm_edsr_baseline_x4", "edsr_baseline", "weights-edsr-16-x4.tar.gz", "edsr-16-x4/weights.h5",
              "krasserm's EDSR baseline x4 (Keras, 16 blocks, 64 filters)",
              "28.89 dB, DIV2K 801-900, RGB, border included (krasserm README)"),
             ("krasserm_wdsr_b_x4", "wdsr_b", "weights-wdsr-b-32-x4.tar.gz", "wdsr-b-32-x4/weights.h5",
              "krasserm's WDSR-B x4 (Keras, 32 blocks, 32 filters, expansion 6)",
              "28.91 dB, DIV2K 801-900, RGB, border included (krasserm README)"),
             ("krasserm_srgan_x4", "srresnet", "weights-srgan.tar.gz", "srgan/gan_generator.h5",
              "krasserm's SRGAN generator x4 (SRResNet after GAN training, VGG54 content loss)",
              "no PSNR published (a perceptual model)"))
    for name, architecture, filename, member, description, published in specs:
        yield Preset(name, architecture, 4, description, licence="Apache-2.0 (krasserm/super-resolution)",
                     card=_KRASSERM_PAGE, url=f"https://martin-krasser.de/sisr/{filename}", filename=filename,
                     member=member, source="krasserm", published=published, page=_KRASSERM_PAGE)


PRESETS = {preset.name: preset for preset in (
    *(_default(scale) for scale in (2, 3, 4)), *(_real(scale) for scale in (2, 4)), *_edsr_pytorch(), *_basicsr(),
    *_ychfan(), *_krasserm())}

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


def load(name, weights=None, progress=True):
    """The Keras generator of the preset `name` (custom layers registered; float RGB [0, 255] in and out).

    Presets shipped with the package load from it; the originals' weights are downloaded and converted once
    (see `model_path`), or taken from `weights` offline.

    Raises:
        ValueError: unknown name, missing file, failed download or conversion (one line, naming the preset).
    """
    return load_generator(model_path(name, weights=weights, progress=progress))


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

    model = float32_copy(load_generator(os.path.join(run_dir, f"generator_final_x{scale}.keras")))
    return save_keras(model, get(default_model_name(scale)).path)
