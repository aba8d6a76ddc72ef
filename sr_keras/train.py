"""Train a super-resolution model.

    python -m sr_keras.train --model=wdsr_b --scale=4 --steps=300 --model_dir=runs/wdsr_b
    python -m sr_keras.train --model=edsr --data=div2k --data_dir=data/div2k --gpus=8
    python -m sr_keras.train --model=srgan --generator_weights=runs/srresnet/generator_final_x4.keras

Unset flags take the paper's value for the model (sr_keras/training/config.py). Re-running the same command
resumes from the latest checkpoint in --model_dir.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from sr_keras.training.config import DATA_KINDS, STRATEGIES, TRAINABLE_MODELS  # noqa: E402

flags.DEFINE_string("model", None, f"model to train: {', '.join(TRAINABLE_MODELS)}")
flags.DEFINE_integer("scale", 4, "SR factor (2, 3, 4 or 8 where the model allows it)")
flags.DEFINE_list("scales", None, "MDSR: the scales trained together (default 2,3,4)")
flags.DEFINE_enum("data", "embedded", DATA_KINDS,
                  "training data: embedded photos (offline default), folder of HR images (--data_dir), paired "
                  "LR/HR folders (--lr_dir, --data_dir), div2k archive layout (--data_dir), tfds div2k")
flags.DEFINE_string("data_dir", None, "HR folder, DIV2K root, or tfds data_dir")
flags.DEFINE_string("lr_dir", None, "--data=paired: folder of LR images matched to --data_dir by name")
flags.DEFINE_string("valid_dir", None, "validation images (HR folder or Set5-style HR + LR_bicubic/X<s>); "
                    "default: DIV2K valid for div2k data, else the embedded validation photos")
flags.DEFINE_enum("div2k_track", "bicubic", ["bicubic", "unknown", "x8", "mild", "difficult"], "DIV2K track")
flags.DEFINE_integer("crop_size", None, "LR crop side in pixels (HR crop = crop_size * scale)")
flags.DEFINE_integer("batch_size", None, "global batch size (split over replicas)")
flags.DEFINE_integer("steps", None, "total training steps")
flags.DEFINE_float("learning_rate", None, "initial learning rate")
flags.DEFINE_list("decay_steps", None, "steps at which the learning rate is multiplied by --decay_factor")
flags.DEFINE_float("decay_factor", None, "learning-rate decay factor (0.5 = halve)")
flags.DEFINE_enum("loss", None, ["l1", "mse"], "pixel loss")
flags.DEFINE_integer("num_filters", None, "generator feature channels (default: the paper's)")
flags.DEFINE_integer("num_res_blocks", None, "generator residual blocks (default: the paper's)")
flags.DEFINE_integer("discriminator_layers", None, "GAN: discriminator conv layers, 1-8 (MMSR 'X-Y' depths)")
flags.DEFINE_integer("discriminator_filters", None, "GAN: discriminator filters of the first conv (default 64)")
flags.DEFINE_integer("pool_size", None, "A-SRGAN: FSA pool size in training (1 = plain attention)")
flags.DEFINE_integer("eval_pool_size", None, "A-SRGAN: FSA pool size for validation and export (default 4)")
flags.DEFINE_enum("content_loss", None, ["mse", "vgg22", "vgg54"], "GAN: content loss")
flags.DEFINE_float("adv_weight", None, "GAN: adversarial loss weight (1e-3 in SRGAN)")
flags.DEFINE_integer("d_steps", None, "GAN: discriminator updates per generator update")
flags.DEFINE_string("generator_weights", None, "GAN: start from these generator weights (.keras or .weights.h5)")
flags.DEFINE_string("vgg_weights", None, "GAN: local VGG19 notop weights file for offline machines "
                    "(default: Keras downloads the imagenet weights; 'random' = untrained VGG, for smoke tests only)")
flags.DEFINE_integer("gpus", None, "train data-parallel on this many GPUs (MirroredStrategy)")
flags.DEFINE_integer("cpu_replicas", None, "train data-parallel on this many logical CPU devices (testing)")
flags.DEFINE_enum("strategy", "auto", STRATEGIES, "distribution strategy; multi_worker reads TF_CONFIG")
flags.DEFINE_string("model_dir", None, "run directory (default runs/<model>_x<scale>)")
flags.DEFINE_integer("eval_every", None, "validate every N steps (and at the end)")
flags.DEFINE_integer("save_every", None, "checkpoint every N steps (and at the end)")
flags.DEFINE_integer("log_every", None, "progress line every N steps when not on a terminal")
flags.DEFINE_integer("max_eval_images", None, "validate on at most this many images")
flags.DEFINE_integer("seed", None, "random seed")
flags.DEFINE_bool("cache", None, "keep decoded training images in memory (default true)")
flags.DEFINE_string("export_dir", None, "also write a TF Serving SavedModel here at the end")
flags.DEFINE_bool("mixed_precision", None, "mixed precision (float16 on GPU, bfloat16 on CPU)")
flags.DEFINE_integer("mmsr_class", None, "MMSR: train the SRGAN of this TVAT class on the training tiles of "
                     "that class (depth from --mmsr_depths)")
flags.DEFINE_integer("mmsr_tile", None, "MMSR: LR tile size the training images are cut into")
flags.DEFINE_integer("mmsr_overlap", None, "MMSR: overlap of the training tiles")
flags.DEFINE_list("mmsr_boundaries", None, "MMSR: TVAT class boundaries (default 2,4)")
flags.DEFINE_float("mmsr_threshold", None, "MMSR: TVAT threshold (default 4 in sr_keras's [0, 8] pixel scale)")
flags.DEFINE_list("mmsr_depths", None, "MMSR: X-Y depth per class (default 4-6,16-8,16-8)")
flags.mark_flag_as_required("model")
FLAGS = flags.FLAGS

_PASSED_THROUGH = ("data", "data_dir", "lr_dir", "valid_dir", "div2k_track", "crop_size", "batch_size", "steps",
                   "learning_rate", "decay_factor", "loss", "num_filters", "num_res_blocks", "discriminator_layers",
                   "discriminator_filters", "pool_size", "eval_pool_size", "content_loss", "adv_weight", "d_steps",
                   "generator_weights", "vgg_weights", "gpus", "cpu_replicas", "strategy", "eval_every",
                   "save_every", "log_every", "max_eval_images", "seed", "cache", "export_dir", "mixed_precision",
                   "mmsr_class", "mmsr_tile", "mmsr_overlap", "mmsr_threshold")


def parse_depth(text):
    """'16-8' -> (16, 8): X generator residual blocks, Y discriminator conv layers."""
    try:
        blocks, layers = (int(v) for v in text.split("-"))
    except ValueError:
        raise ValueError(f"an MMSR depth is written X-Y (e.g. 16-8), got {text!r}") from None
    return blocks, layers


def config_from_flags(flag_values):
    """Builds the `TrainConfig` from parsed flags (only flags the user set override the paper defaults)."""
    from sr_keras.training.config import make_config

    changes = {name: flag_values[name].value for name in _PASSED_THROUGH}
    changes["scale"] = flag_values.scale
    if flag_values.scales:
        changes["scales"] = tuple(int(s) for s in flag_values.scales)
    if flag_values.decay_steps is not None:
        changes["decay_steps"] = tuple(int(float(s)) for s in flag_values.decay_steps)
    if flag_values.mmsr_boundaries is not None:
        changes["mmsr_boundaries"] = tuple(float(b) for b in flag_values.mmsr_boundaries)
    if flag_values.mmsr_depths is not None:
        changes["mmsr_depths"] = tuple(parse_depth(d) for d in flag_values.mmsr_depths)
    suffix = f"_mmsr{flag_values.mmsr_class}" if flag_values.mmsr_class is not None else ""
    model_dir = flag_values.model_dir or os.path.join("runs", f"{flag_values.model}{suffix}_x{flag_values.scale}")
    return make_config(flag_values.model, model_dir, **changes)


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from sr_keras.data.io import DataError, ImageReadError
    from sr_keras.training import NonFiniteLossError, train

    try:
        config = config_from_flags(FLAGS)
        train(config)
    except (ValueError, DataError, ImageReadError, FileNotFoundError, PermissionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    run()
