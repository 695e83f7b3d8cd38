"""Settings shared by the test modules."""

import keras
import numpy as np

# The fastest step for a few tiny steps: XLA compilation costs TensorFlow
# more than it saves, torch runs eagerly, and JAX without jit runs op by op,
# far slower than compiling.
JIT = "auto" if keras.backend.backend() == "jax" else False


def two_disc_modes(n=256, noise=0.1, seed=0):
    """A two-mode 8x8 toy for the growing families' learning tests: a bright
    disc on the left or on the right, plus Gaussian noise.

    Returns:
        (modes, data): the two clean (8, 8) images and `n` noisy samples
        alternating between them, float32, (n, 8, 8).
    """
    yy, xx = np.mgrid[0:8, 0:8] / 7
    modes = np.stack([np.where((xx - c) ** 2 + (yy - 0.5) ** 2 < 0.06, 0.8, -0.8)
                      for c in (0.3, 0.7)]).astype("float32")
    rng = np.random.default_rng(seed)
    data = modes[np.arange(n) % 2] + noise * rng.standard_normal((n, 8, 8))
    return modes, data.astype("float32")
