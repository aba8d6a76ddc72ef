"""Training of sr_keras models.

- `config`: the nested `TrainConfig` and `make_config`; `validation`: its checks; `recipes`: the papers'
  recipes as named data;
- `sources`: training and validation images from the data settings;
- `build`: models, optimizers and the trainer (`build_trainer(config)`: `trainer.step(lr, hr)` runs one update
  on given batches, `trainer.optimizer_state()` reads Adam's moments); `trainers`: the distributed steps
  (`Trainer` base, `PixelTrainer`, `GANTrainer`, `RealESRGANTrainer`); `optimizers`: Adam with epsilon where
  the original had it, the learning-rate schedule; `losses`; `ema`; `distribute`: the tf.distribute strategy;
- `run`: `train(config)`; `checkpoints`, `logs`, `progress`: what a run writes and shows.
"""
from sr_keras._quiet import import_tensorflow

import_tensorflow()  # before the first TensorFlow or Keras import: quietly (sr_keras/_quiet.py)
from sr_keras.checks import ConfigError
from sr_keras.training.build import build_trainer
from sr_keras.training.config import GAN_MODELS, TRAINABLE_MODELS, TrainConfig, make_config
from sr_keras.training.recipes import PAPER_RECIPES, RECIPES
from sr_keras.training.run import NonFiniteLossError, train

__all__ = ["ConfigError", "GAN_MODELS", "NonFiniteLossError", "PAPER_RECIPES", "RECIPES", "TRAINABLE_MODELS",
           "TrainConfig", "build_trainer", "make_config", "train"]
