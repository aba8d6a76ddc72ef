"""Training of sr_keras models: configuration, trainers, distribution, checkpoints and the run loop."""
from sr_keras.training.config import GAN_MODELS, PAPER_DEFAULTS, TRAINABLE_MODELS, TrainConfig, make_config
from sr_keras.training.loop import NonFiniteLossError, train

__all__ = ["GAN_MODELS", "NonFiniteLossError", "PAPER_DEFAULTS", "TRAINABLE_MODELS", "TrainConfig", "make_config",
           "train"]
