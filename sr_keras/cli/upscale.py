"""Upscale image files or folders with a trained generator.

    python -m sr_keras.upscale photo.jpg                        # the default model, x4: writes photo_x4.png
    python -m sr_keras.upscale --real photo.jpg                 # the real-photo model (noise, blur, JPEG)
    python -m sr_keras.upscale --scale=2 photo.jpg holiday/     # x2; holiday/ -> holiday_x2/
    python -m sr_keras.upscale --model_path=runs/wdsr_b/generator_final_x4.keras photo.jpg photos/ --output_dir=out
    python -m sr_keras.upscale --model_path=a_srresnet_x4.keras --pool_size=4 --tile=256 big.png --output_dir=out
    python -m sr_keras.upscale --mmsr_dir=runs/mmsr_x4 photo.jpg --output_dir=out   # MMSR: tiles routed by TVAT
    python -m sr_keras.upscale --pretrained=realesrgan_x4plus --outscale=3.5 --alpha_upsampler=model logo.png

Every input is checked before anything is written; each output `<name>_x<scale>.png` is written under a
temporary name and renamed into place, so an interrupted run never leaves a half-written image. Folders are
searched recursively and their sub-folder structure is kept under --output_dir. Grayscale stays grayscale,
RGBA keeps its alpha (upscaled with MATLAB bicubic, or through the model with --alpha_upsampler=model as
Real-ESRGAN does), EXIF orientation is applied, 16-bit PNG and TIFF inputs give
16-bit PNGs (--bit_depth=8 forces 8), and the input's ICC profile and EXIF data are written into the output.
Memory: without --tile, the tile size is chosen from the model so the process stays under --max_memory, and the
output is written band by band, never held whole.
"""
import os
import sys
import time

from absl import app, flags

from sr_keras.cli.common import define_model_flags, entry_point

define_model_flags(flags.FLAGS, "the generator's .keras file (default: the default model of --scale)")
flags.DEFINE_string("mmsr_dir", None, "an MMSR directory (python -m sr_keras.mmsr train): tiles routed by TVAT")
flags.DEFINE_string("output_dir", None, "where the upscaled PNGs go (default: next to each input file; for an "
                    "input folder, a sibling folder <folder>_x<scale>)")
flags.DEFINE_integer("scale", None, "SR factor: picks the default model (default 4) when no model is given; "
                     "otherwise an error if the model's differs")
flags.DEFINE_bool("real", False, "use the real-photo model of --scale (x4, x2): trained on Real-ESRGAN's blur, "
                  "noise and JPEG degradations, for camera and web photos; see docs/models/real.md")
flags.DEFINE_float("outscale", None, "final factor when it differs from the model's (Real-ESRGAN's --outscale): the "
                   "model's output resized with MATLAB bicubic to int(W * outscale) x int(H * outscale)")
flags.DEFINE_enum("alpha_upsampler", "bicubic", ["bicubic", "model"], "RGBA inputs: the alpha channel upscaled with "
                  "MATLAB bicubic, or through the model as a gray image (Real-ESRGAN's default); a flat alpha stays "
                  "flat either way")
flags.DEFINE_integer("tile", None, "LR tile size; default: chosen from --max_memory")
flags.DEFINE_string("max_memory", None, "memory budget for the whole process, e.g. 2GB or 800MB: the tile size and "
                    "tiles per batch are chosen from the model's graph to stay under it, a quarter of the room above "
                    "what the process holds kept in reserve (default: a quarter of the available memory, at most "
                    "1.5 GB, but at least 1 GB more than the process holds once the model is loaded); an explicit "
                    "--tile wins")
flags.DEFINE_enum("bit_depth", None, ["8", "16"], "bits per channel of the outputs (default: the input's: 16 for "
                  "16-bit PNG / TIFF, else 8)")
flags.DEFINE_integer("overlap", 16, "LR overlap between tiles (blended)")
flags.DEFINE_integer("batch_size", 4, "tiles per model call")
flags.DEFINE_integer("pool_size", None, "FSA pool size (A-SRResNet; 4 for 2000px outputs)")
flags.DEFINE_bool("fast", False, "the fastest path this machine has for the model within 0.1 dB Y-PSNR of float32: "
                  "bfloat16 (TensorFlow), OpenVINO f32 or bf16, LiteRT int8, else float32; measured once per model and "
                  "machine, cached, and named on stderr")
flags.DEFINE_bool("self_ensemble", False, "geometric self-ensemble (8 flips/rotations averaged; 8x slower)")
flags.DEFINE_bool("skip_bad", False, "skip unreadable inputs with a warning instead of stopping")
flags.DEFINE_bool("overwrite", False, "replace existing output files")
FLAGS = flags.FLAGS


def collect_inputs(inputs):
    """(path, relative output stem, folder given or None) for every input file and every image under input
    folders."""
    found = []
    for item in inputs:
        if os.path.isdir(item):
            from sr_keras.data.io import list_images

            for path in list_images(item):
                relative = os.path.relpath(path, item)
                found.append((path, os.path.splitext(relative)[0], item))
        elif os.path.exists(item):
            found.append((item, os.path.splitext(os.path.basename(item))[0], None))
        else:
            raise FileNotFoundError(f"input not found: {item}")
    if not found:
        raise ValueError("no input images given")
    return found


def output_path(path, stem, folder, scale, output_dir):
    """Where the upscaled `path` goes: under `output_dir`, else next to the input file, or for an input folder
    in a sibling folder `<folder>_x<scale>`, keeping sub-folders."""
    if output_dir:
        return os.path.join(output_dir, f"{stem}_x{scale}.png")
    if folder is None:
        return os.path.join(os.path.dirname(os.path.abspath(path)), f"{stem}_x{scale}.png")
    return os.path.join(os.path.normpath(os.path.abspath(folder)) + f"_x{scale}", f"{stem}_x{scale}.png")


def load_model(scale):
    """(model, label, note): the model the flags name, or the default model of `scale` (4 when unset)."""
    from sr_keras import pretrained
    from sr_keras.cli.common import load_model_from_flags

    given = [f"--{name}" for name in ("model_path", "pretrained", "mmsr_dir", "real") if FLAGS[name].value]
    if len(given) > 1:
        raise ValueError(f"give one of --model_path, --pretrained, --mmsr_dir and --real, not {' and '.join(given)}")
    if FLAGS.mmsr_dir:
        from sr_keras.mmsr import load_router

        model, manifest = load_router(FLAGS.mmsr_dir)
        return model, FLAGS.mmsr_dir, manifest
    model, label = load_model_from_flags(FLAGS, required=False)
    if model is not None:
        return model, label, None
    name = pretrained.default_model_name(4 if scale is None else scale, real=FLAGS.real)
    print(f"using the {'real-photo' if FLAGS.real else 'default'} model {name}: {pretrained.get(name).description}",
          file=sys.stderr)
    return pretrained.load(name), name, None


def fast(model, manifest, pool_size):
    """(the `--fast` model, pool size left to apply): the pool size is set on the model before its paths are
    measured, as the exports fix it."""
    from sr_keras.inference.fast import fast_model
    from sr_keras.layers import set_pool_size

    if manifest is not None:
        raise ValueError("--fast runs one generator; it does not apply to --mmsr_dir")
    if pool_size is not None:
        set_pool_size(model, pool_size)
    model = fast_model(model, log=lambda line: print(line, file=sys.stderr))
    print(f"--fast: {model.summary()}", file=sys.stderr)
    return model, None


def _model_given():
    """Whether the flags name a model (then its scale is known only once it is loaded)."""
    return any(FLAGS[name].value for name in ("model_path", "pretrained", "mmsr_dir"))


def _named_scale(scale):
    """The `x<...>` of the outputs' names: --outscale when given, else `scale` (None: not known yet)."""
    return scale if FLAGS.outscale is None else f"{FLAGS.outscale:g}"


def _check_targets(files, named, output_dir, create=True):
    """[(input, output)] for `files`, after checking that no output exists unless --overwrite and, with
    `create`, creating the output folders and checking that they are writable."""
    from sr_keras.files import check_writable_dir

    targets = [(p, output_path(p, stem, folder, named, output_dir)) for p, stem, folder in files]
    if create:
        for directory in sorted({os.path.dirname(t) for _, t in targets}):
            check_writable_dir(directory)
    existing = [t for _, t in targets if os.path.exists(t)]
    if existing and not FLAGS.overwrite:
        raise FileExistsError(f"output exists: {existing[0]} (use --overwrite)")
    return targets


def _max_memory(text):
    """The bytes of --max_memory."""
    from sr_keras.checks import parse_bytes

    try:
        return parse_bytes(text)
    except ValueError as error:
        raise ValueError(f"--max_memory: {error}") from None


def main(argv):
    inputs = argv[1:]
    if not inputs:
        raise app.UsageError("give one or more input images or folders")
    from sr_keras.cli.common import check_scale
    from sr_keras.data.io import inspect_images
    from sr_keras.files import check_writable_dir

    try:  # the checks that need no TensorFlow come first: a missing or unreadable input is reported at once
        budget = _max_memory(FLAGS.max_memory) if FLAGS.max_memory else None
        output_dir = check_writable_dir(FLAGS.output_dir) if FLAGS.output_dir else None
        files = collect_inputs(inputs)
        readable = {info.path for info in inspect_images([p for p, _, _ in files], skip_bad=FLAGS.skip_bad,
                                                         alpha_dropped=False)}
        files = [item for item in files if item[0] in readable]
        if FLAGS.outscale is not None and not FLAGS.outscale > 0:
            raise ValueError(f"--outscale must be a positive factor, got {FLAGS.outscale:g}")
        known = _named_scale(FLAGS.scale if FLAGS.scale or _model_given() else 4)
        if known is not None:  # the outputs' names are known before the model loads: an existing one stops us now
            _check_targets(files, known, output_dir, create=False)
        from sr_keras.inference.memory import default_max_memory
        from sr_keras.inference.upscale import upscale_to_file

        tile, overlap = FLAGS.tile, FLAGS.overlap
        model, label, manifest = load_model(FLAGS.scale)
        if manifest is not None:
            tile = tile or manifest["tile"]
            overlap = manifest["overlap"] if FLAGS["overlap"].using_default_value else overlap
        scale = check_scale(model, FLAGS.scale, label)
        pool_size = FLAGS.pool_size
        if FLAGS.fast:
            model, pool_size = fast(model, manifest, pool_size)
        budget = budget or default_max_memory()  # once the model (and --fast's exports) are held
        targets = _check_targets(files, _named_scale(scale), output_dir)
        for index, (path, target) in enumerate(targets, 1):
            began = time.perf_counter()
            done = upscale_to_file(model, path, target, tile=tile, overlap=overlap, batch_size=FLAGS.batch_size,
                                   self_ensemble=FLAGS.self_ensemble, pool_size=pool_size,
                                   max_memory=None if tile else budget,
                                   bit_depth=int(FLAGS.bit_depth) if FLAGS.bit_depth else None,
                                   alpha_upsampler=FLAGS.alpha_upsampler, outscale=FLAGS.outscale)
            plan = (f"tiles of {done['tile']} px, {done['batch_size']} per batch" if done["tile"] else "whole image")
            print(f"[{index}/{len(targets)}] {path} -> {target} ({done['width']}x{done['height']}, "
                  f"{done['bit_depth']}-bit, {plan}, {time.perf_counter() - began:.1f} s)", file=sys.stderr)
    # (sr_keras.data's ImageReadError and DataError are ValueErrors)
    except (ValueError, FileNotFoundError, FileExistsError, PermissionError, MemoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


run = entry_point(main, positional=True)  # the console script sr-upscale


if __name__ == "__main__":
    run()
