"""`keras_gans.GAN`: one trainer for every adversarial model in the library.

A training step has two phases, as in the original GAN algorithm:

1. **Discriminator phase** (`d_steps` times): draw noise, generate fakes
   (gradient stopped), score real and fake, minimise the discriminator loss
   (+ an optional penalty) with the discriminator optimizer.
2. **Generator phase** (`g_steps` times): draw fresh noise, generate, score,
   minimise the generator loss with the generator optimizer.

Variants change small hooks, not the step itself (CycleGAN, with two
networks per phase, composes its own short step from the same
`apply_update`):

| hook                    | default                                   |
|-------------------------|-------------------------------------------|
| `unpack_batch(data)`    | `images` or `(images, labels)`            |
| `sample_noise(n)`       | `normal((n, latent_dim))` from the model's `SeedGenerator` |
| `fake_conditions(c, n)` | the real batch's conditions (or `None`)   |
| `generate_images(z, c)` | `generator(z)`                            |
| `discriminate(x, c)`    | `discriminator(x)`                        |
| `discriminator_penalty` | none (a WGAN-GP or R1 variant adds one)   |
| `discriminator_loss(real, fake, ...)` | the compiled loss pair on real/fake logits |
| `generator_loss(fake, ...)`           | the compiled loss pair on fake logits     |

Weight regularizers of either network (`kernel_regularizer=...`) are
added to its loss (`regularization_loss`).

The generator forward pass of the discriminator phase is reused by the
generator phase (as in the PyTorch DCGAN): `sample_fakes` keeps a pullback
that maps d(loss)/d(fakes) to generator gradients.

The step is written once, statefully, in `keras.ops`; `keras_gans.backend`
supplies gradients per backend and runs the step functionally under JAX.
"""

import numpy as np

import keras
from keras import ops

from keras_gans import backend as gan_backend
from keras_gans import losses as gan_losses
from keras_gans.saving import SavesSeedState


def _default_optimizer(name):
    # The DCGAN paper's setting, good for most image GANs. Distinct names
    # keep Keras' learning-rate logs (`learning_rate_<name>`) apart.
    return keras.optimizers.Adam(2e-4, beta_1=0.5, name=name)


class OptimizerPair(keras.optimizers.Optimizer):
    """Presents the discriminator and generator optimizers to Keras as one.

    Keras' trainers know one `model.optimizer`; under JAX, `fit()` threads
    exactly `model.optimizer.variables` through the jitted step. Listing both
    optimizers' variables here carries both states (moments, iterations) as
    trainer state instead of baking them into the compiled step as constants.
    Each optimizer saves its own variables (as `d_optimizer`/`g_optimizer`
    of the GAN), so this holder saves none.

    Keras callbacks that change learning rates (`LearningRateScheduler`,
    `ReduceLROnPlateau`) act on every optimizer of `optimizers`, and
    `iterations` (TensorBoard's step) counts the discriminator's updates.
    """

    def __init__(self, d_optimizer, g_optimizer, name="gan_optimizers"):
        super().__init__(learning_rate=0.0, name=name)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def optimizers(self):
        """The optimizers held, the discriminator's first."""
        return [self.d_optimizer, self.g_optimizer]

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    @property
    def iterations(self):
        return self.optimizers[0].iterations

    def build(self, var_list):
        # Each optimizer is built on its own network in `GAN.compile`.
        self.built = True

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass

    def get_config(self):
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


@keras.saving.register_keras_serializable(package="keras_gans")
class GAN(SavesSeedState, keras.Model):
    """A generative adversarial network trained with `compile()` and `fit()`.

    Args:
        generator: a Keras model mapping latent vectors `(batch, latent_dim)`
            to images in [-1, 1].
        discriminator: a Keras model mapping images to one logit (or score)
            per image, or a map of them (PatchGAN); losses average over all.
        latent_dim: size of the latent vector. Read from the generator's
            input when omitted.
        seed: seed of the model's `SeedGenerator`, which draws all noise.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    import keras, keras_gans as kg
    gan = kg.GAN(kg.models.dcgan_generator(32, 3, 64),
                 kg.models.dcgan_discriminator(32, 3))
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    gan.fit(images, batch_size=64, epochs=10)
    samples = gan.generate(16)   # NumPy, [-1, 1]
    ```
    """

    def __init__(self, generator, discriminator, latent_dim=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim) if latent_dim is not None else self._infer_latent_dim()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed_generator")
        self.loss_pair = gan_losses.get("non_saturating")
        self.d_steps = 1
        self.g_steps = 1
        self.reuse_fakes = True
        self._trackers = []
        self._build_networks()

    # -- construction --------------------------------------------------------

    def _infer_latent_dim(self):
        shape = getattr(self.generator, "input_shape", None)
        if isinstance(shape, list):  # several inputs: z comes first
            shape = shape[0]
        if not shape or shape[-1] is None:
            raise ValueError(
                "Could not read `latent_dim` from the generator's input; "
                "pass `latent_dim=` explicitly."
            )
        return int(shape[-1])

    def _build_networks(self):
        for role, net in (("generator", self.generator), ("discriminator", self.discriminator)):
            if not isinstance(net, keras.Model) and not isinstance(net, keras.layers.Layer):
                raise TypeError(f"`{role}` must be a Keras model, got {type(net).__name__}.")
            if not net.built:
                raise ValueError(
                    f"The {role} {net.name!r} is not built. Give it an "
                    "`keras.Input(...)` (or call `build(input_shape)`) first."
                )
        self.built = True

    # -- compile -------------------------------------------------------------

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        loss="non_saturating",
        d_steps=1,
        g_steps=1,
        jit_compile="auto",
        run_eagerly=False,
        steps_per_execution=1,
        reuse_fakes=True,
        **kwargs,
    ):
        """Configure training.

        Args:
            d_optimizer: discriminator optimizer (instance, name or config).
                Default `Adam(2e-4, beta_1=0.5)`.
            g_optimizer: generator optimizer, likewise. Must be a different
                instance from `d_optimizer`.
            loss: a name from `keras_gans.losses.names()` ("minimax",
                "non_saturating", "least_squares", "wasserstein", "hinge") or
                a `keras_gans.losses.GANLoss`.
            d_steps: discriminator updates per batch (the paper's k).
            g_steps: generator updates per batch.
            jit_compile: `"auto"` compiles the step with XLA on TensorFlow
                (CPU included: about 2x faster there) and JAX; eager on torch.
            run_eagerly, steps_per_execution: as in `keras.Model.compile`.
                `steps_per_execution > 1` runs several steps per compiled
                call, which removes per-step dispatch gaps on GPUs.
            reuse_fakes: let the first generator update reuse the
                discriminator update's fakes (one generator forward pass
                less per step, the same gradients); False regenerates them.
        """
        if kwargs.get("optimizer") is not None or kwargs.get("loss_weights") is not None:
            raise ValueError(
                "GAN.compile takes `d_optimizer` and `g_optimizer`, not `optimizer`."
            )
        kwargs.pop("optimizer", None)
        d_optimizer = keras.optimizers.get(d_optimizer or _default_optimizer("d_optimizer"))
        g_optimizer = keras.optimizers.get(g_optimizer or _default_optimizer("g_optimizer"))
        if d_optimizer is g_optimizer:
            raise ValueError(
                "`d_optimizer` and `g_optimizer` must be two optimizer instances; "
                "one instance cannot hold the state of both networks."
            )
        if int(d_steps) < 1 or int(g_steps) < 1:
            raise ValueError(f"d_steps and g_steps must be >= 1, got {d_steps}, {g_steps}.")
        d_optimizer = self.with_loss_scaling(d_optimizer)
        g_optimizer = self.with_loss_scaling(g_optimizer)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_pair = gan_losses.get(loss)
        self.d_steps, self.g_steps = int(d_steps), int(g_steps)
        self.reuse_fakes = bool(reuse_fakes)
        self._requested_jit_compile = jit_compile
        if jit_compile == "auto" and not run_eagerly:
            jit_compile = self._auto_jit_compile()
        super().compile(
            optimizer=OptimizerPair(d_optimizer, g_optimizer),
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=False,
            **kwargs,
        )
        # Build optimizer state now, eagerly: never inside a traced step, and
        # before `load_model` restores it.
        self.d_optimizer.build(self.discriminator_variables)
        self.g_optimizer.build(self.generator_variables)
        self.optimizer.built = True
        self._trackers = [keras.metrics.Mean(name=name) for name in self.metric_names()]

    def with_loss_scaling(self, optimizer):
        """`optimizer`, wrapped in a `LossScaleOptimizer` under the
        mixed_float16 policy: float16 gradients underflow without scaling."""
        LSO = keras.optimizers.LossScaleOptimizer
        float16 = "mixed_float16" in (self.dtype_policy.name, keras.config.dtype_policy().name)
        return LSO(optimizer) if float16 and not isinstance(optimizer, LSO) else optimizer

    def _auto_jit_compile(self):
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # Keras turns XLA off on CPU-only TensorFlow; for GAN steps XLA
            # measured about 2x faster there, so keep it unless distributed.
            return not tf.distribute.has_strategy()
        return "auto"

    @property
    def generator_variables(self):
        """The variables the generator optimizer updates."""
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self):
        """The variables the discriminator optimizer updates."""
        return self.discriminator.trainable_variables

    def get_compile_config(self):
        if not self.compiled:
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": gan_losses.serialize(self.loss_pair),
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "reuse_fakes": self.reuse_fakes,
            "jit_compile": self._requested_jit_compile,
            "run_eagerly": self.run_eagerly,
            "steps_per_execution": self.steps_per_execution,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        config["loss"] = gan_losses.deserialize(config.get("loss", "non_saturating"))
        self.compile(**config)

    # -- metrics -------------------------------------------------------------

    def metric_names(self):
        """Names of the loss trackers shown in the progress bar and History.

        `d_real`/`d_fake` are the mean probabilities D(x) and D(G(z)) for
        losses with a probabilistic reading (minimax, non-saturating);
        otherwise `real_score`/`fake_score` are the mean raw critic scores.
        """
        if self.loss_pair.probabilistic:
            return ["d_loss", "g_loss", "d_real", "d_fake"]
        return ["d_loss", "g_loss", "real_score", "fake_score"]

    @property
    def metrics(self):
        return list(self._trackers)

    def _update_trackers(self, logs):
        for tracker in self._trackers:
            if tracker.name in logs:
                tracker.update_state(logs[tracker.name])
        return {tracker.name: tracker.result() for tracker in self._trackers}

    def score_logs(self, real_logits, fake_logits):
        """Per-step summaries of the discriminator's outputs."""
        real_logits = ops.cast(real_logits, "float32")
        fake_logits = ops.cast(fake_logits, "float32")
        if self.loss_pair.probabilistic:
            return {
                "d_real": ops.mean(ops.sigmoid(real_logits)),
                "d_fake": ops.mean(ops.sigmoid(fake_logits)),
            }
        return {"real_score": ops.mean(real_logits), "fake_score": ops.mean(fake_logits)}

    # -- hooks ---------------------------------------------------------------

    def unpack_batch(self, data):
        """Split a batch into `(images, conditions)`; conditions may be None.

        uint8 batches are scaled to [-1, 1] here, on the device: feeding
        uint8 moves four times fewer bytes from the host. NumPy batches
        (JAX and torch without jit hand them over as they are) become
        backend tensors, so networks never see a mix of the two.
        """
        conditions = None
        if isinstance(data, (tuple, list)):
            data, conditions = data[0], (data[1] if len(data) > 1 else None)
        if conditions is not None:
            conditions = keras.tree.map_structure(ops.convert_to_tensor, conditions)
        return self.batch_images(data), conditions

    @staticmethod
    def batch_images(images):
        """A batch of images as a backend tensor, uint8 scaled to [-1, 1]."""
        images = ops.convert_to_tensor(images)
        if keras.backend.standardize_dtype(images.dtype) == "uint8":
            images = ops.cast(images, "float32") / 127.5 - 1.0
        return images

    def sample_noise(self, batch_size):
        """Latent vectors for one batch, from the model's SeedGenerator.

        Under a `tf.distribute` strategy every replica reads the same seed,
        so each draws the global batch's noise and keeps its own rows:
        replicas get distinct noise, the same as one device would draw.
        """
        replica, num_replicas = gan_backend.replica_info()
        shape = (batch_size * num_replicas, self.latent_dim)
        z = keras.random.normal(shape, seed=self.seed_generator)
        if num_replicas > 1:
            z = ops.slice(z, (replica * batch_size, 0), (batch_size, self.latent_dim))
        return z

    def fake_conditions(self, conditions, batch_size):
        """Conditions to generate fakes with; unconditional models use None."""
        return conditions

    def generate_images(self, z, conditions=None, training=False):
        """Fakes from noise `z` (and `conditions`, for conditional models)."""
        return self.generator(z, training=training)

    def discriminate(self, images, conditions=None, training=False):
        """The discriminator's logits for `images` (given `conditions`)."""
        return self.discriminator(images, training=training)

    def discriminator_penalty(self, real, fake, conditions, fake_conditions, training=True):
        """An extra term for the discriminator loss (gradient penalties).

        Returns `(penalty, logs)`; the default adds nothing.
        """
        return None, {}

    def discriminator_loss(self, real, fake, conditions=None, fake_conditions=None, training=True):
        """Discriminator phase loss on a real and a fake batch: `(loss, logs)`."""
        real_logits = self.discriminate(real, conditions, training=training)
        fake_logits = self.discriminate(fake, fake_conditions, training=training)
        loss = self.loss_pair.discriminator(real_logits, fake_logits)
        logs = self.score_logs(real_logits, fake_logits)
        penalty, penalty_logs = self.discriminator_penalty(
            real, fake, conditions, fake_conditions, training=training
        )
        if penalty is not None:
            loss = loss + penalty
        regularization = self.regularization_loss(self.discriminator)
        if regularization is not None:
            loss = loss + regularization
        logs.update(penalty_logs)
        logs["d_loss"] = loss
        return loss, logs

    def generator_loss(self, fake, fake_conditions=None, training=True):
        """Generator phase loss on a fake batch: `(loss, logs)`."""
        fake_logits = self.discriminate(fake, fake_conditions, training=training)
        loss = self.loss_pair.generator(fake_logits)
        regularization = self.regularization_loss(self.generator)
        if regularization is not None:  # Its gradient: see apply_generator_update.
            loss = loss + regularization
        return loss, {"g_loss": loss}

    @staticmethod
    def regularization_loss(network):
        """The sum of `network.losses` (weight regularizers such as
        `kernel_regularizer`), or None when it has none."""
        losses = network.losses
        if not losses:
            return None
        return ops.sum(ops.stack([ops.cast(x, "float32") for x in losses]))

    # -- the step ------------------------------------------------------------

    def sample_fakes(self, batch_size, conditions, training=True, with_pullback=True):
        """Draw noise (and fake conditions) and generate one fake batch.

        Returns `(fake, fake_conditions, pullback)`; `pullback(grad_fake)`
        maps a gradient with respect to the fakes to generator gradients, so
        the generator phase can reuse this forward pass instead of repeating
        it. With `with_pullback=False` the pullback is None.
        """
        fake_conditions = self.fake_conditions(conditions, batch_size)
        z = self.sample_noise(batch_size)
        generate = lambda: self.generate_images(z, fake_conditions, training=training)  # noqa: E731
        if not with_pullback:
            return generate(), fake_conditions, None
        fake, pullback = gan_backend.forward_and_pullback(generate, self.generator_variables)
        return fake, fake_conditions, pullback

    def apply_update(self, optimizer, variables, loss_fn):
        """Minimise `loss_fn() -> (loss, logs)` over `variables` by one step."""

        def scaled_loss():
            loss, logs = loss_fn()
            return optimizer.scale_loss(gan_backend.scale_loss_for_replicas(loss)), logs

        _, logs, grads = gan_backend.value_and_grad(scaled_loss, variables)
        gan_backend.apply_gradients(optimizer, grads, variables)
        return logs

    def apply_generator_update(self, fake, fake_conditions, pullback):
        """One generator step from an already generated batch: the loss's
        gradient with respect to the fakes, pulled back through G."""

        def scaled_loss(images):
            loss, logs = self.generator_loss(images, fake_conditions, training=True)
            loss = gan_backend.scale_loss_for_replicas(loss)
            return self.g_optimizer.scale_loss(loss), logs

        _, logs, fake_grads = gan_backend.value_and_input_grad(scaled_loss, fake)
        grads = pullback(fake_grads)
        if self.generator.losses:
            # Weight regularizers depend on G's weights directly, not through
            # the fakes, so the pullback misses their gradient: add it.
            def scaled_regularization():
                loss = self.regularization_loss(self.generator)
                loss = gan_backend.scale_loss_for_replicas(loss)
                return self.g_optimizer.scale_loss(loss), {}

            _, _, extra = gan_backend.value_and_grad(
                scaled_regularization, self.generator_variables
            )
            grads = [g + ops.cast(e, g.dtype) for g, e in zip(grads, extra)]
        gan_backend.apply_gradients(self.g_optimizer, grads, self.generator_variables)
        return logs

    def gan_train_step(self, data):
        """One batch: `d_steps` discriminator updates, then `g_steps`
        generator updates. Backend-neutral; returns the tracker results.

        The first generator update reuses the last discriminator update's
        fakes (G has not changed in between, so this equals regenerating
        them from the same noise, at one generator pass less); further
        generator updates draw fresh noise.
        """
        real, conditions = self.unpack_batch(data)
        batch_size = ops.shape(real)[0]
        logs = {}
        for i in range(self.d_steps):
            keep = self.reuse_fakes and i == self.d_steps - 1
            fake, fake_conditions, pullback = self.sample_fakes(
                batch_size, conditions, with_pullback=keep
            )
            logs.update(
                self.apply_update(
                    self.d_optimizer,
                    self.discriminator_variables,
                    lambda: self.discriminator_loss(
                        real, ops.stop_gradient(fake), conditions, fake_conditions
                    ),
                )
            )
        for i in range(self.g_steps):
            if i > 0 or not self.reuse_fakes:
                fake, fake_conditions, pullback = self.sample_fakes(batch_size, conditions)
            logs.update(self.apply_generator_update(fake, fake_conditions, pullback))
        return self._update_trackers(logs)

    def gan_test_step(self, data):
        """Both phases' losses on a batch, without updates."""
        real, conditions = self.unpack_batch(data)
        batch_size = ops.shape(real)[0]
        fake_conditions = self.fake_conditions(conditions, batch_size)
        fake = self.generate_images(self.sample_noise(batch_size), fake_conditions, training=False)
        _, logs = self.discriminator_loss(real, fake, conditions, fake_conditions, training=False)
        _, g_logs = self.generator_loss(fake, fake_conditions, training=False)
        logs.update(g_logs)
        return self._update_trackers(logs)

    def train_step(self, *args):
        self._check_compiled()
        if gan_backend.BACKEND == "jax":
            state, data = args
            groups = [
                self.trainable_variables,
                self.non_trainable_variables,
                self.optimizer.variables,
                self.metrics_variables,
            ]
            return gan_backend.stateless_step(self, self.gan_train_step, state, data, groups)
        return gan_backend.logs_for_replica_reduction(self.gan_train_step(args[0]))

    def test_step(self, *args):
        self._check_compiled()
        if gan_backend.BACKEND == "jax":
            state, data = args
            groups = [
                self.trainable_variables,
                self.non_trainable_variables,
                self.metrics_variables,
            ]
            return gan_backend.stateless_step(self, self.gan_test_step, state, data, groups)
        return gan_backend.logs_for_replica_reduction(self.gan_test_step(args[0]))

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`. A `tf.data.Dataset` or `PyDataset` brings its
        own order, so `shuffle` defaults to False for them: Keras ignores
        it there anyway, but warns about its default on every call."""
        if not args and (hasattr(x, "element_spec") or isinstance(x, keras.utils.PyDataset)):
            kwargs.setdefault("shuffle", False)
        return super().fit(x, y, *args, **kwargs)

    def _check_compiled(self):
        if not self._trackers:
            raise ValueError("Call `compile()` before training or evaluating the GAN.")

    # -- inference -----------------------------------------------------------

    def call(self, inputs, training=False):
        """Generate images from latent vectors (what `predict(z)` runs)."""
        return self.generator(inputs, training=training)

    def generate(self, n=None, z=None, seed=None, batch_size=256):
        """Generate images as a NumPy array in [-1, 1].

        Args:
            n: number of images (with fresh noise) when `z` is not given.
            z: latent vectors `(n, latent_dim)`.
            seed: an int for reproducible noise; otherwise the model's
                SeedGenerator advances.
            batch_size: images per generator call.
        """
        if z is None:
            if n is None:
                raise ValueError("Pass `n` (how many images) or `z` (latent vectors).")
            z = self.latent_vectors(n, seed)
        z = np.asarray(keras.ops.convert_to_numpy(z), dtype="float32")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"Expected latent vectors of shape (n, {self.latent_dim}), got {z.shape}."
            )
        out = [
            ops.convert_to_numpy(self.generator(z[i : i + batch_size], training=False))
            for i in range(0, len(z), batch_size)
        ]
        return np.concatenate(out).astype("float32")

    def latent_vectors(self, n, seed=None):
        """`n` latent vectors as NumPy: seeded by `seed`, or from the model's
        SeedGenerator."""
        if seed is not None:
            return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(
                "float32"
            )
        return ops.convert_to_numpy(self.sample_noise(n))

    def grid_inputs(self, num_samples, seed=0):
        """Fixed inputs for a sample grid (`SampleGrid` draws them once)."""
        return self.latent_vectors(num_samples, seed)

    def grid_images(self, inputs):
        """Images for a sample grid and its number of columns."""
        return self.generate(z=inputs), None

    # -- serialization -------------------------------------------------------

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
