"""The run's optimizer: Adam with epsilon where the original had it, and the learning-rate schedule.

Keras and PyTorch write Adam's update with the same moments but put epsilon in different places:

- PyTorch (`torch.optim.Adam`, what EDSR-PyTorch, wdsr_ntire2018 and BasicSR train with):
  ``w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``;
- Keras (`keras.optimizers.Adam`, and TensorFlow 1's `tf.train.AdamOptimizer`, what the TensorFlow originals
  train with): ``w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.

The second is the first with epsilon divided by ``sqrt(1 - b2^t)``: 32 times larger at the first step with
b2 = 0.999, still 1.6 times larger after 1,000 steps. Where gradients are small (biases, late training) the
two runs part. `Adam` here computes either; each recipe picks its original's (`--optimizer`,
`OPTIMIZERS`).
"""
import keras

# --optimizer value -> where Adam's epsilon sits.
OPTIMIZERS = {"torch_adam": "torch", "keras_adam": "keras"}


@keras.saving.register_keras_serializable(package="sr_keras")
class Adam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with a choice of where epsilon is added.

    The moments, their initialisation (zeros), the step count (1 at the first update) and the variables (so
    checkpoints) are Keras's own; only the last line of the update differs with `epsilon_placement="torch"`.

    Args:
        learning_rate: a float or a `keras.optimizers.schedules.LearningRateSchedule`.
        beta_1, beta_2, epsilon: as `keras.optimizers.Adam` (epsilon 1e-8 as PyTorch's and the papers').
        epsilon_placement: "torch": added to the bias-corrected ``sqrt(v_hat)`` (`torch.optim.Adam`);
            "keras": added to ``sqrt(v)`` before the bias correction (`keras.optimizers.Adam`).
        **kwargs: passed to `keras.optimizers.Adam`.
    """

    def __init__(self, learning_rate=1e-4, beta_1=0.9, beta_2=0.999, epsilon=1e-8, epsilon_placement="torch",
                 **kwargs):
        if epsilon_placement not in OPTIMIZERS.values():
            raise ValueError(f"epsilon_placement must be 'torch' or 'keras', got {epsilon_placement!r}")
        kwargs.pop("amsgrad", None)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.epsilon_placement = epsilon_placement

    def update_step(self, gradient, variable, learning_rate):
        if self.epsilon_placement == "keras":
            return super().update_step(gradient, variable, learning_rate)
        ops = keras.ops
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        correction_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        correction_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), step)
        m, v = self.moments(variable)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        denominator = ops.add(ops.divide(ops.sqrt(v), ops.sqrt(correction_2)), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(m, lr / correction_1), denominator))

    def moments(self, variable):
        """(m, v): Adam's first and second moment variables of `variable` (built by `build`)."""
        index = self._get_variable_index(variable)
        return self._momentums[index], self._velocities[index]

    def get_config(self):
        config = super().get_config()
        config["epsilon_placement"] = self.epsilon_placement
        return config


def learning_rate_schedule(learning_rate, decay_steps=(), decay_factor=0.5):
    """The learning rate, multiplied by `decay_factor` after each of `decay_steps` updates.

    `decay_steps=(200_000,)` means updates 1 to 200,000 use `learning_rate` and update 200,001 on uses it
    halved, as EDSR-PyTorch's `MultiStepLR` stepped every 1,000 updates with milestone 200. A Keras optimizer
    asks its schedule with the number of updates done so far (0 at the first), and `PiecewiseConstantDecay`
    keeps the first value up to and including a boundary, hence the boundaries one below the steps.
    """
    if not decay_steps:
        return learning_rate
    values = [learning_rate * decay_factor ** i for i in range(len(decay_steps) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay([int(s) - 1 for s in decay_steps], values)


def make_optimizer(optim):
    """The optimizer an `OptimConfig` describes: `Adam` (0.9, `beta_2`, eps 1e-8) with epsilon placed as
    `optim.optimizer` says and the learning rate schedule of `learning_rate_schedule`; wrapped in a
    `LossScaleOptimizer` under the `mixed_float16` policy (the trainers scale their losses for it)."""
    schedule = learning_rate_schedule(optim.learning_rate, optim.decay_steps, optim.decay_factor)
    optimizer = Adam(schedule, beta_1=0.9, beta_2=optim.beta_2, epsilon=1e-8,
                     epsilon_placement=OPTIMIZERS[optim.optimizer])
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def adam_state(optimizer, variables):
    """{"iterations", "learning_rate", "m": {path: array}, "v": {path: array}} of an `Adam` (or of the `Adam`
    inside a `LossScaleOptimizer`) for `variables`; "learning_rate" is the rate of the next update."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    moments = {variable.path: inner.moments(variable) for variable in variables}
    iterations = int(inner.iterations.numpy())
    return {"iterations": iterations, "learning_rate": float(keras.ops.convert_to_numpy(inner.learning_rate)),
            "m": {path: keras.ops.convert_to_numpy(m) for path, (m, _) in moments.items()},
            "v": {path: keras.ops.convert_to_numpy(v) for path, (_, v) in moments.items()}}
