"""Settings shared by the test modules."""

import keras

# The fastest step for a few tiny steps: XLA compilation costs TensorFlow
# more than it saves, torch runs eagerly, and JAX without jit runs op by op,
# far slower than compiling.
JIT = "auto" if keras.backend.backend() == "jax" else False
