"""Distributed train steps: `PixelTrainer` (EDSR, MDSR, WDSR, SRResNet, A-SRResNet) and `GANTrainer` (SRGAN,
A-SRGAN).

Both follow the tf.distribute custom-loop rules: models and optimizers are created inside
`strategy.scope()`, optimizers are built on their variables there before the first step, each replica
computes per-example losses and averages them over the *global* batch with `tf.nn.compute_average_loss`, and
the per-replica losses are summed across replicas. Gradients are all-reduced by `apply_gradients`.
"""
import keras
import tensorflow as tf

from sr_keras.training import losses


def _average(per_example, global_batch_size):
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


def _unique_trainable(models):
    seen, variables = set(), []
    for model in models:
        for variable in model.trainable_variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


class PixelTrainer:
    """Pixel-loss training of one generator, or of MDSR's per-scale generators sharing one optimizer.

    Args:
        strategy: the tf.distribute strategy the models and optimizer were created under.
        generators: {scale: model}; MDSR passes all its scales, other models one.
        optimizer: a Keras optimizer created under `strategy.scope()`.
        loss: "l1" or "mse".
        global_batch_size: the batch size summed over replicas.
    """

    def __init__(self, strategy, generators, optimizer, loss, global_batch_size):
        self.strategy = strategy
        self.generators = dict(generators)
        self.optimizer = optimizer
        self.loss = loss
        self.global_batch_size = global_batch_size
        self.variables = _unique_trainable(self.generators.values())
        with strategy.scope():
            optimizer.build(self.variables)
        self._step = tf.function(self._distributed_step)

    def _replica_step(self, scale, lr, hr):
        model = self.generators[scale]
        with tf.GradientTape() as tape:
            sr = model(lr, training=True)
            loss = _average(losses.pixel_loss(sr, hr, self.loss), self.global_batch_size)
            scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
        variables = model.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return {"loss": loss}

    def _distributed_step(self, scale, lr, hr):
        per_replica = self.strategy.run(self._replica_step, args=(scale, lr, hr))
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}

    def train_step(self, scale, batch):
        """One optimisation step on a distributed batch (lr, hr) of `scale`; returns the mean losses."""
        lr, hr = batch
        return self._step(scale, lr, hr)


class GANTrainer:
    """SRGAN / A-SRGAN training: discriminator step(s), then a synchronised generator step (seed 000).

    Each step computes SR once; the discriminator is updated `d_steps` times on (HR, SR) with BCE, then the
    generator is updated against the freshly updated discriminator with content + `adv_weight` * -log D(SR).

    Args:
        strategy: the strategy everything was created under.
        generator: the generator model.
        discriminator: the discriminator model (probability output; its logits are taken from the layer feeding
            the sigmoid).
        g_optimizer, d_optimizer: Keras optimizers created under `strategy.scope()`.
        content_loss: "mse" (on [-1, 1] pixels), "vgg22" or "vgg54".
        adv_weight: weight of the adversarial generator loss (1e-3 in SRGAN).
        d_steps: discriminator updates per generator update.
        global_batch_size: the batch size summed over replicas.
        vgg_features: the frozen VGG feature model for VGG content losses.
    """

    def __init__(self, strategy, generator, discriminator, g_optimizer, d_optimizer, content_loss, adv_weight,
                 d_steps, global_batch_size, vgg_features=None):
        if content_loss != "mse" and vgg_features is None:
            raise ValueError(f"content loss {content_loss!r} needs vgg_features")
        self.strategy = strategy
        self.generator = generator
        self.discriminator = discriminator
        with strategy.scope():
            self.d_logits = keras.Model(discriminator.input, discriminator.get_layer("probability").input,
                                        name=f"{discriminator.name}_logits")
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.content_loss = content_loss
        self.adv_weight = float(adv_weight)
        self.d_steps = int(d_steps)
        self.global_batch_size = global_batch_size
        self.vgg_features = vgg_features
        with strategy.scope():
            g_optimizer.build(generator.trainable_variables)
            d_optimizer.build(discriminator.trainable_variables)
        self.generators = {None: generator}
        self._step = tf.function(self._distributed_step)

    def _content(self, sr, hr):
        if self.content_loss == "mse":
            return losses.srgan_mse_loss(sr, hr)
        return losses.vgg_loss(self.vgg_features, sr, hr)

    def _replica_step(self, lr, hr):
        with tf.GradientTape() as g_tape:
            sr = self.generator(lr, training=True)
            fake_input = tf.stop_gradient(sr)
            for _ in range(self.d_steps):
                with tf.GradientTape() as d_tape:
                    real_logits = self.d_logits(hr, training=True)
                    fake_logits = self.d_logits(fake_input, training=True)
                    d_loss = _average(losses.discriminator_loss(real_logits, fake_logits), self.global_batch_size)
                d_variables = self.discriminator.trainable_variables
                self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_variables), d_variables))
            fake_logits = self.d_logits(sr, training=True)
            content = _average(self._content(sr, hr), self.global_batch_size)
            adversarial = _average(losses.generator_adversarial_loss(fake_logits), self.global_batch_size)
            g_loss = content + self.adv_weight * adversarial
        g_variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_variables), g_variables))
        return {"g_loss": g_loss, "d_loss": d_loss, "content": content, "adversarial": adversarial}

    def _distributed_step(self, lr, hr):
        per_replica = self.strategy.run(self._replica_step, args=(lr, hr))
        return {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for k, v in per_replica.items()}

    def train_step(self, scale, batch):
        """One D-then-G step on a distributed batch (lr, hr); returns the mean losses."""
        del scale
        lr, hr = batch
        return self._step(lr, hr)
