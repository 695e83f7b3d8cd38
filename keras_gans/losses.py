"""Adversarial losses as (discriminator, generator) pairs on logits.

Every loss takes raw discriminator outputs (logits / critic scores), never
probabilities, and is written with `softplus` so that extreme logits give
finite values: `-log(sigmoid(x)) == softplus(-x)` and
`-log(1 - sigmoid(x)) == softplus(x)`.

Each discriminator loss is `d_loss(real_logits, fake_logits)` and each
generator loss is `g_loss(fake_logits)`; both return a scalar (the batch mean).
Use `get(name)` to fetch a `GANLoss` pair by name.

Example:

>>> import keras_gans as kg
>>> pair = kg.losses.get("non_saturating")
>>> d = pair.discriminator([4.0], [-4.0]); g = pair.generator([-4.0])
"""

import collections

import keras
from keras import ops


def _mean(x):
    return ops.mean(ops.cast(x, "float32"))


# -- the original GAN (Goodfellow et al. 2014) --------------------------------


def minimax_discriminator_loss(real_logits, fake_logits):
    """`-log D(x) - log(1 - D(G(z)))`, the discriminator side of every
    cross-entropy GAN (minimax and non-saturating share it)."""
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return _mean(ops.softplus(-real_logits)) + _mean(ops.softplus(fake_logits))


def minimax_generator_loss(fake_logits):
    """The saturating generator loss `log(1 - D(G(z)))`, minimised by G.

    Kept for fidelity to the paper: its gradient vanishes when D confidently
    rejects fakes, which is why `non_saturating` is the default.
    """
    return -_mean(ops.softplus(ops.cast(fake_logits, "float32")))


def non_saturating_generator_loss(fake_logits):
    """`-log D(G(z))`: the heuristic from the same paper that gives strong
    gradients early in training."""
    return _mean(ops.softplus(-ops.cast(fake_logits, "float32")))


# -- least squares (Mao et al. 2017) ------------------------------------------


def least_squares_discriminator_loss(real_logits, fake_logits):
    """`0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2` on raw outputs (LSGAN a=0, b=c=1)."""
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return 0.5 * _mean(ops.square(real_logits - 1.0)) + 0.5 * _mean(ops.square(fake_logits))


def least_squares_generator_loss(fake_logits):
    return 0.5 * _mean(ops.square(ops.cast(fake_logits, "float32") - 1.0))


# -- Wasserstein (Arjovsky et al. 2017) ---------------------------------------


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """The critic maximises `E[D(x)] - E[D(G(z))]`; this returns the negation.

    It needs a Lipschitz constraint (weight clipping or a gradient penalty)
    to be meaningful; the loss alone does not supply one.
    """
    return _mean(fake_logits) - _mean(real_logits)


def wasserstein_generator_loss(fake_logits):
    return -_mean(fake_logits)


# -- hinge (Lim & Ye 2017; used by SAGAN and BigGAN) --------------------------


def hinge_discriminator_loss(real_logits, fake_logits):
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return _mean(ops.relu(1.0 - real_logits)) + _mean(ops.relu(1.0 + fake_logits))


def hinge_generator_loss(fake_logits):
    return -_mean(fake_logits)


GANLoss = collections.namedtuple("GANLoss", ["name", "discriminator", "generator", "probabilistic"])
GANLoss.__doc__ = """A discriminator/generator loss pair.

`probabilistic` says whether `sigmoid(logits)` is a probability under this
loss, so the trainer can report mean D(x) and D(G(z)) as probabilities.

A pair of your own functions saves with a compiled model when Keras can
find them again on loading: decorate them with
`@keras.saving.register_keras_serializable()`.

Example:

```python
@keras.saving.register_keras_serializable(package="my_losses")
def d_loss(real_logits, fake_logits): ...

@keras.saving.register_keras_serializable(package="my_losses")
def g_loss(fake_logits): ...

gan.compile(loss=kg.losses.GANLoss("mine", d_loss, g_loss, probabilistic=False))
```
"""

_LOSSES = {
    "minimax": GANLoss("minimax", minimax_discriminator_loss, minimax_generator_loss, True),
    "non_saturating": GANLoss(
        "non_saturating", minimax_discriminator_loss, non_saturating_generator_loss, True
    ),
    "least_squares": GANLoss(
        "least_squares", least_squares_discriminator_loss, least_squares_generator_loss, False
    ),
    "wasserstein": GANLoss(
        "wasserstein", wasserstein_discriminator_loss, wasserstein_generator_loss, False
    ),
    "hinge": GANLoss("hinge", hinge_discriminator_loss, hinge_generator_loss, False),
}
_ALIASES = {"nonsaturating": "non_saturating", "ns": "non_saturating", "lsgan": "least_squares",
            "wgan": "wasserstein", "original": "minimax", "saturating": "minimax"}


def names():
    """The names `get` accepts."""
    return sorted(_LOSSES)


def serialize(pair):
    """A built-in pair's name, or a dict holding a custom pair's functions
    (serialized by Keras: register them to load them back)."""
    if tuple(pair) == tuple(_LOSSES.get(pair.name, ())):  # (Keras may re-wrap the tuple.)
        return pair.name
    return {
        "name": pair.name,
        "discriminator": keras.saving.serialize_keras_object(pair.discriminator),
        "generator": keras.saving.serialize_keras_object(pair.generator),
        "probabilistic": bool(pair.probabilistic),
    }


def deserialize(config):
    """The `GANLoss` that `serialize` wrote."""
    if not isinstance(config, dict):
        return get(config)
    return GANLoss(
        config["name"],
        keras.saving.deserialize_keras_object(config["discriminator"]),
        keras.saving.deserialize_keras_object(config["generator"]),
        config["probabilistic"],
    )


def get(identifier):
    """Return the `GANLoss` pair for a name (or pass a `GANLoss` through)."""
    if isinstance(identifier, GANLoss):
        return identifier
    if isinstance(identifier, str):
        key = _ALIASES.get(identifier.lower(), identifier.lower())
        if key in _LOSSES:
            return _LOSSES[key]
    raise ValueError(
        f"Unknown GAN loss {identifier!r}. Use one of {names()} or a keras_gans.losses.GANLoss."
    )


# -- penalties on the discriminator's input gradients, and drift --------------


class Penalty:
    """A regularization term of a training phase (gradient penalties, drift).

    A penalty is declared once (`compile(penalties=[...])`, or a model
    family's defaults) and the trainer does the rest: with `interval=1` it
    joins its phase's loss every step; with `interval=k > 1` it becomes a
    phase of its own that runs every k steps with its loss multiplied by k
    (lazy regularization, as StyleGAN2 runs R1 every 16 steps). Its value
    (weighted, not multiplied by the interval) is logged as `name`.

    Input gradients are taken in float32 (`keras_gans.backend.input_gradients`);
    under float16 the backward pass is scaled by the optimizer's loss scale,
    so the gradient of a gradient does not underflow.

    Subclasses implement `compute(model, inputs)` with `inputs` a
    `PenaltyInputs`.

    Args:
        weight: the penalty's weight.
        interval: run every `interval` steps (lazy regularization).
        name: the log name.
    """

    #: The network whose phase the penalty regularizes.
    network = "discriminator"

    def __init__(self, weight, interval=1, name=None):
        if int(interval) < 1:
            raise ValueError(f"A penalty's interval must be >= 1, got {interval}.")
        self.weight = float(weight)
        self.interval = int(interval)
        self.name = name or self.default_name

    def __call__(self, model, inputs):
        """The weighted penalty, a float32 scalar."""
        return self.weight * ops.cast(self.compute(model, inputs), "float32")

    def compute(self, model, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        return {"weight": self.weight, "interval": self.interval, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


PenaltyInputs = collections.namedtuple(
    "PenaltyInputs", ["real", "fake", "conditions", "fake_conditions", "real_logits"]
)
PenaltyInputs.__doc__ = """What a discriminator penalty may read: the real and
fake batches (fakes with their gradient stopped), their conditions, and the
real batch's logits when the phase has computed them (None otherwise)."""


def _gradient_scale(model, optimizer="d_optimizer"):
    # The optimizer's loss scale under mixed_float16 (None otherwise).
    optimizer = getattr(model, optimizer, None)
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(ops.ones((), "float32"))
    return None


def _squared_gradient_norms(model, images, conditions):
    """`||d sum(D(x)) / dx||^2` per sample, in float32."""
    from keras_gans import backend as gan_backend

    grads = gan_backend.input_gradients(
        lambda x: model.score(x, conditions, training=True, first=False),
        ops.cast(images, "float32"),
        scale=_gradient_scale(model),
    )
    return ops.sum(ops.reshape(ops.square(grads), (ops.shape(grads)[0], -1)), axis=-1)


@keras.saving.register_keras_serializable(package="keras_gans")
class GradientPenalty(Penalty):
    """WGAN-GP's penalty (Gulrajani et al. 2017):
    `weight * E[(||grad D(x_hat)||_2 - target)^2]` at points `x_hat` on
    the lines between real and fake samples, `x_hat = x + alpha (G(z) - x)`
    with one `alpha ~ U(0, 1)` per sample (drawn from the model's
    SeedGenerator). An epsilon inside the square root keeps the norm's
    gradient finite at zero.

    Args:
        weight: lambda (10 in the paper).
        target: the norm the critic's gradient is pulled towards (1).
        interval, name: as for `Penalty`.

    Example:

    ```python
    gan.compile(loss="wasserstein", penalties=[kg.losses.GradientPenalty(10.0)])
    ```
    """

    default_name = "gradient_penalty"

    def __init__(self, weight=10.0, target=1.0, interval=1, name=None):
        super().__init__(weight, interval, name)
        self.target = float(target)

    def compute(self, model, inputs):
        real = ops.cast(inputs.real, "float32")
        fake = ops.cast(inputs.fake, "float32")
        from keras_gans.sampling import replica_rows

        # One alpha per sample; a tf.distribute replica keeps its rows of the
        # global batch's draw, so replicas mix as one device would.
        alpha = replica_rows(lambda shape: keras.random.uniform(shape, seed=model.seed_generator),
                             ops.shape(real)[0], (1,) * (len(real.shape) - 1))
        between = real + alpha * (fake - real)
        norms = ops.sqrt(_squared_gradient_norms(model, between, inputs.conditions) + 1e-12)
        return ops.mean(ops.square(norms - self.target))

    def get_config(self):
        return {**super().get_config(), "target": self.target}


@keras.saving.register_keras_serializable(package="keras_gans")
class R1(Penalty):
    """R1 (Mescheder et al. 2018): `gamma / 2 * E[||grad D(x)||^2]` on real
    images. StyleGAN uses gamma = 10 and, in its second form, applies it
    every 16 steps (`interval=16`).

    Args:
        gamma: the weight gamma (the penalty is `gamma / 2` times the mean
            squared norm).
        interval, name: as for `Penalty`.

    Example:

    ```python
    gan.compile(loss="non_saturating", penalties=[kg.losses.R1(gamma=10, interval=16)])
    ```
    """

    default_name = "r1"
    _on = "real"

    def __init__(self, gamma=10.0, interval=1, name=None):
        super().__init__(0.5 * float(gamma), interval, name)
        self.gamma = float(gamma)

    def compute(self, model, inputs):
        images, conditions = (
            (inputs.real, inputs.conditions) if self._on == "real"
            else (inputs.fake, inputs.fake_conditions)
        )
        return ops.mean(_squared_gradient_norms(model, images, conditions))

    def get_config(self):
        return {"gamma": self.gamma, "interval": self.interval, "name": self.name}


@keras.saving.register_keras_serializable(package="keras_gans")
class R2(R1):
    """R2: the R1 penalty on generated images, `gamma / 2 * E[||grad D(G(z))||^2]`.

    Args:
        gamma, interval, name: as for `R1`.
    """

    default_name = "r2"
    _on = "fake"


@keras.saving.register_keras_serializable(package="keras_gans")
class Drift(Penalty):
    """ProGAN's drift term (Karras et al. 2018): `epsilon * E[D(x)^2]` on
    real images, which keeps a Wasserstein critic's outputs from drifting
    far from zero. Uses the real logits the phase computed, when it has.

    Args:
        epsilon: the weight (0.001 in the paper).
        interval, name: as for `Penalty`.
    """

    default_name = "drift"

    def __init__(self, epsilon=0.001, interval=1, name=None):
        super().__init__(epsilon, interval, name)

    def compute(self, model, inputs):
        logits = inputs.real_logits
        if logits is None:
            logits = model.score(inputs.real, inputs.conditions, training=True, first=False)
        return ops.mean(ops.square(ops.cast(logits, "float32")))

    def get_config(self):
        return {"epsilon": self.weight, "interval": self.interval, "name": self.name}


@keras.saving.register_keras_serializable(package="keras_gans")
class PathLength(Penalty):
    """StyleGAN2's path length regularization (Karras et al. 2020, eq. 4):
    `weight * E[(||J_w^T y||_2 - a)^2]`, with `J_w` the Jacobian of the
    synthesis network at the styles `w`, `y` a normal image divided by
    `sqrt(height * width)`, and `a` a running mean of the lengths. It asks
    that a fixed-size step in W moves the image by a fixed amount, whatever
    the direction: a smoother, better-conditioned generator.

    A generator penalty: it runs as a phase of its own after the generator
    phase, every `interval` steps, on `batch / batch_shrink` fresh samples.
    The model provides `path_length_styles(n)` (the w of n images, drawn as
    training draws them, shape `(n, num_ws, w_dim)`), `synthesize(ws)`, and
    the saved scalar variable `path_length_mean` (`a`); `StyleGAN` does.
    As in the official code, the length is the root of the squared gradient
    summed over w's dimensions and averaged over the style layers, and `a`
    moves towards the batch's mean length by `decay` each time it runs.

    Args:
        weight: the weight (2 in the paper).
        interval: run every this many steps (4 in the paper, lazy).
        decay: how far `a` moves towards each batch's mean length (0.01).
        batch_shrink: the penalty's batch is the step's divided by this (2).
        name: the log name.

    Example:

    ```python
    gan = kg.models.StyleGAN(image_size=64, path_length_weight=2.0)  # every 4 steps
    ```
    """

    default_name = "path_length"
    network = "generator"

    def __init__(self, weight=2.0, interval=4, decay=0.01, batch_shrink=2, name=None):
        super().__init__(weight, interval, name)
        if not 0.0 < float(decay) <= 1.0:
            raise ValueError(f"PathLength's decay must be in (0, 1], got {decay}.")
        if int(batch_shrink) < 1:
            raise ValueError(f"PathLength's batch_shrink must be >= 1, got {batch_shrink}.")
        self.decay, self.batch_shrink = float(decay), int(batch_shrink)

    def lengths(self, model, n, noise=None):
        """`||J_w^T y||_2` of `n` fresh samples, float32, differentiable
        with respect to the generator's variables; `noise` is `y` (drawn
        from the model's SeedGenerator when None)."""
        from keras_gans import backend as gan_backend

        ws = ops.cast(model.path_length_styles(n), "float32")
        if noise is None:
            size, channels = int(model.image_size), int(model.channels)
            noise = keras.random.normal((n, size, size, channels), seed=model.seed_generator)
            noise = noise / float(size)  # sqrt(height * width) of a square image
        noise = ops.convert_to_tensor(noise, "float32")
        grads = gan_backend.input_gradients(
            lambda w: ops.cast(model.synthesize(w), "float32") * noise, ws,
            scale=_gradient_scale(model, "g_optimizer"))
        return ops.sqrt(ops.mean(ops.sum(ops.square(grads), axis=2), axis=1))

    def compute(self, model, inputs):
        n = ops.shape(inputs.real)[0] // self.batch_shrink
        n = max(1, n) if isinstance(n, int) else n  # a tensor under TF's unknown batch
        lengths = self.lengths(model, n)
        mean = model.path_length_mean
        # The official code's lerp: the penalty is taken at the updated mean
        # (differentiable through this batch's share), which is then stored.
        target = mean + self.decay * (ops.mean(lengths) - mean)
        mean.assign(ops.stop_gradient(target))
        return ops.mean(ops.square(lengths - target))

    def get_config(self):
        return {**super().get_config(), "decay": self.decay, "batch_shrink": self.batch_shrink}


def get_penalty(identifier):
    """A `Penalty` from an instance or its serialized config."""
    if isinstance(identifier, Penalty):
        return identifier
    if isinstance(identifier, dict):
        penalty = keras.saving.deserialize_keras_object(identifier)
        if isinstance(penalty, Penalty):
            return penalty
    raise ValueError(
        f"Expected a keras_gans.losses.Penalty (GradientPenalty, R1, R2, Drift, PathLength), "
        f"got {identifier!r}."
    )
