"""Export a StyleGAN generator as a SavedModel for TF Serving, with its styles.

Signatures (the layout is TF Serving's `<base>/<model>/<version>/`):

- `serving_default`: `z` float32 `[batch, latent_dim]` -> `images` uint8.
- `sample`: `num_samples` int32, `seed` int32 and `truncation_psi` float32
  scalars -> `images`: z drawn as `keras_gans.export`'s `sample` draws it,
  every style moved towards the mean w by psi (1: off).
- `mapping`: `z` -> `w` float32 `[batch, w_dim]`.
- `synthesis`: `ws` float32 `[batch, num_ws, w_dim]` (one w per style
  layer) -> `images`; a client mixes styles by building `ws` from two
  `mapping` outputs, and truncates with `w_avg`.

The mean w (`w_avg`) is written into the SavedModel as a constant (its
value at export) and also returned by `mapping` as `w_avg`. The noise of the
synthesis network is drawn inside the SavedModel by its noise layers.
Everything around the networks is TensorFlow ops, so the SavedModel needs
only TensorFlow to run; from the torch backend the export runs in a
TensorFlow-backend process (`keras_gans.export`'s helper).
"""

import keras

from keras_gans.export import (
    _batch_of_at_least_one,
    _export_in_tensorflow,
    _prepare_target,
    _to_uint8,
    _write,
)


def export_stylegan(gan, path, overwrite=True, verbose=False, max_samples=1024, use_ema=None):
    """Write a StyleGAN's generator with `serving_default`, `sample`,
    `mapping` and `synthesis` signatures (see the module docstring).

    Args:
        gan: a `keras_gans.models.StyleGAN`.
        path, overwrite, verbose, max_samples, use_ema: as for
            `keras_gans.export.export_generator`.

    Returns:
        The path written.

    Example:

    ```python
    export_stylegan(gan, "saved_models/flowers_stylegan/1")
    # then, with TensorFlow only:
    m = tf.saved_model.load("saved_models/flowers_stylegan/1")
    w = m.signatures["mapping"](z=z)["w"]                       # (n, w_dim)
    ws = tf.repeat(w[:, None], m_num_ws, axis=1)               # mix rows here
    images = m.signatures["synthesis"](ws=ws)["images"]        # uint8
    ```
    """
    from keras_gans import sampling

    tf, path = _prepare_target(path, overwrite)
    if keras.backend.backend() == "torch":
        return _export_in_tensorflow(export_stylegan, gan, path, verbose,
                                     max_samples=int(max_samples), use_ema=use_ema)
    network = gan.sampling_generator(use_ema)
    specs = list(gan.latents)
    z_spec = tf.TensorSpec([None, gan.latent_dim], tf.float32, name="z")
    ws_spec = tf.TensorSpec([None, network.num_ws, network.w_dim], tf.float32, name="ws")
    w_avg = tf.constant(keras.ops.convert_to_numpy(network.w_avg), tf.float32)

    archive = keras.export.ExportArchive()
    # Track the generator once, before its endpoints: under JAX an endpoint
    # binds the variables tracked so far.
    archive.track(network)
    mapping_fn = archive.add_endpoint("mapping_network", network.mapping.__call__,
                                      input_signature=[z_spec])
    synthesis_fn = archive.add_endpoint("synthesis_network", network.synthesis.__call__,
                                        input_signature=[ws_spec])

    def broadcast(w):
        return tf.repeat(w[:, None, :], network.num_ws, axis=1)

    def images_of(ws):
        return {"images": _to_uint8(tf, _batch_of_at_least_one(tf, synthesis_fn, ws))}

    @tf.function(input_signature=[z_spec])
    def serving_default(z):
        return images_of(broadcast(_batch_of_at_least_one(tf, mapping_fn, z)))

    @tf.function(input_signature=[z_spec])
    def mapping(z):
        w = _batch_of_at_least_one(tf, mapping_fn, z)
        return {"w": w, "w_avg": tf.broadcast_to(w_avg, tf.shape(w))}

    @tf.function(input_signature=[ws_spec])
    def synthesis(ws):
        return images_of(ws)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_samples"),
                                  tf.TensorSpec([], tf.int32, name="seed"),
                                  tf.TensorSpec([], tf.float32, name="truncation_psi")])
    def sample(num_samples, seed, truncation_psi):
        check = tf.debugging.assert_less_equal(
            num_samples, tf.constant(int(max_samples), tf.int32),
            message=f"sample returns at most {int(max_samples)} images per call "
            "(export_stylegan's max_samples); call it again with another seed")
        with tf.control_dependencies([check]):
            z = sampling.draw_tensorflow(tf, specs, tf.identity(num_samples), seed)["z"]
        ws = broadcast(_batch_of_at_least_one(tf, mapping_fn, z))
        return images_of(w_avg + truncation_psi * (ws - w_avg))

    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("sample", sample)
    archive.add_endpoint("mapping", mapping)
    archive.add_endpoint("synthesis", synthesis)
    return _write(archive, path, verbose)
