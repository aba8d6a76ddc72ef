"""Distributed train steps: one `Trainer` base, `PixelTrainer` (EDSR, MDSR, WDSR, SRResNet, A-SRResNet) and
`GANTrainer` (SRGAN, A-SRGAN).

The base owns what every step shares, following the tf.distribute custom-loop rules: models and optimizers
are created inside `strategy.scope()` and optimizers are built on their variables there before the first
step; each replica computes per-example losses and averages them over the *global* batch
(`tf.nn.compute_average_loss`); `minimise` scales the loss for the optimizer (`optimizer.scale_loss`: the
dynamic loss scale of a `LossScaleOptimizer` under `mixed_float16`, the identity otherwise), takes the
gradients and applies them (`apply_gradients` all-reduces them across replicas and, for a
`LossScaleOptimizer`, unscales them and skips non-finite steps); the per-replica losses are summed across
replicas. Subclasses only say what each replica computes (`replica_step`).
"""
import keras
import tensorflow as tf

from sr_keras.data.kernels import usm_sharpen
from sr_keras.models.precision import float32_copy
from sr_keras.training import losses
from sr_keras.training.ema import WeightEMA
from sr_keras.training.optimizers import adam_state


def _average(per_example, global_batch_size):
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


def unique_trainable(models):
    """The trainable variables of several models, each shared variable once (MDSR's scales share layers)."""
    seen, variables = set(), []
    for model in models:
        for variable in model.trainable_variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


class Trainer:
    """The distributed step shared by every trainer.

    Args:
        strategy: the tf.distribute strategy the models and optimizers were created under.
        generators: {scale: generator}; MDSR passes all its scales (sharing layers), other models one.
        optimizers: {name: optimizer}, each created under `strategy.scope()`; built here on `variables[name]`.
        variables: {name: list of variables} the optimizer of the same name updates.
        global_batch_size: the batch size summed over replicas.
    """

    def __init__(self, strategy, generators, optimizers, variables, global_batch_size):
        self.strategy = strategy
        self.generators = dict(generators)
        self.optimizers = dict(optimizers)
        self.global_batch_size = global_batch_size
        self.ema = None
        self._variables = {name: list(variables[name]) for name in self.optimizers}
        self.checkpoint_parts = dict(self.optimizers)
        self.init_report = None
        with strategy.scope():
            for name, optimizer in self.optimizers.items():
                optimizer.build(variables[name])
        self.compile_step()

    def compile_step(self, jit_compile=False):
        """(Re)makes the step's graph function; `jit_compile=True` compiles it with XLA (see `train
        --jit_compile`). The step's code branches on Python values only, so it skips AutoGraph (as the data
        pipelines do, `sr_keras.data.pipeline`)."""
        self._step = tf.function(self._distributed_step, jit_compile=jit_compile, autograph=False)

    def keep_ema(self, decay):
        """Keeps a `WeightEMA` of the generators' weights from now on (call before the first step)."""
        with self.strategy.scope():
            self.ema = WeightEMA(unique_trainable(self.generators.values()), decay)
        return self.ema

    def generator_for_export(self, scale):
        """The generator of `scale` as validated and saved: float32, with the averaged weights under EMA."""
        generator = self.generators[scale]
        return float32_copy(generator) if self.ema is None else self.ema.averaged_copy(generator)

    def average(self, per_example):
        """The mean of per-example losses over the global batch (this replica's share of it)."""
        return _average(per_example, self.global_batch_size)

    def minimise(self, optimizer, variables, compute_loss):
        """One optimizer update of `variables` on the loss `compute_loss()` returns (per replica).

        The loss is scaled for the optimizer before differentiation, so a `LossScaleOptimizer` receives scaled
        gradients, as it expects. Returns the unscaled loss.
        """
        with tf.GradientTape() as tape:
            loss = compute_loss()
            scaled = optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    def replica_step(self, scale, lr, hr):
        """What one replica computes and updates for one batch; returns {name: loss}. Subclasses define it."""
        raise NotImplementedError

    def _distributed_step(self, scale, lr, hr):
        per_replica = self.strategy.run(self.replica_step, args=(scale, lr, hr))
        if self.ema is not None:
            self.ema.update()
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}

    def train_step(self, scale, batch):
        """One optimisation step on a distributed batch (lr, hr) of `scale`; returns the mean losses."""
        lr, hr = batch
        return self._step(scale, lr, hr)

    def step(self, lr, hr, scale=None):
        """One optimisation step on the global batch `lr`, `hr` (arrays or tensors [B, h, w, 3] and
        [B, h * scale, w * scale, 3], RGB in [0, 255]); returns {loss name: float}.

        `scale` picks MDSR's member (default: the only or first scale). The batch is split over the strategy's
        replicas as a training dataset would be.
        """
        scale = scale or next(iter(self.generators))
        if scale not in self.generators:
            raise ValueError(f"scale {scale} is not trained here (scales {sorted(self.generators)})")
        lr, hr = tf.convert_to_tensor(lr, tf.float32), tf.convert_to_tensor(hr, tf.float32)
        if lr.shape.rank != 4 or hr.shape.rank != 4 or lr.shape[0] != self.global_batch_size or \
                hr.shape[0] != lr.shape[0] or hr.shape[1:3] != [lr.shape[1] * scale, lr.shape[2] * scale]:
            raise ValueError(f"lr and hr must be batches of {self.global_batch_size} images with hr {scale}x the "
                             f"size of lr; got {lr.shape.as_list()} and {hr.shape.as_list()}")
        if self.strategy.num_replicas_in_sync == 1:
            batch = (lr, hr)
        else:
            dataset = tf.data.Dataset.from_tensors((lr, hr))
            batch = next(iter(self.strategy.experimental_distribute_dataset(dataset)))
        return {name: float(value) for name, value in self.train_step(scale, batch).items()}

    def optimizer_state(self):
        """{optimizer name: {"iterations", "learning_rate" (of the next update), "m": {variable path: array},
        "v": {...}}}: Adam's moments of every variable each optimizer updates."""
        return {name: adam_state(optimizer, self._variables[name]) for name, optimizer in self.optimizers.items()}


class PixelTrainer(Trainer):
    """Pixel-loss training of one generator, or of MDSR's per-scale generators sharing one optimizer.

    Args:
        strategy: the tf.distribute strategy everything was created under.
        generators: {scale: model}.
        optimizer: a Keras optimizer created under `strategy.scope()`.
        loss: "l1" or "mse".
        global_batch_size: the batch size summed over replicas.
        usm_target: compare with the USM-sharpened HR (Real-ESRGAN's ``gt_usm``).
        loss_range: the pixel loss compares pixels in [0, 1] or [0, 255] (`losses.pixel_loss`).
    """

    def __init__(self, strategy, generators, optimizer, loss, global_batch_size, usm_target=False, loss_range=1):
        self.loss = loss
        self.usm_target = usm_target
        self.loss_range = loss_range
        variables = unique_trainable(dict(generators).values())
        super().__init__(strategy, generators, {"g_optimizer": optimizer}, {"g_optimizer": variables},
                         global_batch_size)

    @property
    def optimizer(self):
        return self.optimizers["g_optimizer"]

    def replica_step(self, scale, lr, hr):
        model = self.generators[scale]
        target = usm_sharpen(hr) if self.usm_target else hr
        loss = self.minimise(self.optimizer, model.trainable_variables,
                             lambda: self.average(losses.pixel_loss(model(lr, training=True), target, self.loss,
                                                                    self.loss_range)))
        return {"loss": loss}


class GANTrainer(Trainer):
    """SRGAN / A-SRGAN training: a discriminator and a generator update per step, in either original's order.

    - `order="d_first"` (seed 000's TensorFlow code): SR is computed once; the discriminator is updated
      `d_steps` times on (HR, SR) with BCE, then the generator against the freshly updated discriminator with
      content + `adv_weight` * -log D(SR).
    - `order="g_first"` (BasicSR's ``SRGANModel.optimize_parameters``): the generator is updated first against
      the current discriminator, then the discriminator `d_steps` times on HR and on the SR computed before the
      generator's update (``self.output.detach()``). BasicSR's discriminator is in training mode in both
      updates, so its batch-norm statistics move with the generator's pass too; here as well.

    Both take BCE from the discriminator's logits (PyTorch's ``BCEWithLogitsLoss``, BasicSR's vanilla
    ``GANLoss``), so neither Keras's probability clipping nor PyTorch's log clamp at -100 comes into play.

    Args:
        strategy: the strategy everything was created under.
        generators: {scale: generator} with one entry.
        discriminator: the discriminator model (probability output; its logits are taken from the layer feeding
            the sigmoid).
        g_optimizer, d_optimizer: Keras optimizers created under `strategy.scope()`.
        content_loss: "mse" (on [-1, 1] pixels), "vgg22" or "vgg54".
        adv_weight: weight of the adversarial generator loss (1e-3 in SRGAN).
        d_steps: discriminator updates per generator update.
        global_batch_size: the batch size summed over replicas.
        vgg_features: the frozen VGG feature model for VGG content losses.
        vgg_scale: "per_element" or "per_position" (`losses.vgg_loss`).
        order: "d_first" or "g_first".
    """

    def __init__(self, strategy, generators, discriminator, g_optimizer, d_optimizer, content_loss, adv_weight,
                 d_steps, global_batch_size, vgg_features=None, vgg_scale="per_element", order="d_first"):
        if content_loss != "mse" and vgg_features is None:
            raise ValueError(f"content loss {content_loss!r} needs vgg_features")
        if len(generators) != 1:
            raise ValueError(f"GANTrainer trains one generator, got scales {sorted(generators)}")
        if order not in ("d_first", "g_first"):
            raise ValueError(f"order must be 'd_first' or 'g_first', got {order!r}")
        (self.generator,) = generators.values()
        self.discriminator = discriminator
        with strategy.scope():
            self.d_logits = keras.Model(discriminator.input, discriminator.get_layer("probability").input,
                                        name=f"{discriminator.name}_logits")
        self.content_loss = content_loss
        self.adv_weight = float(adv_weight)
        self.d_steps = int(d_steps)
        self.vgg_features = vgg_features
        self.vgg_scale = vgg_scale
        self.order = order
        super().__init__(strategy, generators, {"g_optimizer": g_optimizer, "d_optimizer": d_optimizer},
                         {"g_optimizer": self.generator.trainable_variables,
                          "d_optimizer": discriminator.trainable_variables}, global_batch_size)

    def _content(self, sr, hr):
        if self.content_loss == "mse":
            return losses.srgan_mse_loss(sr, hr)
        return losses.vgg_loss(self.vgg_features, sr, hr, self.vgg_scale)

    def replica_step(self, scale, lr, hr):
        del scale
        g_optimizer, d_optimizer = self.optimizers["g_optimizer"], self.optimizers["d_optimizer"]
        parts = {}

        def discriminator_steps(fake):
            def discriminator_loss():
                real_logits = self.d_logits(hr, training=True)
                fake_logits = self.d_logits(fake, training=True)
                return self.average(losses.discriminator_loss(real_logits, fake_logits))

            for _ in range(self.d_steps):
                parts["d_loss"] = self.minimise(d_optimizer, self.discriminator.trainable_variables,
                                                discriminator_loss)

        def generator_loss():
            sr = self.generator(lr, training=True)
            parts["sr"] = tf.stop_gradient(sr)
            if self.order == "d_first":  # D on this step's SR, then G against the updated D
                discriminator_steps(parts["sr"])
            parts["content"] = self.average(self._content(sr, hr))
            parts["adversarial"] = self.average(losses.generator_adversarial_loss(self.d_logits(sr, training=True)))
            return parts["content"] + self.adv_weight * parts["adversarial"]

        g_loss = self.minimise(g_optimizer, self.generator.trainable_variables, generator_loss)
        if self.order == "g_first":
            discriminator_steps(parts["sr"])
        return {"g_loss": g_loss, "d_loss": parts["d_loss"], "content": parts["content"],
                "adversarial": parts["adversarial"]}


class RealESRGANTrainer(Trainer):
    """Real-ESRGAN's GAN stage (``RealESRGANModel.optimize_parameters``): a generator step, then a discriminator
    step, each on this step's SR.

    Generator: L1 (weight 1) and the VGG19 perceptual loss (weight 1, `losses.perceptual_loss`) against the
    USM-sharpened HR (``l1_gt_usm``, ``percep_gt_usm``) plus ``gan_weight`` (0.1) x BCE-with-logits of the
    discriminator's per-pixel logits on SR against "real". Discriminator (``gan_gt_usm: False``): BCE of its
    logits on the plain HR against "real" plus on the SR computed before the generator's update, detached,
    against "fake", unweighted. This is the opposite order of `GANTrainer` (SRGAN, seed 000: D first).

    Args:
        strategy: the strategy everything was created under.
        generators: {scale: generator} with one entry.
        discriminator: a per-pixel-logit discriminator (`unet_discriminator_sn`).
        g_optimizer, d_optimizer: Keras optimizers created under `strategy.scope()`.
        vgg_features: `losses.vgg19_preactivation_features()`.
        gan_weight: the adversarial weight (0.1).
        global_batch_size: the batch size summed over replicas.
        usm_target: L1 and perceptual targets are the USM-sharpened HR.
    """

    def __init__(self, strategy, generators, discriminator, g_optimizer, d_optimizer, vgg_features, gan_weight,
                 global_batch_size, usm_target=True):
        if len(generators) != 1:
            raise ValueError(f"RealESRGANTrainer trains one generator, got scales {sorted(generators)}")
        (self.generator,) = generators.values()
        self.discriminator = discriminator
        self.vgg_features = vgg_features
        self.gan_weight = float(gan_weight)
        self.usm_target = usm_target
        super().__init__(strategy, generators, {"g_optimizer": g_optimizer, "d_optimizer": d_optimizer},
                         {"g_optimizer": self.generator.trainable_variables,
                          "d_optimizer": discriminator.trainable_variables}, global_batch_size)

    def replica_step(self, scale, lr, hr):
        del scale
        g_optimizer, d_optimizer = self.optimizers["g_optimizer"], self.optimizers["d_optimizer"]
        target = usm_sharpen(hr) if self.usm_target else hr
        parts = {}

        def generator_loss():
            sr = self.generator(lr, training=True)
            parts["sr"] = tf.stop_gradient(sr)
            parts["l1"] = self.average(losses.pixel_loss(sr, target, "l1"))
            parts["perceptual"] = self.average(losses.perceptual_loss(self.vgg_features, sr, target))
            parts["gan"] = self.average(losses.patch_gan_losses(self.discriminator(sr, training=True), True))
            return parts["l1"] + parts["perceptual"] + self.gan_weight * parts["gan"]

        g_loss = self.minimise(g_optimizer, self.generator.trainable_variables, generator_loss)

        def discriminator_loss():
            real = losses.patch_gan_losses(self.discriminator(hr, training=True), True)
            fake = losses.patch_gan_losses(self.discriminator(parts["sr"], training=True), False)
            return self.average(real + fake)

        d_loss = self.minimise(d_optimizer, self.discriminator.trainable_variables, discriminator_loss)
        return {"g_loss": g_loss, "d_loss": d_loss, "l1": parts["l1"], "perceptual": parts["perceptual"],
                "gan": parts["gan"]}
