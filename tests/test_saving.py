"""`SavesSeedState`: random state saved with a layer's weights."""

import numpy as np

import keras

from keras_gans.saving import SavesSeedState


class NoisyDense(SavesSeedState, keras.layers.Layer):
    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2), initializer="ones")

    def call(self, x):
        return x @ self.kernel + keras.random.normal((2,), seed=self.seed_generator)


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def trained_layer():
    layer = NoisyDense(seed=3)
    layer(np.ones((1, 4), "float32"))
    layer.kernel.assign(np.full((4, 2), 2.0, "float32"))
    return layer


def test_state_and_weights_round_trip():
    layer = trained_layer()
    store = {}
    layer.save_own_variables(store)
    assert "seed_generator_state" in store

    fresh = NoisyDense(seed=3)
    fresh.build((1, 4))
    fresh.load_own_variables(store)
    np.testing.assert_array_equal(numpy(fresh.kernel), numpy(layer.kernel))
    np.testing.assert_array_equal(numpy(fresh.seed_generator.state), numpy(layer.seed_generator.state))
    # Continuing draws what the saved layer would draw next, not its first noise.
    x = np.zeros((1, 4), "float32")
    np.testing.assert_array_equal(numpy(fresh(x)), numpy(layer(x)))


def test_files_without_the_state_still_load():
    layer = trained_layer()
    store = {}
    layer.save_own_variables(store)
    del store["seed_generator_state"]  # as written before the state was saved

    fresh = NoisyDense(seed=3)
    fresh.build((1, 4))
    before = numpy(fresh.seed_generator.state)
    fresh.load_own_variables(store)
    np.testing.assert_array_equal(numpy(fresh.kernel), numpy(layer.kernel))
    np.testing.assert_array_equal(numpy(fresh.seed_generator.state), before)
