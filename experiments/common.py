"""Shared pieces of the CPU-scale reproductions in this folder: runs, results files and figures.

The scripts (`wdsr_vs_edsr.py`, `crop_size.py`, `pool_size.py`, `replicas.py`) import this module by name, so
run them as `python experiments/<script>.py` from the repository root. Results (JSON and PNG) go to
`docs/experiments/`; training runs go to a scratch folder (`--work_dir`, default under the system temp dir).
"""
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "docs" / "experiments"
EXPERIMENTS_DIR = ROOT / "experiments"
METRIC_KEYS = ("psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y")


def default_work_dir(name):
    """Scratch folder for the training runs of experiment `name`."""
    return os.path.join(tempfile.gettempdir(), "sr_keras_experiments", name)


def quiet_tensorflow():
    """Keeps TensorFlow's Python logger to errors (retracing notes when many models are compared)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def machine():
    """What the numbers were measured on."""
    import keras
    import tensorflow as tf

    return {
        "date": datetime.date.today().isoformat(),
        "cpu_cores": os.cpu_count(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(name, payload):
    """Writes `docs/experiments/<name>.json` (payload plus the machine) and returns its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = dict(payload, machine=machine(), command=" ".join(["python"] + [_relative(a) for a in sys.argv]))
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=2)
        handle.write("\n")
    print(f"wrote {_relative(str(path))}")
    return path


def _relative(text):
    try:
        return str(pathlib.Path(text).resolve().relative_to(ROOT))
    except ValueError:
        return text


def read_events(model_dir):
    """The events of a run's metrics.jsonl (start, validation, end), in order."""
    with open(os.path.join(model_dir, "metrics.jsonl")) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def validation_curve(events, scale=None):
    """[{"step", psnr_rgb, ssim_rgb, psnr_y, ssim_y}] of the run's validation events (one scale)."""
    curve = []
    for event in events:
        if event["event"] == "validation" and (scale is None or event["scale"] == scale):
            curve.append({"step": event["step"], **{k: round(event["model"][k], 4) for k in METRIC_KEYS}})
    return curve


def rounded(metrics_mean, digits=4):
    """A validation mean dict with its metrics rounded (and num_images kept)."""
    out = {k: round(float(metrics_mean[k]), digits) for k in METRIC_KEYS}
    if "num_images" in metrics_mean:
        out["num_images"] = int(metrics_mean["num_images"])
    return out


def run_train_cli(args, log_path, env=None, cwd=ROOT):
    """Runs `python -m sr_keras.train ARGS` in a child process (in `cwd`); returns its wall-clock seconds.

    Raises:
        RuntimeError: the run failed (the end of its log is in the message).
    """
    began = time.perf_counter()
    with open(log_path, "w") as log:
        result = subprocess.run([sys.executable, "-m", "sr_keras.train", *args], stdout=log,
                                stderr=subprocess.STDOUT, cwd=cwd, env=dict(os.environ, **(env or {})))
    seconds = time.perf_counter() - began
    if result.returncode:
        with open(log_path) as log:
            tail = log.read()[-2000:]
        raise RuntimeError(f"training failed (exit {result.returncode}), log {log_path}:\n{tail}")
    return seconds


def held_out_photos(scale):
    """The embedded validation photos (never trained on): [(name, lr float32, hr float32)]."""
    from sr_keras.data import embedded_photos
    from sr_keras.evaluation import load_pairs

    return [(os.path.basename(path), lr, hr) for path, lr, hr in load_pairs(embedded_photos("valid", scale))]


def super_resolve(model, lr, pool_size=None):
    """uint8 SR of one float LR image (FSA pool size set for the call, then restored)."""
    import numpy as np

    from sr_keras.inference import predict
    from sr_keras.layers import FlexibleSelfAttention, iter_layers, set_pool_size

    pools = [layer.pool_size for layer, _ in iter_layers(model) if isinstance(layer, FlexibleSelfAttention)]
    if pool_size is not None and pools:
        set_pool_size(model, pool_size)
    try:
        sr = predict(model, lr)
    finally:
        if pool_size is not None and pools:
            set_pool_size(model, pools[0])
    return np.clip(np.round(sr), 0, 255).astype("uint8")


def bicubic(lr, scale):
    """uint8 MATLAB-bicubic upscaling of one float LR image."""
    import numpy as np

    from sr_keras.data.degrade import imresize

    return np.clip(np.round(imresize(lr, scale=float(scale)).numpy()), 0, 255).astype("uint8")


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display)."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("the figures need matplotlib: pip install '.[experiments]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.grid": True, "grid.alpha": 0.3, "savefig.dpi": 120})
    return plt


def save_figure(fig, name):
    """Saves `docs/experiments/<name>.png` and closes the figure."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.png"
    fig.savefig(path, bbox_inches="tight")
    pyplot().close(fig)
    print(f"wrote {_relative(str(path))}")
    return path


def plot_curves(curves, bicubic_psnr, title, name, metric="psnr_rgb", columns=None):
    """PSNR-vs-step curves, one line per run; `curves` maps a label to `validation_curve` rows.

    With `columns` ({panel title: [labels]}), one panel per group, sharing the y axis.
    """
    plt = pyplot()
    groups = columns or {"": list(curves)}
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups) + 1.0, 3.8), sharey=True, squeeze=False)
    label = {"psnr_rgb": "validation PSNR, RGB (dB)", "psnr_y": "validation PSNR, Y (dB)"}[metric]
    for ax, (panel, group) in zip(axes[0], groups.items()):
        ax.set_title(panel, fontsize=9)
        for run in group:
            rows = curves[run]
            ax.plot([r["step"] for r in rows], [r[metric] for r in rows], marker="o", markersize=3, label=run)
        ax.axhline(bicubic_psnr, color="black", linestyle="--", linewidth=1, label="bicubic")
        ax.set_xlabel("training step")
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.legend(fontsize=8, loc="lower right")
    axes[0][0].set_ylabel(label)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, name)


def comparison_figure(hr, box, panels, title, name):
    """Seed 000 Fig. 6 style: the whole HR photo with a box, then the boxed crop of each method.

    Args:
        hr: uint8 HR image.
        box: (top, left, size) of the square crop in HR pixels.
        panels: [(label, uint8 image at HR size, metrics dict or None)], e.g. bicubic, models, then HR.
        title: figure title.
        name: file name under docs/experiments (no extension).
    """
    plt = pyplot()
    top, left, size = box
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(2.6 * (len(panels) + 1), 3.3))
    axes[0].imshow(hr)
    axes[0].add_patch(plt.Rectangle((left, top), size, size, fill=False, edgecolor="red", linewidth=1.5))
    axes[0].set_title("HR (whole photo)", fontsize=9)
    for ax, (label, image, scores) in zip(axes[1:], panels):
        ax.imshow(image[top:top + size, left:left + size], interpolation="nearest")
        text = label if scores is None else f"{label}\nPSNR {scores['psnr_rgb']:.2f} SSIM {scores['ssim_rgb']:.3f}"
        ax.set_title(text, fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, name)
