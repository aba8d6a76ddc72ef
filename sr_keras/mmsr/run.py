"""Training every MMSR class: one after another in this process, or one process per class side by side."""
import json
import os
import subprocess
import sys
import time

from sr_keras.mmsr import training
from sr_keras.mmsr.config import PAPER_BOUNDARIES
from sr_keras.mmsr.training import class_dir
from sr_keras.training import distribute


def train_classes(config, mmsr, parallel=False, forwarded=()):
    """Trains the MMSR class models of `config` and `mmsr` (see `python -m sr_keras.mmsr`) and writes the
    manifest once every class has a final model; returns its path (None when `mmsr.only_class` trains one class).

    The classes run one after another in this process, or with `parallel` as one process per class side by side
    (`python -m sr_keras.mmsr train --mmsr_class=K` with the command-line flags `forwarded` and the boundaries
    chosen here). Progress lines go to stderr.
    """
    training.check(config, mmsr)
    given = mmsr.boundaries
    sets, mmsr = training.tile_sets(config, mmsr)
    print(boundaries_text(mmsr, given), file=sys.stderr)
    training.check_classes(sets, mmsr)
    sizes, steps = {k: len(v) for k, v in sets.items()}, training.class_steps(
        {k: len(v) for k, v in sets.items()}, config.optim.steps)
    for k in range(mmsr.num_classes):
        if mmsr.only_class in (None, k):
            blocks, layers = mmsr.depths[k]
            print(f"class {k}: {sizes[k]} tiles, {steps[k]} steps, depth {blocks}-{layers}", file=sys.stderr)
    if mmsr.only_class is not None:
        training.train_class(config, mmsr, mmsr.only_class, sets)
        return None
    began = time.perf_counter()
    if parallel:
        summaries = _class_processes(config, mmsr, forwarded)
    else:
        strategy = distribute.make_strategy(config.runtime.strategy, config.runtime.gpus, config.runtime.cpu_replicas)
        summaries = {k: training.train_class(config, mmsr, k, sets, strategy) for k in range(mmsr.num_classes)}
    seconds = time.perf_counter() - began
    manifest = training.write_manifest(config, mmsr, sets, summaries, seconds, parallel)
    print(f"MMSR trained in {seconds:.0f} s wall; manifest {manifest}", file=sys.stderr)
    return manifest


def _class_processes(config, mmsr, forwarded):
    """One `python -m sr_keras.mmsr train --mmsr_class=K` process per class, side by side; their summaries."""
    gpus = config.runtime.gpus
    forwarded = [a for a in forwarded if not a.startswith(("--parallel", "--noparallel", "--mmsr_class",
                                                           "--mmsr_boundaries"))]
    forwarded.append("--mmsr_boundaries=" + ",".join(repr(b) for b in mmsr.boundaries))  # the ones chosen here
    jobs = {}
    for k in range(mmsr.num_classes):
        command = [sys.executable, "-m", "sr_keras.mmsr", "train", f"--mmsr_class={k}",
                   f"--model_dir={config.runtime.model_dir}", *forwarded]
        env = dict(os.environ)
        if gpus:  # side by side: process k gets GPU k mod N to itself
            env["CUDA_VISIBLE_DEVICES"] = str(k % gpus)
            command = [a for a in command if not a.startswith("--gpus")] + ["--gpus=1"]
        jobs[k] = subprocess.Popen(command, env=env)
    for k, job in jobs.items():
        if job.wait():
            raise RuntimeError(f"class {k} training failed (exit {job.returncode})")
    summaries = {}
    for k in jobs:
        with open(os.path.join(class_dir(config, k), "summary.json")) as handle:
            summaries[k] = json.load(handle)
    return summaries


def boundaries_text(mmsr, given):
    """How the TVAT class boundaries were chosen, in one line (`given`: the ones the user set, or None)."""
    values = ", ".join(f"{b:g}" for b in mmsr.boundaries)
    if given is not None:
        return f"TVAT boundaries {values} (--mmsr_boundaries)"
    paper = ",".join(f"{b:g}" for b in PAPER_BOUNDARIES)
    return (f"TVAT boundaries {values}, calibrated on the training tiles into {mmsr.num_classes} equal classes "
            f"(the seed's fixed ones: --mmsr_boundaries={paper})")
