"""An exponential moving average of generator weights, as BasicSR's ``model_ema`` keeps ``net_g_ema``.

Real-ESRGAN (and every BasicSR model with ``ema_decay``) validates, saves and publishes the averaged weights
(``params_ema``), updated after every optimizer step as ``ema = decay * ema + (1 - decay) * weights`` and
started as a copy of the weights the run begins from (after ``--init_from``). Only trainable variables are
averaged, as BasicSR averages ``named_parameters()``; non-trainable state (batch-norm statistics) is taken
from the live model when a copy is made.
"""
import tensorflow as tf

from sr_keras.models.precision import float32_copy


class WeightEMA(tf.Module):
    """Averages of `variables`; create it under the strategy's scope (the averages are mirrored like them).

    Args:
        variables: the trainable variables to average (each once).
        decay: the decay, in [0, 1).
    """

    def __init__(self, variables, decay):
        super().__init__(name="generator_ema")
        self.decay = float(decay)
        self._sources = list(variables)
        self.averages = [tf.Variable(tf.convert_to_tensor(v), trainable=False, name=f"ema_{i}")
                         for i, v in enumerate(self._sources)]

    def update(self):
        """One step of the average (call after the optimizer step)."""
        for average, source in zip(self.averages, self._sources):
            average.assign(self.decay * average + (1.0 - self.decay) * tf.cast(source, average.dtype))

    def averaged_copy(self, model):
        """A float32 copy of `model` whose trainable weights are the averages (the model is left untouched)."""
        copy = float32_copy(model, always_copy=True)
        by_path = {source.path: average for source, average in zip(self._sources, self.averages)}
        for variable in copy.trainable_variables:
            if variable.path in by_path:
                variable.assign(tf.cast(by_path[variable.path], variable.dtype))
        return copy
