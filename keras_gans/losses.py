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
