"""Progressive growing (Karras et al. 2018): networks that train at 4x4 first
and double their resolution in stages, fading each new block in.

ProGAN uses it whole, and StyleGAN's original form grows the same way, so
the machinery is here, apart from any one family's layers:

- `GrowthSchedule`: the stages (resolutions), how many real images each new
  resolution fades in over and is then held for, and optional per-stage
  batch sizes. It maps the images seen (`gan.progress.images`) to a stage and
  to the fade-in alpha, in Python and inside the compiled step.
- `ProgressiveGenerator`, `ProgressiveDiscriminator`: Keras models holding
  the blocks and the toRGB/fromRGB layers of *every* resolution from the
  start, with a Python attribute `stage` selecting the path and a
  non-trainable weight `alpha` (the newest block's fade-in). A family
  subclasses them with its blocks (ProGAN's convolutions, StyleGAN's
  modulated ones) and inherits the fade.
- `GrowingGAN`: the `GAN` trainer, growing: it sets every network's alpha at
  the start of each step from the images seen, downscales and fades the
  real images to the stage (so both sides of the discriminator see the
  same blend), and grows the networks at step boundaries (`Growth`).
- `Growth`: the callback that grows the networks when the schedule says and
  writes a sample grid of each finished stage; `GrowingGAN.fit` adds one.

Why this design. A stage's networks have other output (and input) shapes,
so each stage needs a compiled step of its own; a tensor-valued stage
cannot select shapes. Keeping every block built from the start means the
variables, the optimizer state and the `.keras` file never change shape:
a stage change only retraces the step. Keras' `fit` looks up
`model.train_function` at every step on all three backends, so the
`Growth` callback can set the new stage between two steps of one `fit` and
rebuild the step function; the training runner needs no change, and a
user's own `fit` grows the same way. Within a stage, alpha is a tensor read
from `progress.images` inside the step, so it rises every step without
retracing. As in the reference code (whose networks hold `lod` as a
variable assigned each step), alpha is a weight of each network: exports,
`generate` and `predict` see the alpha of the last step, and it is saved.

The reals come from one dataset at the final resolution and are
box-downscaled in the step (the reference code reads a dataset stored at
every resolution, made with the same box filter). During a fade-in they
are blended like the generator's output: `lerp(upscale(downscale(x, 2), 2),
x, alpha)` at the stage's resolution.

The stage a model is in is part of its config (`phase`), so `load_model`
builds it in the stage it was saved in, before its weights (progress,
alpha, optimizer moments) load. On entering every phase (a fade-in, then
its hold), the optimizers' moments and step counts are reset, as the
reference code does by default (`reset_opt_for_new_lod`): the new layers'
gradients have other scales than the old ones'.

The generator EMA restarts at each growth (`ema_stage_rampup`): its
half-life, in images, is at most a fraction of the images since the
current stage began, so the first step of a stage copies the generator and
the horizon then grows back to `ema_decay`'s. Without it, an EMA whose
horizon is longer than a stage (0.999 is 1,000 steps, 16k images at batch
16; a CPU schedule's stage is a few hundred steps) samples the new block
with weights still dominated by their untrained initial values and by the
fade-in's trajectory, while the raw generator has moved on (the MNIST 32 px
benchmark, 625 steps a phase, measured the EMA's 16x16 Frechet distance at
262 against the raw generator's 48 before the restart). The reference
code's EMA never restarts, but its stages of 1.2M images are 75 times its
horizon.
"""

import math

import numpy as np

import keras
from keras import ops

from keras_gans.callbacks import SampleGrid
from keras_gans.gan import GAN


# -- resampling -------------------------------------------------------------------


def upscale(images, factor=2):
    """Nearest-neighbour upsampling of NHWC `images` by an int `factor`.

    Example:

    >>> tuple(upscale(keras.ops.ones((1, 4, 4, 3)), 2).shape)
    (1, 8, 8, 3)
    """
    if factor == 1:
        return images
    return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)


def downscale(images, factor=2):
    """Box-filter downsampling (the mean of each `factor` x `factor` patch) of
    NHWC `images`; the same as `factor`'s log2 halvings in a row.

    Example:

    >>> tuple(downscale(keras.ops.ones((1, 8, 8, 3)), 4).shape)
    (1, 2, 2, 3)
    """
    if factor == 1:
        return images
    return ops.average_pool(images, factor, factor, padding="valid", data_format="channels_last")


def fade(old, new, alpha):
    """`old + (new - old) * alpha`: the old path at alpha 0, the new one at 1.

    Example:

    >>> float(fade(0.0, 4.0, 0.25))
    1.0
    """
    return old + (new - old) * alpha


def resolutions(final_resolution, start_resolution=4):
    """The resolutions of the stages: `start_resolution`, doubled up to
    `final_resolution` (powers of two times the start).

    Example:

    >>> resolutions(32)
    (4, 8, 16, 32)
    """
    final, start = int(final_resolution), int(start_resolution)
    stages = int(round(math.log2(final / start))) if final >= start > 0 else -1
    if stages < 0 or start * 2**stages != final:
        raise ValueError(
            f"A growing network doubles its resolution from {start_resolution} in stages, so "
            f"the image size must be {start_resolution} times a power of two (e.g. 32, 64, "
            f"128); got {final_resolution}."
        )
    return tuple(start * 2**i for i in range(stages + 1))


# -- the schedule ---------------------------------------------------------------------


class GrowthSchedule:
    """When a growing GAN trains at which resolution, counted in real images.

    Stage 0 trains at `start_resolution` for `hold_images` images. Every
    later stage doubles the resolution: its new block fades in while the
    next `fade_images` images are shown (alpha rises linearly from 0 to 1),
    then the stage is held for `hold_images` more. The last stage trains
    from then on until training ends. The reference code's defaults are 600k
    and 600k (`lod_training_kimg`, `lod_transition_kimg`; the paper's text
    says 800k); small datasets need far fewer.

    Phases number the parts: 0 is stage 0; phase `2s - 1` fades stage s in
    and phase `2s` holds it.

    Args:
        final_resolution: the last stage's resolution (the image size).
        start_resolution: the first stage's (4 in the papers).
        hold_images: real images per hold (and for the whole first stage).
        fade_images: real images per fade-in; default `hold_images`.
        batch_sizes: optional `{resolution: batch size}` (the reference
            code's `minibatch_dict`): a stage trains on the first that many
            images of each dataset batch, so batch the data at the largest.
            Resolutions left out use the whole batch.

    Example:

    >>> schedule = GrowthSchedule(32, hold_images=1000)
    >>> schedule.resolutions, schedule.stage_at(1500), schedule.alpha_at(1500)
    ((4, 8, 16, 32), 1, 0.5)
    """

    def __init__(self, final_resolution, start_resolution=4, hold_images=600_000,
                 fade_images=None, batch_sizes=None):
        self.resolutions = resolutions(final_resolution, start_resolution)
        self.hold_images = int(hold_images)
        self.fade_images = self.hold_images if fade_images is None else int(fade_images)
        if self.hold_images < 1 or self.fade_images < 1:
            raise ValueError(
                f"hold_images and fade_images must be >= 1 (real images per phase), got "
                f"{hold_images} and {fade_images}."
            )
        self.batch_sizes = {int(k): int(v) for k, v in (batch_sizes or {}).items()}
        unknown = sorted(set(self.batch_sizes) - set(self.resolutions))
        if unknown:
            raise ValueError(
                f"batch_sizes names resolutions {unknown}, which are not stages of this "
                f"schedule {self.resolutions}."
            )
        bad = {k: v for k, v in self.batch_sizes.items() if v < 1}
        if bad:
            raise ValueError(f"batch_sizes must be >= 1, got {bad}.")

    @property
    def num_stages(self):
        return len(self.resolutions)

    @property
    def final_resolution(self):
        return self.resolutions[-1]

    @property
    def last_phase(self):
        return 2 * (self.num_stages - 1)

    def stage_start(self, stage):
        """The images seen when `stage` begins (its fade-in, for stage > 0)."""
        if stage == 0:
            return 0
        return self.hold_images + (stage - 1) * (self.fade_images + self.hold_images)

    def phase_start(self, phase):
        """The images seen when `phase` begins."""
        stage = self.stage_of(phase)
        return self.stage_start(stage) + (self.fade_images if phase > 0 and phase % 2 == 0 else 0)

    @property
    def total_images(self):
        """The images until the last stage has faded in and been held once:
        the whole schedule."""
        return self.phase_start(self.last_phase) + self.hold_images

    @staticmethod
    def stage_of(phase):
        """The stage of `phase`."""
        return (int(phase) + 1) // 2

    @staticmethod
    def is_fade(phase):
        """Whether `phase` is a fade-in."""
        return int(phase) % 2 == 1

    def phase_at(self, images):
        """The phase when `images` real images have been seen."""
        images = int(images)
        for phase in range(self.last_phase, 0, -1):
            if images >= self.phase_start(phase):
                return phase
        return 0

    def stage_at(self, images):
        """The stage when `images` real images have been seen."""
        return self.stage_of(self.phase_at(images))

    def alpha(self, images, stage):
        """The fade-in of `stage`'s new block after `images` images, as a
        float32 tensor (`images` may be an int tensor read in the step):
        `clip((images - stage_start) / fade_images, 0, 1)`; 1 for stage 0.
        """
        if stage == 0:
            return ops.ones((), "float32")
        # The difference in int32 first: float32 counts exactly only to 2**24.
        elapsed = ops.cast(ops.convert_to_tensor(images, "int32") - self.stage_start(stage),
                           "float32")
        return ops.clip(elapsed / float(self.fade_images), 0.0, 1.0)

    def alpha_at(self, images):
        """The fade-in after `images` images in the stage they fall in (Python float)."""
        stage = self.stage_at(images)
        if stage == 0:
            return 1.0
        return float(np.clip((int(images) - self.stage_start(stage)) / self.fade_images, 0, 1))

    def batch_size(self, stage):
        """The batch size of `stage`, or None for the whole dataset batch."""
        return self.batch_sizes.get(self.resolutions[stage])

    def describe(self, images_per_epoch=None):
        """One line per phase: what trains from which image (and epoch) on."""
        lines = []
        for phase in range(self.last_phase + 1):
            size, start = self.resolutions[self.stage_of(phase)], self.phase_start(phase)
            what = "fade in" if self.is_fade(phase) else "train"
            batch = self.batch_sizes.get(size)
            epoch = f", epoch {start // images_per_epoch + 1}" if images_per_epoch else ""
            lines.append(f"from image {start:,}{epoch}: {what} {size}x{size}"
                         + (f" (batch {batch})" if batch else ""))
        return lines

    def get_config(self):
        return {
            "final_resolution": self.final_resolution,
            "start_resolution": self.resolutions[0],
            "hold_images": self.hold_images,
            "fade_images": self.fade_images,
            "batch_sizes": dict(self.batch_sizes) or None,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, GrowthSchedule) and self.get_config() == other.get_config()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"GrowthSchedule({args})"


# -- networks ---------------------------------------------------------------------------


class ProgressiveNetwork(keras.Model):
    """What both growing networks share: their resolutions, the Python
    attribute `stage` that selects the path (a new stage needs a new trace),
    and the non-trainable weight `alpha`, the newest block's fade-in.

    Subclasses build every block in `__init__` (so all variables exist from
    the start) and set `built`; see `ProgressiveGenerator`.

    Args:
        final_resolution: the resolution of the last stage.
        start_resolution: the resolution of stage 0.
        stage: the stage to start in; default the last (the whole network).
        **kwargs: passed to `keras.Model` (e.g. `name`).
    """

    def __init__(self, final_resolution, start_resolution=4, stage=None, **kwargs):
        super().__init__(**kwargs)
        self.resolutions = resolutions(final_resolution, start_resolution)
        # Every tf.distribute replica assigns the same value: keep the first's.
        self.alpha = self.add_weight(shape=(), initializer="ones", trainable=False,
                                     name="alpha", aggregation="only_first_replica")
        self.stage = self.num_stages - 1 if stage is None else stage

    @property
    def num_stages(self):
        return len(self.resolutions)

    @property
    def stage(self):
        """The stage the network computes: it works at `resolutions[stage]`."""
        return self._stage

    @stage.setter
    def stage(self, stage):
        if not 0 <= int(stage) < self.num_stages:
            raise ValueError(
                f"{self.name} has stages 0..{self.num_stages - 1} (resolutions "
                f"{self.resolutions}); got stage {stage}."
            )
        self._stage = int(stage)

    @property
    def resolution(self):
        """The resolution of the current stage."""
        return self.resolutions[self.stage]

    def _alpha_for(self, x):
        return ops.cast(self.alpha, x.dtype)

    def get_config(self):
        """The base's part of a subclass's config (which adds its own
        arguments, the resolutions among them)."""
        return {"name": self.name, "trainable": self.trainable, "stage": self.stage}


class ProgressiveGenerator(ProgressiveNetwork):
    """A generator that grows: `blocks[0]` maps the prepared input to
    features at the first resolution, `blocks[i]` doubles the resolution of
    `blocks[i - 1]`'s features, and `to_images[i]` maps the features of
    resolution i to an image. At stage s with fade-in alpha:

        x_0 = blocks[0](input), x_i = blocks[i](x_{i-1})
        image = fade(upscale(to_images[s-1](x_{s-1}), 2), to_images[s](x_s), alpha)

    At alpha 0 that is exactly the upscaled image of stage s - 1, so growing
    leaves the function unchanged; at alpha 1 the old toRGB drops out.
    Subclasses set `blocks` and `to_images` (lists, one entry per stage) and
    may override `prepare` and `run_block` (StyleGAN feeds each block its
    styles).

    Example (a subclass's use):

    ```python
    g = kg.models.ProGANGenerator(image_size=32, latent_dim=64, max_filters=32)
    g.stage = 1; g.alpha.assign(0.5)
    g(keras.random.normal((2, 64))).shape   # (2, 8, 8, 3)
    ```
    """

    def prepare(self, inputs):
        """`(features for blocks[0], context for run_block)` from the inputs."""
        return inputs, None

    def run_block(self, index, x, context, training=False):
        """Block `index` on the features `x` (given `prepare`'s context)."""
        return self.blocks[index](x, training=training)

    def call(self, inputs, training=False):
        x, context = self.prepare(inputs)
        previous = None
        for index in range(self.stage + 1):
            previous, x = x, self.run_block(index, x, context, training)
        images = self.to_images[self.stage](x)
        if self.stage == 0:
            return images
        coarse = upscale(self.to_images[self.stage - 1](previous), 2)
        return fade(coarse, images, self._alpha_for(images))


class ProgressiveDiscriminator(ProgressiveNetwork):
    """A discriminator that grows: `from_images[i]` maps an image of
    resolution i to features, `blocks[i]` maps features of resolution i to
    those of resolution i - 1 (`blocks[0]`, at the first resolution, to the
    logits). At stage s with fade-in alpha:

        x = fade(from_images[s-1](downscale(image, 2)), blocks[s](from_images[s](image)), alpha)
        logits = blocks[0](... blocks[s-1](x))

    At alpha 0 that is exactly stage s - 1 on the downscaled image.
    Subclasses set `from_images` and `blocks` (one entry per stage).

    Example (a subclass's use):

    ```python
    d = kg.models.ProGANDiscriminator(image_size=32, max_filters=32, stage=1)
    d.alpha.assign(0.5)
    d(keras.random.normal((4, 8, 8, 3))).shape   # (4, 1)
    ```
    """

    def call(self, images, training=False):
        size = self.resolution
        if tuple(images.shape[1:3]) != (size, size):
            raise ValueError(
                f"{self.name} is at stage {self.stage} and takes {size}x{size} images, got "
                f"shape {tuple(images.shape)}; downscale the images (GrowingGAN does), or "
                "set `stage`."
            )
        x = self.from_images[self.stage](images)
        for index in range(self.stage, -1, -1):
            x = self.blocks[index](x, training=training)
            if index == self.stage and index > 0:
                coarse = self.from_images[index - 1](downscale(images, 2))
                x = fade(coarse, x, self._alpha_for(x))
        return x


def _progressive_networks(network):
    """The growing networks in `network`, itself included (StyleGAN's
    synthesis network grows inside its generator)."""
    return [layer for layer in network._flatten_layers(include_self=True)
            if isinstance(layer, ProgressiveNetwork)]


# -- the trainer --------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="keras_gans")
class GrowingGAN(GAN):
    """A `GAN` whose networks grow by a `GrowthSchedule` during `fit`.

    Each training step first sets every growing network's `alpha` from the
    images seen (`schedule.alpha`), then runs the trainer's phases on the
    real batch downscaled and faded to the stage's resolution
    (`lower_reals`). Between steps, the `Growth` callback (which `fit` adds
    unless one is given) moves the networks to the next phase when the
    schedule reaches it: a new stage retraces the step, and the optimizers'
    moments are reset (`reset_optimizers`). `generate`, sample grids and
    exports give the current stage's resolution (after the whole schedule,
    the final one); sample grids are shown upscaled to it.

    Args:
        generator: a built `ProgressiveGenerator` (or a model containing
            one, e.g. a mapping network followed by a growing synthesis
            network).
        discriminator: a built `ProgressiveDiscriminator` (or containing one).
        schedule: a `GrowthSchedule` (or its config) whose resolutions are
            the networks'.
        reset_optimizers: reset the optimizers' moments and step counts on
            entering each phase, as the reference code does.
        phase: the phase the networks are in; default the schedule's phase
            for the images seen (0 for a new model). Saved in the config, so
            that a loaded model is in the phase it was saved in.
        ema_stage_rampup: with `ema_decay`, the EMA's half-life in images
            is at most this fraction of the images since the current stage
            began (`ema_decay_now`): the average restarts from the generator
            at each growth. None: `ema_decay` throughout.
        **kwargs: `GAN`'s arguments (`latent_dim`, `seed`, `ema_decay`, ...).

    Example:

    ```python
    schedule = kg.growing.GrowthSchedule(32, hold_images=20_000)
    gan = kg.growing.GrowingGAN(my_growing_generator, my_growing_discriminator, schedule)
    gan.compile(loss="wasserstein", penalties=[kg.losses.GradientPenalty(10)])
    gan.fit(images, batch_size=16, epochs=40,
            callbacks=[kg.callbacks.SampleGrid("runs/x/samples")])  # + stage_*.png there
    ```
    """

    def __init__(self, generator, discriminator, schedule, reset_optimizers=True, phase=None,
                 ema_stage_rampup=None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if ema_stage_rampup is not None and not float(ema_stage_rampup) > 0:
            raise ValueError(f"ema_stage_rampup must be > 0 (a fraction of the images since the "
                             f"stage began) or None, got {ema_stage_rampup}.")
        self.ema_stage_rampup = None if ema_stage_rampup is None else float(ema_stage_rampup)
        if isinstance(schedule, dict):
            schedule = GrowthSchedule.from_config(schedule)
        if not isinstance(schedule, GrowthSchedule):
            raise TypeError(f"schedule must be a GrowthSchedule, got {type(schedule).__name__}.")
        self.schedule = schedule
        self.reset_optimizers = bool(reset_optimizers)
        self._growing = []
        for role, network in self.networks().items():
            found = _progressive_networks(network)
            if not found:
                raise TypeError(
                    f"The {role} {network.name!r} does not grow: GrowingGAN's networks are "
                    "(or contain) ProgressiveGenerator / ProgressiveDiscriminator models."
                )
            for grown in found:
                if grown.resolutions != schedule.resolutions:
                    raise ValueError(
                        f"{grown.name} has resolutions {grown.resolutions}, the schedule "
                        f"{schedule.resolutions}; build both for the same image size."
                    )
            self._growing += found
        if self.ema_generator is not None:
            self._growing += _progressive_networks(self.ema_generator)
        self.phase = None
        self._enter(schedule.phase_at(0) if phase is None else int(phase))

    # -- where the growth stands -----------------------------------------------------

    @property
    def stage(self):
        """The stage the networks are in."""
        return self.schedule.stage_of(self.phase)

    @property
    def resolution(self):
        """The resolution the networks work at now."""
        return self.schedule.resolutions[self.stage]

    @property
    def image_size(self):
        """The final resolution."""
        return self.schedule.final_resolution

    def images_seen(self):
        """`progress.images` as a Python int."""
        return int(ops.convert_to_numpy(self.progress.images.value))

    def scheduled_phase(self):
        """The phase the schedule gives for the images seen."""
        return self.schedule.phase_at(self.images_seen())

    def scheduled_alpha(self):
        """This step's fade-in of the current stage, a float32 tensor read
        from `progress.images` (inside the compiled step too)."""
        return self.schedule.alpha(self.progress.images.value, self.stage)

    @property
    def alpha(self):
        """The networks' fade-in now (their `alpha` weight, the last step's)."""
        return self._growing[0].alpha.value

    def _enter(self, phase):
        if not 0 <= phase <= self.schedule.last_phase:
            raise ValueError(f"The schedule has phases 0..{self.schedule.last_phase}, "
                             f"got phase {phase}.")
        self.phase = phase
        alpha = self.scheduled_alpha()  # what sampling sees until the next step
        for network in self._growing:
            network.stage = self.stage
            network.alpha.assign(alpha)

    def grow(self):
        """Move the networks to the schedule's phase for the images seen.

        A new stage discards the compiled step functions (the next step
        retraces; inside `fit`, the train function is rebuilt at once); a new
        phase resets the optimizers' moments and step counts (with
        `reset_optimizers`). `Growth` calls this between steps; call it
        yourself after changing `progress` or when training with
        `train_on_batch`.

        Returns:
            Whether the phase changed.
        """
        phase = self.scheduled_phase()
        if phase == self.phase:
            return False
        stage = self.stage
        self._enter(phase)
        if self.stage != stage:
            self.test_function = self.predict_function = None
            if self.train_function is not None:  # fit reads it at every step
                self.make_train_function(force=True)
        if self.reset_optimizers and self.compiled:
            self.reset_optimizer_states()
        return True

    def reset_optimizer_states(self):
        """Zero every optimizer's moments and step count (its learning rate
        and, under float16, the loss scale stay), so that Adam's bias
        correction starts afresh as in the reference code's
        `reset_optimizer_state`."""
        for name in self.optimizer_names:
            optimizer = getattr(self, name)
            if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                optimizer = optimizer.inner_optimizer
            # Keras keeps a float learning rate as a variable among `variables`.
            rate = getattr(optimizer, "_learning_rate", None)
            for variable in optimizer.variables:
                if variable is not rate:
                    variable.assign(ops.zeros(variable.shape, variable.dtype))

    # -- the trainer's hooks ------------------------------------------------------------

    def ema_decay_now(self):
        """The trainer's EMA decay, shortened after a growth: its half-life
        is at most `ema_stage_rampup` times the images since the current
        stage began (0, a copy, at the stage's first step), as StyleGAN's
        `ema_rampup` counts from the start of training. Of the average at
        time T into a stage, the weights before time fT then hold
        `f ** (ln 2 / ema_stage_rampup)`: nothing of the untrained block."""
        decay = super().ema_decay_now()
        if self.ema_stage_rampup is None:
            return decay
        images = ops.convert_to_tensor(self.progress.images.value, "int32")  # before this step
        # The difference in int32 first: float32 counts exactly only to 2**24.
        since = ops.cast(images - self.schedule.stage_start(self.stage), "float32")
        restarted = self.half_life_decay(self.images_per_step(), self.ema_stage_rampup * since)
        return ops.minimum(decay, ops.where(since > 0, restarted, 0.0))

    def gan_train_step(self, data):
        """The trainer's step, after setting every network's fade-in to this
        step's (`scheduled_alpha`)."""
        alpha = self.scheduled_alpha()
        for network in self._growing:
            network.alpha.assign(alpha)
        return super().gan_train_step(data)

    def unpack_batch(self, data):
        """The trainer's `(images, conditions)`, the images cut to the stage's
        batch size (if the schedule sets one) and lowered to its resolution."""
        real, conditions = super().unpack_batch(data)
        size = self.schedule.batch_size(self.stage)
        if size is not None:
            real, conditions = self._first_rows(real, conditions, size)
        return self.lower_reals(real), conditions

    def _first_rows(self, real, conditions, size):
        from keras_gans import backend as gan_backend

        per_replica, replicas = size, gan_backend.replica_info()[1]
        if replicas > 1:
            if size % replicas:
                raise ValueError(f"The batch size {size} of stage {self.stage} must divide "
                                 f"evenly among the {replicas} replicas.")
            per_replica = size // replicas
        available = real.shape[0]
        if available is not None and available < per_replica:
            raise ValueError(
                f"Stage {self.stage} ({self.resolution}x{self.resolution}) trains on batches of "
                f"{size}, but the dataset's batches have {available * replicas} images: batch "
                "the dataset at the largest of the schedule's batch_sizes."
            )
        cut = lambda x: x[:per_replica]  # noqa: E731
        return cut(real), None if conditions is None else keras.tree.map_structure(cut, conditions)

    def lower_reals(self, images):
        """Real images at the final resolution, as the discriminator sees them
        now: box-downscaled to the stage's resolution and, during a fade-in,
        blended with their further-downscaled (and upscaled) version like the
        generator's output: `fade(upscale(downscale(x, 2), 2), x, alpha)`."""
        final = self.schedule.final_resolution
        if tuple(images.shape[1:3]) != (final, final):
            raise ValueError(
                f"{type(self).__name__} grows to {final}x{final} images, but the batch holds "
                f"images of shape {tuple(images.shape[1:])}; load the data at image_size={final}."
            )
        x = downscale(images, final // self.resolution)
        if self.stage == 0:
            return x
        coarse = upscale(downscale(x, 2), 2)
        return fade(coarse, x, ops.cast(self.alpha, x.dtype))

    def grid_images(self, inputs):
        """Sample grid images, upscaled (nearest) to the final resolution so
        that the grids of every stage have one size."""
        images = self.generate(inputs=inputs)
        factor = self.schedule.final_resolution // images.shape[1]
        return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2), None

    def fit(self, x=None, y=None, *args, callbacks=None, **kwargs):
        """`GAN.fit`, with a `Growth` callback first among `callbacks`
        unless one is given; it writes each finished stage's grid with the
        first `SampleGrid` given (`stage_<k>_<r>x<r>.png` in its folder)."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, Growth) for c in callbacks):
            grids = next((c for c in callbacks if isinstance(c, SampleGrid)), None)
            # First: a checkpoint written after a step is of the grown model.
            callbacks.insert(0, Growth(grids=grids))
        return super().fit(x, y, *args, callbacks=callbacks, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(schedule=self.schedule.get_config(),
                      reset_optimizers=self.reset_optimizers, phase=self.phase,
                      ema_stage_rampup=self.ema_stage_rampup)
        return config


class Growth(keras.callbacks.Callback):
    """Grows a `GrowingGAN` at the step boundary where its schedule enters a
    new phase, and writes a grid of each stage as it ends.

    `GrowingGAN.fit` adds one (first among the callbacks, with the first
    `SampleGrid` given) unless the callbacks hold one already. After each
    step it compares the schedule's phase for the images seen with the
    model's; on a change it saves the grid of a finished stage, then calls
    `gan.grow()`. Being first, it grows before a checkpoint callback of the
    same step saves, so a checkpoint always holds the model as the next step
    trains it. On the JAX backend, reading the images seen syncs the model's
    state after every step (Keras' `Callback.model` does). With
    `steps_per_execution=k` it acts after each execution of k steps: a stage
    may run up to k - 1 steps past its end (at alpha 1) and the next one
    starts its fade that much later in it.

    Args:
        grids: a `SampleGrid` whose inputs draw each stage's grid
            (`stage_<k>_<r>x<r>.png` in its folder), at the stage's end and
            at the end of training for the stage then in progress; None: no
            stage grids.

    Example:

    ```python
    grid = kg.callbacks.SampleGrid("runs/x/samples")
    gan.fit(ds, epochs=40, callbacks=[grid, kg.growing.Growth(grids=grid)])
    ```
    """

    def __init__(self, grids=None):
        super().__init__()
        self.grids = grids

    def stage_grid(self):
        """Save the grid of the model's current stage; returns its path."""
        model = self.model
        size = model.resolution
        return self.grids.save(f"stage_{model.stage}_{size}x{size}.png")

    def on_train_begin(self, logs=None):
        if self.grids is not None and self.grids.model is None:
            self.grids.set_model(self.model)
        self.model.grow()

    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        phase = model.scheduled_phase()
        if phase == model.phase:
            return
        if self.grids is not None and model.schedule.stage_of(phase) != model.stage:
            self.stage_grid()
        model.grow()

    def on_train_end(self, logs=None):
        if self.grids is not None:
            self.stage_grid()
