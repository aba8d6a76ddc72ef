"""Prints the README's model table: every registered model at its paper configuration, with parameter counts.

    python tools/model_table.py
"""
import inspect
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sr_keras.models import MODELS, count_params, get_spec  # noqa: E402


def main():
    print("| `--model` | paper | default configuration | scales | trainable | non-trainable |")
    print("| --- | --- | --- | --- | ---: | ---: |")
    for name, spec in MODELS.items():
        if spec.kind == "discriminator":
            built = spec.builder()
            # SRGAN's and ESRGAN's see a fixed crop; the U-Net one any size that is a multiple of 8
            parameters = inspect.signature(spec.builder).parameters
            if "input_size" in parameters:  # ESRGAN's: 128 or 256
                config = f"{parameters['input_size'].default}x{parameters['input_size'].default} HR input"
            elif "hr_size" in parameters:
                config = "96x96 HR input"
            else:
                config = "any size (a multiple of 8), per-pixel logits"
        elif spec.kind == "multiscale_generator":
            built = spec.builder()
            config = "scales 2+3+4, shared body"
        else:
            built = spec.builder(scale=4)
            config = "x4"
        parameters = inspect.signature(spec.builder).parameters.values()
        shown = {p.name: p.default for p in parameters if p.name not in ("name", "scale", "scales")
                 and p.default is not None}  # None: "the original's constant" (e.g. WDSR's rgb_mean)
        config += ", " + ", ".join(f"{k}={v}" for k, v in shown.items())
        scales = "/".join(f"x{s}" for s in get_spec(name).scales) or "-"
        print(f"| `{name}` | {spec.paper} | {config} | {scales} | {count_params(built, True):,} | "
              f"{count_params(built, False):,} |")


if __name__ == "__main__":
    main()
