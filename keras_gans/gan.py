"""`keras_gans.GAN`: one trainer for every adversarial model in the library.

A training step is a sequence of **phases**. Each phase updates some
networks with their optimizer(s) by minimising its loss, `repeats` times a
step, every `interval` steps, and then runs its after-update hooks:

| phase           | networks        | optimizer     | loss                        | repeats   |
|-----------------|-----------------|---------------|-----------------------------|-----------|
| `discriminator` | discriminator   | `d_optimizer` | `discriminator_loss` + penalties | `d_steps` |
| (a lazy penalty, e.g. `r1` every 16 steps) | discriminator | `d_optimizer` | `interval * penalty` | 1 |
| `generator`     | generator       | `g_optimizer` | `generator_loss`            | `g_steps` |
| (a generator penalty, e.g. `path_length` every 4 steps) | generator | `g_optimizer` | `interval * penalty` | 1 |

That is the original GAN algorithm, and the default. Families change it by
overriding small hooks or by declaring other phases (`build_phases`), never
by copying the step:

| hook                    | default                                   |
|-------------------------|-------------------------------------------|
| `latents`               | one normal `z` of `latent_dim` (`keras_gans.sampling`) |
| `unpack_batch(data)`    | `images` or `(images, labels)`            |
| `draw_inputs(n, c)`     | the latents, drawn in the step from the model's `SeedGenerator` |
| `generate_images(inputs)` | `generator(z)` (or `generator([z, labels])`) |
| `discriminate(x, c)`    | `discriminator(x)`                        |
| `discriminator_loss(real, fake, ...)` | the compiled loss pair on real/fake logits, plus penalties |
| `generator_loss(fake, ...)`           | the compiled loss pair on fake logits     |
| `after_update(phase)`   | the generator's EMA update, after the generator phase |
| `compile_defaults()`, `default_optimizer(name)`, `default_penalties()` | the DCGAN paper's setting |

What every family gets from the trainer:

- **Penalties** (`keras_gans.losses.GradientPenalty`, `R1`, `R2`, `Drift`)
  declared once, joined to their phase's loss or run lazily as a phase of
  their own (`interval`), logged under their name.
- **Training progress**: `gan.progress` counts steps and real images seen,
  readable inside the step (schedules, EMA ramp-up, fade-ins) and saved.
- **An EMA of the generator** (`ema_decay`): the averaged copy that
  `generate`, `predict`, sample grids, FID and exports use by default.
- **One sampling contract**: `latents` says what the generator takes;
  `sample_inputs`/`generate(n, seed=..., labels=...)` work the same on
  every model.
- **Fresh real images per critic update** (`compile(fresh_reals=True)`):
  with `d_steps = k`, a batch of `k * B` images is split into k batches of
  B, one per discriminator update (WGAN's algorithm); the generator phase
  then uses batches of B.
- Weight regularizers of any phase's networks (`kernel_regularizer=...`)
  join that phase's loss.

The generator forward pass of the last discriminator update is reused by
the first generator update (as in the PyTorch DCGAN): `sample_fakes` keeps
a pullback that maps d(loss)/d(fakes) to generator gradients.

The step is written once, statefully, in `keras.ops`; `keras_gans.backend`
supplies gradients per backend, runs the step functionally under JAX, and
runs a phase conditionally (`run_if`) inside the compiled step.
"""

import dataclasses

import numpy as np

import keras
from keras import ops

from keras_gans import augment as gan_augment
from keras_gans import backend as gan_backend
from keras_gans import losses as gan_losses
from keras_gans import sampling
from keras_gans.optimizers import OptimizerGroup
from keras_gans.saving import SavesSeedState


@dataclasses.dataclass
class Phase:
    """One update of a training step.

    Args:
        name: the phase's name ("discriminator", "generator", "r1", ...).
        networks: attribute names of the networks it updates (their
            trainable variables, each variable once even when networks share
            it).
        optimizers: attribute names of the optimizers: one for all the
            networks, or one per network (each applies its network's part of
            the one gradient of the joint loss).
        loss: `loss(step, repeat) -> (loss, logs)`, computed inside the
            gradient.
        logs: the names of the logs `loss` returns (and `reuse`): their
            trackers show in the progress bar and History.
        prepare: optional `prepare(step, repeat)` run before each update,
            outside the gradient (drawing the fakes a discriminator sees).
        reuse: optional `reuse(fake, fake_conditions) -> (loss, logs)`: on
            the first repeat, when the step holds fakes with a pullback
            (`step.fakes`), the update takes d(loss)/d(fakes) and pulls it
            back through the generator instead of regenerating them.
        repeats: updates per step: an int, or a callable `repeats() -> int
            tensor` for a number known only inside the step (read from
            `progress`, as WGAN's critic schedule is), run as a loop.
        interval: run on steps where `progress.steps % interval == 0`.
        after_update: callables `hook(step)` run after each update; a hook
            may return a dict of logs (declared in `logs` like the loss's).
    """

    name: str
    networks: tuple
    optimizers: tuple
    loss: object
    logs: tuple = ()
    prepare: object = None
    reuse: object = None
    repeats: int = 1
    interval: int = 1
    after_update: tuple = ()


class StepState:
    """What the phases of one training step share: the real batch (split per
    discriminator update with `fresh_reals`), and the fakes the last
    discriminator update drew, with their pullback, for the generator."""

    def __init__(self, batch, splits=1):
        self.batch = batch  # what `unpack_batch` returned
        self.real, self.conditions = batch
        self.splits = int(splits)
        rows = self.real.shape[0]
        if self.splits > 1 and rows is not None and rows % self.splits:
            raise ValueError(
                f"With fresh_reals, a batch of {rows} images is split into d_steps="
                f"{self.splits} critic batches, so its size must be a multiple of {self.splits}: "
                f"batch {self.splits} x B images (drop_remainder=True for the last batch), or "
                "compile(fresh_reals=False)."
            )
        self.batch_size = ops.shape(self.real)[0] // self.splits
        self.fakes = None  # (fake, fake_conditions, pullback)
        self.inputs = None  # the generator inputs of the last fakes drawn
        self.logs = {}  # the last update's logs

    def real_batch(self, repeat):
        """The reals (and their conditions) of discriminator update `repeat`."""
        if self.splits == 1:
            return self.real, self.conditions
        index = ops.mod(repeat, self.splits)  # a loop's counter may be a tensor

        def part(x):
            x = ops.reshape(x, (self.splits, -1) + tuple(x.shape[1:]))
            return ops.take(x, index, axis=0)

        conditions = None if self.conditions is None else keras.tree.map_structure(
            part, self.conditions
        )
        return part(self.real), conditions


@keras.saving.register_keras_serializable(package="keras_gans")
class TrainingProgress(keras.layers.Layer):
    """A GAN's training progress: steps taken and real images seen.

    Both are int32 variables, saved with the model and readable inside the
    compiled step (`gan.progress.steps`), so schedules (EMA ramp-up,
    ProGAN's fade-in) continue after `load_model` where training stopped.
    A checkpoint written before they existed loads with them at zero.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Every tf.distribute replica counts the same steps: keep the first's.
        counter = dict(shape=(), dtype="int32", initializer="zeros", trainable=False,
                       aggregation="only_first_replica")
        self.steps = self.add_weight(name="steps", **counter)
        self.images = self.add_weight(name="images", **counter)
        self.built = True

    def advance(self, images):
        """Count one step of `images` real images per replica."""
        replicas = gan_backend.replica_info()[1]
        self.steps.assign_add(ops.ones((), "int32"))
        self.images.assign_add(ops.cast(images, "int32") * replicas)

    def load_own_variables(self, store):
        if len(store.keys()):
            super().load_own_variables(store)


def _default_optimizer(name):
    # The DCGAN paper's setting, good for most image GANs. Distinct names
    # keep Keras' learning-rate logs (`learning_rate_<name>`) apart.
    return keras.optimizers.Adam(2e-4, beta_1=0.5, name=name)


def _has_batch_norm(network):
    return any("BatchNormalization" in type(layer).__name__ for layer in network._flatten_layers())


def _normalizes_once(network):
    """True for a network with spectral normalization whose training-mode
    and inference-mode functions are otherwise the same (no BatchNorm, no
    dropout): see `GAN.score`."""
    kinds = {type(layer).__name__ for layer in network._flatten_layers()}
    return "SpectralNormalization" in kinds and not any(
        "BatchNormalization" in kind or "Dropout" in kind for kind in kinds)


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
        ema_decay: keep an exponential moving average of the generator's
            weights with this decay (e.g. 0.999); `generate`, `predict`,
            sample grids, FID and exports then use the average. None: off.
        ema_start: the step at which averaging starts; before it the
            average copies the generator.
        ema_rampup: optional StyleGAN-style ramp-up: the averaging horizon
            grows with the images seen (`ema_rampup * images`) until it
            reaches the one `ema_decay` gives.
        augment: a DiffAugment policy (`"color,translation,cutout"`, or a
            part of it): real and generated images alike are augmented,
            differentiably, before the discriminator, in both phases (and in
            its penalties). None: off.
        ada_target: adaptive augmentation (StyleGAN2-ADA): each transform of
            `augment` is applied to each image with a probability p that
            starts at 0 and, every `ada_interval` steps, moves towards where
            the discriminator's mean sign on reals equals `ada_target` (0.6),
            by up to 1 per `ada_speed_kimg` thousand images. p is logged as
            `augment_p` and saved. None: every image is augmented.
        ada_interval, ada_speed_kimg: the controller's interval and speed.
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

    #: The optimizers a family compiles, by attribute name (the phases name them).
    optimizer_names = ("d_optimizer", "g_optimizer")

    def __init__(self, generator, discriminator, latent_dim=None, seed=None, ema_decay=None,
                 ema_start=0, ema_rampup=None, augment=None, ada_target=None, ada_interval=4,
                 ada_speed_kimg=500, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim) if latent_dim is not None else self._infer_latent_dim()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="gan_seed_generator")
        self.progress = TrainingProgress(name="progress")
        self.loss_pair = gan_losses.get("non_saturating")
        self.d_steps = self.g_steps = 1
        self.reuse_fakes = True
        self.fresh_reals = False
        self.penalties = []
        self.phases = []
        self._trackers = []
        self._build_networks()
        self._normalizes_once = _normalizes_once(self.discriminator)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_start = int(ema_start)
        self.ema_rampup = None if ema_rampup is None else float(ema_rampup)
        self.ema_generator = self._make_ema() if self.ema_decay is not None else None
        gan_augment.parse_policy(augment)  # a bad policy fails here, naming the valid ones
        if ada_target is not None and not augment:
            raise ValueError("ada_target adapts how often `augment`'s transforms apply: "
                             "give an augment policy too, e.g. augment='color,translation,cutout'.")
        self.augment = augment or None
        self.ada_target = None if ada_target is None else float(ada_target)
        self.ada_interval, self.ada_speed_kimg = int(ada_interval), float(ada_speed_kimg)
        self.augment_state = (gan_augment.AugmentState(0.0, name="augment_state")
                              if self.ada_target is not None else None)

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

    def networks(self):
        """The model's networks by attribute name, generators first."""
        return {"generator": self.generator, "discriminator": self.discriminator}

    def _build_networks(self):
        self.check_networks(generator=self.generator, discriminator=self.discriminator)
        self.built = True

    @staticmethod
    def check_networks(**networks):
        """Raise a clear error unless every network is a built Keras model
        (families with more networks check theirs too)."""
        for role, net in networks.items():
            if not isinstance(net, keras.Model) and not isinstance(net, keras.layers.Layer):
                raise TypeError(f"`{role}` must be a Keras model, got {type(net).__name__}.")
            if not net.built:
                raise ValueError(
                    f"The {role} {net.name!r} is not built. Give it an "
                    "`keras.Input(...)` (or call `build(input_shape)`) first."
                )

    def _make_ema(self):
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1), got {self.ema_decay}.")
        ema = keras.models.clone_model(self.generator)
        ema.name = f"{self.generator.name}_ema"
        ema.set_weights(self.generator.get_weights())
        ema.trainable = False
        # Keras' BatchNorm updates its statistics only when the layer is
        # trainable: `update_ema` recomputes the average's statistics by a
        # training-mode forward pass, so its BatchNorm layers stay trainable
        # while their variables stay out of every optimizer's (and JAX's
        # trainable) state.
        for layer in ema._flatten_layers():
            if "BatchNormalization" in type(layer).__name__:
                layer.trainable = True
                for variable in layer.weights:
                    variable.trainable = False
        return ema

    # -- compile -------------------------------------------------------------

    def compile_defaults(self):
        """Defaults of `compile` arguments left None (a family's paper setting)."""
        return {"loss": "non_saturating", "d_steps": 1, "g_steps": 1}

    def default_optimizer(self, name):
        """The optimizer `compile` uses for `name` when none is given."""
        return _default_optimizer(name)

    def default_penalties(self):
        """The penalties `compile(penalties=None)` uses (none by default)."""
        return []

    def compile(
        self,
        loss=None,
        d_steps=None,
        g_steps=None,
        penalties=None,
        reuse_fakes=True,
        fresh_reals=None,
        jit_compile="auto",
        run_eagerly=False,
        steps_per_execution=1,
        **kwargs,
    ):
        """Configure training.

        Args:
            d_optimizer: discriminator optimizer (instance, name or config);
                by default the family's (`default_optimizer`): Adam(2e-4,
                beta_1=0.5) for the GANs of the DCGAN line. Families with
                other networks take their own names (`optimizer_names`).
            g_optimizer: generator optimizer, likewise. Every optimizer must
                be a different instance.
            loss: a name from `keras_gans.losses.names()` ("minimax",
                "non_saturating", "least_squares", "wasserstein", "hinge") or
                a `keras_gans.losses.GANLoss`; None: the family's default.
            d_steps: discriminator updates per batch (the paper's k).
            g_steps: generator updates per batch.
            penalties: `keras_gans.losses.Penalty` objects (GradientPenalty,
                R1, R2, Drift), with their intervals; None: the family's.
            reuse_fakes: let the first generator update reuse the last
                discriminator update's fakes (one generator forward pass
                less per step, the same gradients); False regenerates them.
            fresh_reals: give each of the `d_steps` discriminator updates its
                own real images: a dataset batch of `d_steps * B` images is
                split into `d_steps` batches of B (and the generator phase
                draws B fakes). False: every update sees the whole batch.
                None: the family's default (on for WGAN and WGAN-GP).
            jit_compile: `"auto"` compiles the step with XLA on JAX, and on
                TensorFlow when a GPU is visible; TensorFlow on CPUs runs its
                graph with oneDNN's kernels (2.4x faster than XLA's for the
                DCGAN step on a quiet 2-core machine: `benchmarks/README.md`);
                eager on torch.
            run_eagerly, steps_per_execution: as in `keras.Model.compile`.
                `steps_per_execution > 1` runs several steps per compiled
                call, which removes per-step dispatch gaps on GPUs.
        """
        if kwargs.get("optimizer") is not None or kwargs.get("loss_weights") is not None:
            raise ValueError(
                f"{type(self).__name__}.compile takes {', '.join(self.optimizer_names)}, "
                "not `optimizer`."
            )
        kwargs.pop("optimizer", None)
        given = {name: kwargs.pop(name, None) for name in self.optimizer_names}
        unknown = [key for key in kwargs if key.endswith("optimizer")]
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.compile takes {', '.join(self.optimizer_names)}, "
                f"not {', '.join(unknown)}."
            )
        defaults = self.compile_defaults()
        loss = defaults.get("loss") if loss is None else loss
        d_steps = defaults.get("d_steps", 1) if d_steps is None else d_steps
        g_steps = defaults.get("g_steps", 1) if g_steps is None else g_steps
        fresh_reals = defaults.get("fresh_reals", False) if fresh_reals is None else fresh_reals
        if int(d_steps) < 1 or int(g_steps) < 1:
            raise ValueError(f"d_steps and g_steps must be >= 1, got {d_steps}, {g_steps}.")
        optimizers = {
            name: keras.optimizers.get(opt) if opt is not None else self.default_optimizer(name)
            for name, opt in given.items()
        }
        if len({id(o) for o in optimizers.values()}) < len(optimizers):
            raise ValueError(
                f"{', '.join(self.optimizer_names)} must be different optimizer instances: "
                "one instance cannot hold the state of two networks."
            )
        for name, optimizer in optimizers.items():
            setattr(self, name, self.with_loss_scaling(optimizer))
        self.loss_pair = gan_losses.get(loss)
        self.d_steps, self.g_steps = int(d_steps), int(g_steps)
        self.reuse_fakes = bool(reuse_fakes)
        self.fresh_reals = bool(fresh_reals)
        penalties = self.default_penalties() if penalties is None else penalties
        self.penalties = [gan_losses.get_penalty(p) for p in penalties]
        self._requested_jit_compile = jit_compile
        if jit_compile == "auto" and not run_eagerly:
            jit_compile = self._auto_jit_compile()
        super().compile(
            optimizer=OptimizerGroup({name: getattr(self, name) for name in self.optimizer_names}),
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            auto_scale_loss=False,
            **kwargs,
        )
        self.phases = self.build_phases()
        self._build_optimizers()
        self._trackers = [keras.metrics.Mean(name=name) for name in self.metric_names()]

    def _build_optimizers(self):
        # Build optimizer state now, eagerly: never inside a traced step, and
        # before `load_model` restores it. Phases sharing an optimizer (a lazy
        # penalty and its main phase) must update the same variables.
        built = {}
        for phase in self.phases:
            for name, variables in zip(*self.phase_updates(phase)):
                ids = [id(v) for v in variables]
                if name in built:
                    if built[name] != ids:
                        raise ValueError(
                            f"Phase {phase.name!r} uses {name} for other variables than "
                            "an earlier phase does; give it an optimizer of its own."
                        )
                    continue
                getattr(self, name).build(variables)
                built[name] = ids
        self.optimizer.built = True

    def with_loss_scaling(self, optimizer):
        """`optimizer`, wrapped in a `LossScaleOptimizer` under the
        mixed_float16 policy: float16 gradients underflow without scaling."""
        LSO = keras.optimizers.LossScaleOptimizer
        float16 = "mixed_float16" in (self.dtype_policy.name, keras.config.dtype_policy().name)
        return LSO(optimizer) if float16 and not isinstance(optimizer, LSO) else optimizer

    def _auto_jit_compile(self):
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # XLA on GPUs only: on CPUs oneDNN's convolutions beat XLA's
            # (the DCGAN step: 74-76 against 31 img/s, benchmarks/README.md),
            # and a multi-device strategy runs best without it.
            return bool(tf.config.list_physical_devices("GPU")) and not tf.distribute.has_strategy()
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
        config = {
            name: keras.saving.serialize_keras_object(getattr(self, name))
            for name in self.optimizer_names
        }
        config.update(
            loss=gan_losses.serialize(self.loss_pair),
            d_steps=self.d_steps,
            g_steps=self.g_steps,
            penalties=[keras.saving.serialize_keras_object(p) for p in self.penalties],
            reuse_fakes=self.reuse_fakes,
            fresh_reals=self.fresh_reals,
            jit_compile=self._requested_jit_compile,
            run_eagerly=self.run_eagerly,
            steps_per_execution=self.steps_per_execution,
        )
        return config

    def compile_from_config(self, config):
        config = dict(config)
        for key in self.optimizer_names:
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        if "loss" in config:
            config["loss"] = gan_losses.deserialize(config["loss"])
        if config.get("penalties") is not None:
            config["penalties"] = [gan_losses.get_penalty(p) for p in config["penalties"]]
        self.compile(**config)

    # -- phases --------------------------------------------------------------

    def build_phases(self):
        """The phases of a training step, in order (called by `compile`).

        The default: `discriminator` (`d_steps` updates; penalties with
        interval 1 join its loss), one phase per lazy penalty (interval > 1),
        then `generator` (`g_steps` updates), then one phase per generator
        penalty (every `interval` steps). Override to declare others.
        """
        eager, lazy = self._split_penalties()
        for penalty in self.penalties:
            if penalty.network not in ("discriminator", "generator"):
                raise ValueError(
                    f"{penalty!r} regularizes the {penalty.network}; "
                    f"{type(self).__name__} declares no phase for it."
                )
        phases = [
            Phase(
                "discriminator",
                networks=("discriminator",),
                optimizers=("d_optimizer",),
                prepare=self._prepare_discriminator_update,
                loss=self._discriminator_update_loss,
                logs=("d_loss",) + self.score_log_names() + tuple(p.name for p in eager)
                + (("augment_p",) if self.augment_state is not None else ()),
                repeats=self.d_steps,
                after_update=tuple(self.after_update("discriminator")),
            )
        ]
        for penalty in lazy:  # the discriminator's (`_split_penalties`)
            phases.append(self.lazy_penalty_phase(penalty, "discriminator", "d_optimizer"))
        phases.append(
            Phase(
                "generator",
                networks=("generator",),
                optimizers=("g_optimizer",),
                loss=self._generator_update_loss,
                reuse=self.generator_loss if self.reuse_fakes else None,
                logs=("g_loss",),
                repeats=self.g_steps,
                after_update=tuple(self.after_update("generator")),
            )
        )
        # A generator penalty (StyleGAN2's path length) is a phase of its own
        # after the generator's, every `interval` steps: the generator phase
        # may reuse the discriminator phase's fakes, so there is no forward
        # pass of its own to join it to.
        for penalty in self.penalties:
            if penalty.network == "generator":
                phases.append(self.lazy_penalty_phase(penalty, "generator", "g_optimizer"))
        return phases

    def _split_penalties(self):
        """The discriminator penalties joined to its loss, and the lazy ones.

        Under a multi-replica tf.distribute strategy optimizers cannot run
        in a conditional, so lazy penalties join the loss every step there,
        at their plain weight: the non-lazy form of the same regularizer.
        """
        penalties = [p for p in self.penalties if p.network == "discriminator"]
        if not gan_backend.conditional_updates_supported():
            return penalties, []
        return ([p for p in penalties if p.interval == 1],
                [p for p in penalties if p.interval > 1])

    def lazy_penalty_phase(self, penalty, network, optimizer):
        """A phase of its own for `penalty`, every `penalty.interval` steps,
        minimising `interval * penalty` (lazy regularization: the same
        average strength, applied less often). Where updates cannot run in
        a conditional (a multi-replica tf.distribute strategy) it runs every
        step at its plain weight."""
        interval = penalty.interval if gan_backend.conditional_updates_supported() else 1

        def loss(step, repeat):
            real, conditions = step.real_batch(0)
            fake, fake_conditions = (None, None) if step.fakes is None else step.fakes[:2]
            inputs = gan_losses.PenaltyInputs(real, fake, conditions, fake_conditions, None)
            value = penalty(self, inputs)
            return value * float(interval), {penalty.name: value}

        return Phase(penalty.name, networks=(network,), optimizers=(optimizer,), loss=loss,
                     logs=(penalty.name,), interval=interval)

    def after_update(self, phase_name):
        """Hooks `hook(step)` to run after each update of a phase: here the
        generator's EMA after the generator phase. Families add theirs
        (weight clipping, augmentation probability) and call super()."""
        if phase_name == "generator" and self.ema_generator is not None:
            return [self.update_ema]
        if phase_name == "discriminator" and self.augment_state is not None:
            return [self.update_augment_probability]
        return []

    def update_augment_probability(self, step):
        """ADA's controller (an after-update hook of the discriminator):
        accumulate the update's mean sign of D on reals; after every
        `ada_interval`-th step, move p (`keras_gans.augment.ada_update`).
        Logs p as it stands after the update (`augment_p`)."""
        state = self.augment_state
        state.accumulate(step.logs["real_sign"])
        steps = self.progress.steps.value + 1  # this step, counted from 1
        due = ops.equal(ops.mod(steps, self.ada_interval), 0)
        images = ops.shape(step.real)[0] * gan_backend.replica_info()[1]  # reals per step
        state.adjust(due, ops.cast(images, "float32"), self.ada_interval, self.ada_target,
                     self.ada_speed_kimg)
        return {"augment_p": ops.convert_to_tensor(state.probability.value)}

    def phase_updates(self, phase):
        """`(optimizer names, variable lists)` of a phase: each variable once,
        given to the optimizer of the first network that holds it."""
        networks = [getattr(self, name) for name in phase.networks]
        if len(phase.optimizers) not in (1, len(networks)):
            raise ValueError(
                f"Phase {phase.name!r} names {len(phase.optimizers)} optimizers for "
                f"{len(networks)} networks: give one, or one per network."
            )
        seen, groups = set(), []
        for network in networks:
            group = []
            for variable in network.trainable_variables:
                if id(variable) not in seen:
                    seen.add(id(variable))
                    group.append(variable)
            groups.append(group)
        if len(phase.optimizers) == 1:
            groups = [[v for group in groups for v in group]]
        return list(phase.optimizers), groups

    # -- metrics -------------------------------------------------------------

    def score_log_names(self):
        """`d_real`/`d_fake`, the mean probabilities D(x) and D(G(z)), for
        losses with a probabilistic reading (minimax, non-saturating);
        otherwise `real_score`/`fake_score`, the mean raw critic scores."""
        if self.loss_pair.probabilistic:
            return ("d_real", "d_fake")
        return ("real_score", "fake_score")

    def metric_names(self):
        """Names of the trackers shown in the progress bar and History: the
        logs the phases declare, in order."""
        names = []
        for phase in self.phases:
            names.extend(name for name in phase.logs if name not in names)
        return names

    @property
    def metrics(self):
        return list(self._trackers)

    def _update_trackers(self, logs, weights=None):
        weights = weights or {}
        for tracker in self._trackers:
            if tracker.name in logs:
                tracker.update_state(logs[tracker.name], sample_weight=weights.get(tracker.name))
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

    # -- what the generator takes ----------------------------------------------

    @property
    def latents(self):
        """The generator's inputs, as `keras_gans.sampling.LatentInput`s."""
        return [sampling.LatentInput("z", (self.latent_dim,))]

    @property
    def image_names(self):
        """Names of the generator's outputs (the export's output keys):
        `("images",)`, or one per output for generators with several
        (CoGAN's `("images_a", "images_b")`)."""
        return ("images",)

    @property
    def num_classes(self):
        """Classes of the model's "labels" input; None when it has none."""
        for spec in self.latents:
            if spec.kind == "labels":
                return spec.num_classes
        return None

    def draw_inputs(self, batch_size, conditions=None):
        """The generator's inputs for one batch, drawn inside the step from
        the model's SeedGenerator (conditional models: given `conditions`,
        the real batch's)."""
        return sampling.draw_in_step(self.latents, batch_size, self.seed_generator)

    def input_conditions(self, inputs):
        """What the discriminator is told about fakes made from `inputs` (the
        labels of a conditional model); None for unconditional models."""
        return None

    def sample_noise(self, batch_size):
        """Latent vectors `z` for one batch, from the model's SeedGenerator."""
        return self.draw_inputs(batch_size)["z"]

    def generator_arguments(self, inputs):
        """`inputs` (a dict by latent name) as the generator's call argument:
        the one tensor, or a list in the order of `latents`."""
        values = [inputs[spec.name] for spec in self.latents]
        return values[0] if len(values) == 1 else values

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

    def generate_images(self, inputs, training=False, network=None):
        """Fakes from generator `inputs` (a dict by latent name), by
        `network` (default: the generator being trained)."""
        network = self.generator if network is None else network
        return network(self.generator_arguments(inputs), training=training)

    def discriminate(self, images, conditions=None, training=False):
        """The discriminator's logits for `images` (given `conditions`)."""
        return self.discriminator(images, training=training)

    def score(self, images, conditions=None, training=False, first=True):
        """What the losses and penalties read: `discriminate`, after the
        model's augmentation when training (`augment`, with ADA's p).

        `first=False` marks a later call within the same loss. A
        spectrally normalized discriminator (Keras' `SpectralNormalization`
        writes W / sigma into the kernel on every training-mode call) then
        runs in inference mode when that mode computes the same function
        (no BatchNorm, no dropout): one power iteration per loss, reals and
        fakes judged by the same kernels as in PyTorch's `spectral_norm`,
        and no second in-place write of a kernel that the first call's
        backward pass still reads (PyTorch's autograd refuses that).
        """
        if training and self.augment:
            probability = None
            if self.augment_state is not None:
                probability = self.augment_state.probability.value
            images = gan_augment.diff_augment(images, self.augment, seed=self.seed_generator,
                                              probability=probability)
        if training and not first and self._normalizes_once:
            training = False
        return self.discriminate(images, conditions, training=training)

    def discriminator_loss(self, real, fake, conditions=None, fake_conditions=None, training=True):
        """Discriminator phase loss on a real and a fake batch: `(loss, logs)`.

        The compiled loss pair, plus the penalties of interval 1 (each
        logged under its name) and the discriminator's weight regularizers.
        """
        real_logits = self.score(real, conditions, training=training)
        fake_logits = self.score(fake, fake_conditions, training=training, first=False)
        loss = self.loss_pair.discriminator(real_logits, fake_logits)
        logs = self.score_logs(real_logits, fake_logits)
        if self.augment_state is not None:
            # For ADA's controller (an after-update hook) and the progress bar.
            logs["real_sign"] = ops.mean(ops.sign(ops.cast(real_logits, "float32")))
        if training:
            inputs = gan_losses.PenaltyInputs(real, fake, conditions, fake_conditions, real_logits)
            for penalty in self._split_penalties()[0]:
                value = penalty(self, inputs)
                logs[penalty.name] = value
                loss = loss + value
        regularization = self.regularization_loss(self.discriminator)
        if regularization is not None:
            loss = loss + regularization
        logs["d_loss"] = loss
        return loss, logs

    def generator_loss(self, fake, fake_conditions=None, training=True):
        """Generator phase loss on a fake batch: `(loss, logs)`."""
        fake_logits = self.score(fake, fake_conditions, training=training)
        loss = self.loss_pair.generator(fake_logits)
        regularization = self.regularization_loss(self.generator)
        if regularization is not None:  # Its gradient: see _update_through_fakes.
            loss = loss + regularization
        return loss, {"g_loss": loss}

    @staticmethod
    def regularization_loss(*networks):
        """The sum of the networks' `losses` (weight regularizers such as
        `kernel_regularizer`), or None when they have none."""
        losses = [ops.cast(x, "float32") for network in networks for x in network.losses]
        if not losses:
            return None
        return ops.sum(ops.stack(losses))

    # -- the step ------------------------------------------------------------

    def sample_fakes(self, batch_size, conditions, training=True, with_pullback=True):
        """Draw generator inputs and generate one fake batch.

        Returns `(fake, fake_conditions, pullback)`; `pullback(grad_fake)`
        maps a gradient with respect to the fakes to generator gradients, so
        the generator phase can reuse this forward pass instead of repeating
        it. With `with_pullback=False` the pullback is None.
        """
        return self._sample(batch_size, conditions, training, with_pullback)[:3]

    def _sample(self, batch_size, conditions, training=True, with_pullback=True):
        # sample_fakes, and the generator inputs it drew.
        inputs = self.draw_inputs(batch_size, conditions)
        fake_conditions = self.input_conditions(inputs)
        generate = lambda: self.generate_images(inputs, training=training)  # noqa: E731
        if not with_pullback:
            return generate(), fake_conditions, None, inputs
        fake, pullback = gan_backend.forward_and_pullback(generate, self.generator_variables)
        return fake, fake_conditions, pullback, inputs

    def _prepare_discriminator_update(self, step, repeat):
        # The last update's fakes keep a pullback for the generator phase.
        # (Not from inside a loop over a traced count: its fakes stay there.)
        keep = self.reuse_fakes and isinstance(repeat, int) and repeat == self.d_steps - 1
        fake, fake_conditions, pullback, step.inputs = self._sample(
            step.batch_size, step.real_batch(repeat)[1], with_pullback=keep
        )
        step.fakes = (fake, fake_conditions, pullback)

    def _discriminator_update_loss(self, step, repeat):
        real, conditions = step.real_batch(repeat)
        fake, fake_conditions, _ = step.fakes
        return self.discriminator_loss(real, ops.stop_gradient(fake), conditions, fake_conditions)

    def _generator_update_loss(self, step, repeat):
        conditions = step.real_batch(repeat)[1]
        fake, fake_conditions, _, step.inputs = self._sample(
            step.batch_size, conditions, with_pullback=False
        )
        return self.generator_loss(fake, fake_conditions)

    def apply_update(self, optimizer, variables, loss_fn):
        """Minimise `loss_fn() -> (loss, logs)` over `variables` by one step
        of `optimizer`: an update outside the phases (tests, custom loops)."""
        return self._apply([optimizer], [list(variables)], loss_fn)

    def _apply(self, optimizers, groups, loss_fn):
        """One gradient of `loss_fn`'s loss over all `groups`' variables; each
        optimizer applies its group's part.

        Under float16 every optimizer is a LossScaleOptimizer with its own
        dynamic scale; the gradient is taken at the first one's, so the
        others get theirs rescaled before they unscale and check them.
        """
        lead = optimizers[0]

        def scaled_loss():
            loss, logs = loss_fn()
            return lead.scale_loss(gan_backend.scale_loss_for_replicas(loss)), logs

        variables = [v for group in groups for v in group]
        loss, logs, grads = gan_backend.value_and_grad(scaled_loss, variables)
        self._apply_gradients(optimizers, groups, grads, after=(loss, logs))
        return logs

    def _apply_gradients(self, optimizers, groups, grads, after=None):
        lead_scale = optimizers[0].scale_loss(1.0) if len(optimizers) > 1 else None
        start = 0
        for optimizer, group in zip(optimizers, groups):
            part = list(grads[start : start + len(group)])
            if optimizer is not optimizers[0] and isinstance(
                optimizer, keras.optimizers.LossScaleOptimizer
            ):
                ratio = ops.divide(optimizer.scale_loss(1.0), lead_scale)
                part = [ops.multiply(g, ops.cast(ratio, g.dtype)) for g in part]
            gan_backend.apply_gradients(optimizer, part, group, after=after)
            start += len(group)

    def _update_through_fakes(self, phase, optimizers, groups, step):
        """One generator update from the fakes the discriminator phase drew:
        the loss's gradient with respect to the fakes, pulled back through G.
        """
        fake, fake_conditions, pullback = step.fakes
        lead = optimizers[0]

        def scaled_loss(images):
            loss, logs = phase.reuse(images, fake_conditions)
            return lead.scale_loss(gan_backend.scale_loss_for_replicas(loss)), logs

        loss, logs, fake_grads = gan_backend.value_and_input_grad(scaled_loss, fake)
        grads = pullback(fake_grads)
        networks = [getattr(self, name) for name in phase.networks]
        if self.regularization_loss(*networks) is not None:
            # Weight regularizers depend on G's weights directly, not through
            # the fakes, so the pullback misses their gradient: add it.
            variables = [v for group in groups for v in group]

            def scaled_regularization():
                loss = gan_backend.scale_loss_for_replicas(self.regularization_loss(*networks))
                return lead.scale_loss(loss), {}

            _, _, extra = gan_backend.value_and_grad(scaled_regularization, variables)
            grads = [g + ops.cast(e, g.dtype) for g, e in zip(grads, extra)]
        self._apply_gradients(optimizers, groups, grads, after=(fake, loss, logs))
        step.fakes = None
        return logs

    def run_phase(self, phase, step):
        """Run one phase's updates and hooks; returns `(logs, weights)`, the
        weights being the tracker sample weights of conditional phases."""
        names, groups = self.phase_updates(phase)
        optimizers = [getattr(self, name) for name in names]

        def update(repeat):
            if phase.prepare is not None:
                phase.prepare(step, repeat)
            if phase.reuse is not None and repeat == 0 and step.fakes is not None \
                    and step.fakes[2] is not None:
                logs = self._update_through_fakes(phase, optimizers, groups, step)
            else:
                logs = self._apply(optimizers, groups, lambda: phase.loss(step, repeat))
            step.logs = logs  # what the update's hooks may read
            for hook in phase.after_update:
                extra = hook(step)
                if isinstance(extra, dict):  # a hook may log, too
                    logs.update(extra)
            return logs

        def all_repeats():
            if callable(phase.repeats):
                def once(repeat):
                    logs = update(repeat)
                    return {name: logs[name] for name in phase.logs}

                logs = gan_backend.run_repeated(phase.repeats(), once, phase.logs)
                step.fakes = step.inputs = None  # the loop's tensors stay inside it
                return logs
            logs = {}
            for repeat in range(phase.repeats):
                logs.update(update(repeat))
            return {name: logs[name] for name in phase.logs}

        if phase.interval == 1:
            return all_repeats(), {}
        due = ops.equal(ops.mod(self.progress.steps.value, phase.interval), 0)
        logs, ran = gan_backend.run_if(due, all_repeats, phase.logs)
        return logs, {name: ran for name in phase.logs}

    def gan_train_step(self, data):
        """One batch: every phase in order, then the progress counters.
        Backend-neutral; returns the tracker results."""
        step = StepState(self.unpack_batch(data), self.d_steps if self.fresh_reals else 1)
        logs, weights = {}, {}
        for phase in self.phases:
            phase_logs, phase_weights = self.run_phase(phase, step)
            logs.update(phase_logs)
            weights.update(phase_weights)
        self.progress.advance(ops.shape(step.real)[0])
        return self._update_trackers(logs, weights)

    def gan_test_step(self, data):
        """Both phases' losses on a batch, without updates."""
        real, conditions = self.unpack_batch(data)
        batch_size = ops.shape(real)[0]
        inputs = self.draw_inputs(batch_size, conditions)
        fake_conditions = self.input_conditions(inputs)
        fake = self.generate_images(inputs, training=False)
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

    def fit(self, x=None, y=None, *args, stop_on_divergence=False, **kwargs):
        """`keras.Model.fit`, with one option more.

        Args:
            stop_on_divergence: stop at the first step whose losses are NaN
                or infinite (and check the weights at every epoch's end), with
                a `keras_gans.callbacks.DivergenceError` that names the step,
                the logs that went bad and what to try. It runs before the
                other callbacks, so no checkpoint is written from bad weights.
            *args, **kwargs: as for `keras.Model.fit`. A `tf.data.Dataset` or
                `PyDataset` brings its own order, so `shuffle` defaults to
                False for them: Keras ignores it there anyway, but warns about
                its default on every call.
        """
        if not args and (hasattr(x, "element_spec") or isinstance(x, keras.utils.PyDataset)):
            kwargs.setdefault("shuffle", False)
        if stop_on_divergence:
            from keras_gans.callbacks import StopOnDivergence

            callbacks = list(kwargs.get("callbacks") or [])
            if not any(isinstance(c, StopOnDivergence) for c in callbacks):
                kwargs["callbacks"] = [StopOnDivergence()] + callbacks
        return super().fit(x, y, *args, **kwargs)

    def _check_compiled(self):
        if not self._trackers:
            raise ValueError("Call `compile()` before training or evaluating the GAN.")

    # -- the generator's moving average ----------------------------------------

    def images_per_step(self):
        """The mean number of real images a step has read so far (float32;
        1 before any): what turns a horizon in images into a decay per step."""
        images = ops.maximum(ops.cast(self.progress.images.value, "float32"), 1.0)
        return images / ops.maximum(ops.cast(self.progress.steps.value, "float32"), 1.0)

    @staticmethod
    def half_life_decay(per_step, half_life):
        """The per-step decay under which weights `half_life` images old
        count half, at `per_step` images a step."""
        return ops.power(0.5, per_step / ops.maximum(half_life, 1e-8))

    def ema_decay_now(self):
        """The EMA decay of this step: 0 (copy) before `ema_start`, then
        `ema_decay`, shortened during an `ema_rampup`."""
        steps = ops.cast(self.progress.steps.value, "float32")
        decay = ops.convert_to_tensor(self.ema_decay, "float32")
        if self.ema_rampup is not None:
            # StyleGAN's ramp-up: the horizon (in images) is at most
            # rampup * images seen, and the decay per step follows from it.
            images = ops.maximum(ops.cast(self.progress.images.value, "float32"), 1.0)
            per_step = self.images_per_step()
            full_horizon = per_step / (1.0 - decay)
            horizon = ops.minimum(full_horizon, self.ema_rampup * images)
            decay = ops.minimum(self.half_life_decay(per_step, horizon), self.ema_decay)
        return ops.where(steps < self.ema_start, 0.0, decay)

    def update_ema(self, step=None):
        """Move the average towards the generator (an after-update hook).

        Its BatchNorm statistics must describe the averaged weights, not the
        raw ones: a generator with BatchNorm runs the average once in
        training mode on the step's inputs, which updates them; otherwise
        the non-trainable variables are copied.
        """
        decay = self.ema_decay_now()
        recompute = _has_batch_norm(self.generator) and step is not None \
            and step.inputs is not None
        for average, weight in zip(self.ema_generator.weights, self.generator.weights):
            if weight.trainable:
                mixed = decay * ops.cast(average, "float32") \
                    + (1.0 - decay) * ops.cast(weight, "float32")
                average.assign(ops.cast(mixed, average.dtype))
            elif not recompute:
                average.assign(weight)
        if recompute:
            self.generate_images(step.inputs, training=True, network=self.ema_generator)

    def sampling_generator(self, use_ema=None):
        """The network that samples: the EMA when the model keeps one (unless
        `use_ema=False`), else the generator."""
        if use_ema is None:
            use_ema = self.ema_generator is not None
        if use_ema and self.ema_generator is None:
            raise ValueError(f"{type(self).__name__} keeps no EMA generator (ema_decay=None).")
        return self.ema_generator if use_ema else self.generator

    # -- inference -----------------------------------------------------------

    def call(self, inputs, training=False):
        """Generate images from generator inputs (what `predict(z)` runs),
        with the EMA generator when the model keeps one."""
        return self.sampling_generator()(inputs, training=training)

    def sample_inputs(self, n, seed=None, labels=None, truncation=None):
        """Generator inputs for `n` images as a dict of NumPy arrays.

        Args:
            n: number of images.
            seed: an int for reproducible inputs (the same on every backend);
                otherwise the model's SeedGenerator advances.
            labels: class ids, one per image (conditional models); drawn
                uniformly when omitted.
            truncation: resample latent entries beyond +-truncation (None: off).
        """
        if labels is not None and self.num_classes is None:
            raise ValueError(f"{type(self).__name__} is not conditional: `labels` do not apply.")
        return sampling.draw_numpy(self.latents, int(n), seed=seed, labels=labels,
                                   truncation=truncation, seed_generator=self.seed_generator)

    def generate(self, n=None, seed=None, labels=None, inputs=None, z=None, truncation=None,
                 batch_size=256, use_ema=None):
        """Generate images as a NumPy array in [-1, 1].

        Args:
            n: number of images (with fresh inputs). Conditional models also
                take an int as `labels` (n images of classes 0, 1, ... in turn)
                or a list of labels (one image each).
            seed: an int for reproducible inputs; otherwise the model's
                SeedGenerator advances.
            labels: class ids, one per image (conditional models).
            inputs: generator inputs, a dict by latent name (`sample_inputs`),
                instead of drawing them.
            z: latent vectors `(n, latent_dim)`, the same as `inputs={"z": z}`
                (conditional models draw or take `labels` beside them).
            truncation: resample latent entries beyond +-truncation (BigGAN's
                truncation trick; None: off).
            batch_size: images per generator call.
            use_ema: sample with the EMA generator (default: when the model
                keeps one) or the raw one (False).

        Returns:
            NumPy float32 images in [-1, 1]; a tuple of arrays for generators
            with several outputs (`image_names`).
        """
        inputs = self._resolve_inputs(n, seed, labels, inputs, z, truncation)
        network = self.sampling_generator(use_ema)
        count = len(next(iter(inputs.values())))
        parts = [
            keras.tree.map_structure(ops.convert_to_numpy, self.generate_images(
                {k: v[i : i + batch_size] for k, v in inputs.items()}, network=network
            ))
            for i in range(0, count, batch_size)
        ]
        # One array, or a tuple of them for generators with several outputs
        # (`image_names`: CoGAN's pair).
        joined = [np.concatenate(column).astype("float32") for column in zip(*(
            part if isinstance(part, (list, tuple)) else [part] for part in parts))]
        return joined[0] if len(joined) == 1 else tuple(joined)

    def _resolve_inputs(self, n, seed, labels, inputs, z, truncation):
        if self.num_classes is not None and labels is not None and np.ndim(labels) == 0:
            labels = np.arange(int(labels)) % self.num_classes
        if inputs is None:
            inputs = {}
        inputs = {k: np.asarray(ops.convert_to_numpy(v)) for k, v in dict(inputs).items()}
        if z is not None:
            inputs["z"] = np.asarray(ops.convert_to_numpy(z), dtype="float32")
        if labels is not None:
            inputs["labels"] = np.asarray(labels)
        names = [spec.name for spec in self.latents]
        unknown = set(inputs) - set(names)
        if unknown:
            raise ValueError(f"{type(self).__name__} takes inputs {names}, not {sorted(unknown)}.")
        if n is None and inputs:
            n = len(next(iter(inputs.values())))
        if n is None:
            raise ValueError("Pass `n` (how many images), `labels`, or `z`/`inputs`.")
        missing = [spec.name for spec in self.latents if spec.name not in inputs]
        drawn = {}
        if missing:
            drawn = self.sample_inputs(n, seed=seed, labels=inputs.get("labels"),
                                       truncation=truncation)
        for spec in self.latents:
            if spec.name not in inputs:
                continue
            value = inputs[spec.name]
            if spec.kind == "labels":
                value = sampling.check_labels(value, spec.num_classes)
            expected = (n, *spec.shape)
            if tuple(np.shape(value)) != expected:
                raise ValueError(
                    f"Expected {spec.name} of shape {expected}, got {tuple(np.shape(value))}"
                    + (f" (shape (n, {self.latent_dim}) for z)." if spec.name == "z" else ".")
                )
            drawn[spec.name] = value.astype(spec.dtype)
        return drawn

    def grid_inputs(self, num_samples, seed=0, truncation=None):
        """Fixed inputs for a sample grid (`SampleGrid` draws them once);
        `truncation` resamples latent entries beyond +-truncation."""
        return self.sample_inputs(num_samples, seed=seed, truncation=truncation)

    def grid_images(self, inputs):
        """Images for a sample grid and its number of columns."""
        return self.generate(inputs=inputs), None

    # -- serialization -------------------------------------------------------

    def get_config(self):
        """The base arguments and the networks; families add their own
        arguments and drop the networks they build from them
        (`without_networks`)."""
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "latent_dim": self.latent_dim,
            "seed": self.seed,
        }
        if self.ema_decay is not None:
            config.update(ema_decay=self.ema_decay, ema_start=self.ema_start,
                          ema_rampup=self.ema_rampup)
        if self.augment:
            config.update(augment=self.augment, ada_target=self.ada_target,
                          ada_interval=self.ada_interval, ada_speed_kimg=self.ada_speed_kimg)
        config.update(self.network_config())
        return config

    def network_config(self):
        """The networks, serialized."""
        return {name: keras.saving.serialize_keras_object(network)
                for name, network in self.networks().items()}

    def without_networks(self, config):
        """`config` without the networks: for families whose networks follow
        from their other arguments."""
        return {k: v for k, v in config.items() if k not in self.networks()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key, value in config.items():
            if isinstance(value, dict) and "class_name" in value and "config" in value \
                    and key not in ("dtype",):
                config[key] = keras.saving.deserialize_keras_object(value)
        return cls(**config)
