"""Optimizer pieces every model family can use: the group that presents a
GAN's several optimizers to Keras as one, and a linear-decay schedule."""

import keras
from keras import ops


class OptimizerGroup(keras.optimizers.Optimizer):
    """Presents a GAN's optimizers (one per phase or network) to Keras as one.

    Keras' trainers know one `model.optimizer`; under JAX, `fit()` threads
    exactly `model.optimizer.variables` through the jitted step. Listing
    every member's variables here carries all their states (moments,
    iterations) as trainer state instead of baking them into the compiled
    step as constants. The members save their own variables as attributes
    of the model (`d_optimizer`, `g_optimizer`, ...), so this holder saves
    none.

    Keras callbacks that change learning rates (`LearningRateScheduler`,
    `ReduceLROnPlateau`) act on every optimizer of `optimizers`, and
    `iterations` (TensorBoard's step) counts the first member's updates
    (the discriminator's, for the GANs of this library).

    Args:
        optimizers: a dict `{name: optimizer}`, in the order of the model's
            `optimizer_names`.
        name: the holder's name.
    """

    def __init__(self, optimizers, name="gan_optimizers"):
        super().__init__(learning_rate=0.0, name=name)
        self.members = dict(optimizers)

    @property
    def optimizers(self):
        """The optimizers held, in order."""
        return list(self.members.values())

    @property
    def variables(self):
        return [v for optimizer in self.optimizers for v in optimizer.variables]

    @property
    def iterations(self):
        return self.optimizers[0].iterations

    def build(self, var_list):
        # Each member is built on its own variables by `GAN.compile`.
        self.built = True

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass

    def get_config(self):
        return {
            "optimizers": {
                key: keras.saving.serialize_keras_object(optimizer)
                for key, optimizer in self.members.items()
            },
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        optimizers = {
            key: keras.saving.deserialize_keras_object(optimizer)
            for key, optimizer in config["optimizers"].items()
        }
        return cls(optimizers, name=config.get("name", "gan_optimizers"))


@keras.saving.register_keras_serializable(package="keras_gans")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A constant learning rate that then falls linearly to zero.

    CycleGAN keeps the rate for the first half of training and decays it to
    zero over the second half. Each optimizer evaluates this at its own
    `iterations`, so a resumed run continues where it stopped.

    Args:
        initial_learning_rate: the rate before the decay.
        total_steps: training steps in all (epochs x steps per epoch); the
            rate reaches zero here.
        decay_start: the step where the decay begins; default half of
            `total_steps`.

    Example:

    >>> schedule = LinearDecay(2e-4, total_steps=1000)
    >>> round(float(schedule(750)), 8)  # halfway through the decay
    0.0001
    """

    def __init__(self, initial_learning_rate, total_steps, decay_start=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.total_steps = int(total_steps)
        self.decay_start = self.total_steps // 2 if decay_start is None else int(decay_start)
        if not 0 <= self.decay_start < self.total_steps:
            raise ValueError(
                f"Need 0 <= decay_start < total_steps, got {self.decay_start} "
                f"and {self.total_steps}."
            )

    def __call__(self, step):
        step = ops.cast(step, "float32")
        remaining = (self.total_steps - step) / (self.total_steps - self.decay_start)
        return self.initial_learning_rate * ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "total_steps": self.total_steps,
            "decay_start": self.decay_start,
        }
