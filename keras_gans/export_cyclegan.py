"""Export a CycleGAN's two generators as one SavedModel for TF Serving.

Signatures (the layout is TF Serving's `<base>/<model>/<version>/`):

- `a_to_b` (also `serving_default`): `image` uint8 `[batch, H, W, C]` ->
  `image` uint8, translated by G.
- `b_to_a`: the same through F.

The uint8 <-> [-1, 1] conversions are TensorFlow ops around the generators,
so the SavedModel is self-contained and needs only TensorFlow to run,
whatever Keras backend trained the model.
"""

import keras

from keras_gans.export import (
    _batch_of_at_least_one,
    _export_in_tensorflow,
    _prepare_target,
    _to_uint8,
    _write,
)


def export_translator(cyclegan, path, overwrite=True, verbose=False):
    """Write both directions of a trained CycleGAN as one SavedModel.

    Args:
        cyclegan: a trained `keras_gans.models.cyclegan.CycleGAN`.
        path: the version folder, e.g. "saved_models/daisy2sunflower/1".
        overwrite: replace an existing export at `path`.
        verbose: let Keras print the signatures it wrote.

    Returns:
        The path written.

    Example:

    ```python
    export_translator(gan, "saved_models/daisy2sunflower/1")
    # then, with TensorFlow only:
    m = tf.saved_model.load("saved_models/daisy2sunflower/1")
    sunflowers = m.signatures["a_to_b"](image=daisies_uint8)["image"]
    ```
    """
    tf, path = _prepare_target(path, overwrite)
    if keras.backend.backend() == "torch":
        return _export_in_tensorflow(export_translator, cyclegan, path, verbose)
    shape = [None, cyclegan.image_size, cyclegan.image_size, cyclegan.channels]

    archive = keras.export.ExportArchive()
    float_spec = tf.TensorSpec(shape, tf.float32, name="image")
    image_spec = tf.TensorSpec(shape, tf.uint8, name="image")
    networks = {"ab": cyclegan.generator_ab, "ba": cyclegan.generator_ba}
    # Track both generators before adding endpoints: under JAX, an endpoint
    # binds the variables tracked so far, and each one is called with all.
    for network in networks.values():
        archive.track(network)
    generators = {
        direction: archive.add_endpoint(
            f"generator_{direction}", network.__call__, input_signature=[float_spec]
        )
        for direction, network in networks.items()
    }

    def translation(generator):
        @tf.function(input_signature=[image_spec])
        def translate(image):
            images = tf.cast(image, tf.float32) / 127.5 - 1.0
            return {"image": _to_uint8(tf, _batch_of_at_least_one(tf, generator, images))}

        return translate

    a_to_b = translation(generators["ab"])
    archive.add_endpoint("a_to_b", a_to_b)
    archive.add_endpoint("b_to_a", translation(generators["ba"]))
    archive.add_endpoint("serving_default", a_to_b)
    return _write(archive, path, verbose)
