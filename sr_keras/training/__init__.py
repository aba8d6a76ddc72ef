"""Training of sr_keras models.

- `config`: the nested `TrainConfig` and `make_config`; `recipes`: the papers' recipes as named data;
- `sources`: training and validation images from the data settings;
- `build`: models, optimizers and the trainer; `trainers`: the distributed steps (`Trainer` base,
  `PixelTrainer`, `GANTrainer`); `losses`; `distribute`: the tf.distribute strategy;
- `run`: `train(config)`; `checkpoints`, `logs`, `progress`: what a run writes and shows.
"""
from sr_keras.checks import ConfigError
from sr_keras.training.config import GAN_MODELS, TRAINABLE_MODELS, TrainConfig, make_config
from sr_keras.training.recipes import PAPER_RECIPES, RECIPES
from sr_keras.training.run import NonFiniteLossError, train

__all__ = ["ConfigError", "GAN_MODELS", "NonFiniteLossError", "PAPER_RECIPES", "RECIPES", "TRAINABLE_MODELS",
           "TrainConfig", "make_config", "train"]
