"""MMSR's own settings (seed 001): how training images are cut into tiles, the TVAT classes and the "X-Y"
depth of each class's SRGAN. The training settings of each class model are an ordinary `TrainConfig`."""
import dataclasses
from typing import Optional

from sr_keras.checks import ConfigError, integer, positive_int
from sr_keras.data.tvat import DEFAULT_BOUNDARIES, DEFAULT_THRESHOLD
from sr_keras.training.config import setting

# The GAN each TVAT class trains (the seed's design: one SRGAN per class, its depth set per class below).
MMSR_MODEL = "srgan"
# Per TVAT class, the "X-Y" depth of its SRGAN (X generator residual blocks, Y discriminator conv layers).
# Defaults: the depth that won most often per class in the seed's Table 1 (TVAT < 2: 4-6 in 5 of 8 fragments;
# 2-4: 16-8 in 2 of 3; > 4: 16-8 in 4 of 5).
MMSR_DEPTHS = ((4, 6), (16, 8), (16, 8))
# Without --mmsr_boundaries the boundaries are calibrated so that the training tiles fall into this many equal
# classes. The seed's fixed boundaries (2 and 4, `DEFAULT_BOUNDARIES` in sr_keras's pixel scale) split the
# embedded training photos' tiles 42 / 9 / 48 %, not the thirds they were chosen for: where the boundaries
# fall depends on the data, so the default measures it.
CALIBRATED_CLASSES = 3
PAPER_BOUNDARIES = DEFAULT_BOUNDARIES


@dataclasses.dataclass(frozen=True)
class MMSRConfig:
    """The MMSR system's settings (flags `--mmsr_*`)."""

    tile: int = setting(32, "MMSR: LR tile size the training images are cut into", flag="mmsr_tile")
    overlap: int = setting(8, "MMSR: overlap of the training tiles", flag="mmsr_overlap")
    boundaries: Optional[tuple] = setting(None, "MMSR: TVAT class boundaries (default: calibrated on the training "
                                          "tiles into three equal classes; the seed's fixed ones: 2,4)",
                                          flag="mmsr_boundaries", item=float)
    threshold: float = setting(DEFAULT_THRESHOLD, "MMSR: TVAT threshold (4 in sr_keras's [0, 8] pixel scale)",
                               flag="mmsr_threshold")
    depths: tuple = setting(MMSR_DEPTHS, "MMSR: X-Y depth per class (default 4-6,16-8,16-8)", flag="mmsr_depths")
    only_class: Optional[int] = setting(None, "MMSR: train only this TVAT class (one class per node)",
                                        flag="mmsr_class")

    @property
    def num_classes(self):
        return len(self.boundaries) + 1 if self.boundaries else CALIBRATED_CLASSES


def parse_depth(text):
    """'16-8' -> (16, 8): X generator residual blocks, Y discriminator conv layers."""
    if isinstance(text, (tuple, list)):
        return tuple(int(v) for v in text)
    try:
        blocks, layers = (int(v) for v in str(text).split("-"))
    except ValueError:
        raise ConfigError("mmsr_depths", f"a depth is written X-Y (e.g. 16-8), got {text!r}") from None
    return blocks, layers


def make_mmsr_config(**values):
    """A checked `MMSRConfig` from flag-named values (`mmsr_tile=16`, `mmsr_depths=("4-6", "16-8", ...)`)."""
    names = {f.metadata["flag"]: f.name for f in dataclasses.fields(MMSRConfig)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(unknown[0], "is not an MMSR setting")
    fields = {names[k]: v for k, v in values.items() if v is not None}
    if "depths" in fields:
        fields["depths"] = tuple(parse_depth(d) for d in fields["depths"])
    if "boundaries" in fields:
        fields["boundaries"] = tuple(float(b) for b in fields["boundaries"])
    config = MMSRConfig(**fields)
    positive_int(config.tile, "mmsr_tile", error=ConfigError)
    integer(config.overlap, "mmsr_overlap", minimum=0, error=ConfigError)
    if config.overlap >= config.tile:
        raise ConfigError("mmsr_overlap", f"must be smaller than mmsr_tile ({config.tile}), got {config.overlap}")
    if config.boundaries is not None and list(config.boundaries) != sorted(config.boundaries):
        raise ConfigError("mmsr_boundaries", f"must be increasing, got {config.boundaries}")
    if len(config.depths) != config.num_classes:
        raise ConfigError("mmsr_depths", f"needs {config.num_classes} X-Y depths (one per class), got "
                                         f"{len(config.depths)}")
    if config.only_class is not None:
        integer(config.only_class, "mmsr_class", minimum=0, error=ConfigError)
        if config.only_class >= config.num_classes:
            raise ConfigError("mmsr_class", f"must be between 0 and {config.num_classes - 1}, got "
                                            f"{config.only_class}")
    return config
