"""Export generators as TensorFlow SavedModels that TF Serving loads.

The layout is TF Serving's: `<base>/<model name>/<integer version>/`
holding `saved_model.pb` and `variables/`. Signatures:

- `serving_default`: the model's inputs (`GAN.latents`): `z` float32
  `[batch, latent_dim]` (and `labels` int32 `[batch]` for conditional models)
  -> `images` uint8 `[batch, H, W, C]`.
- `sample`: `num_samples` int32 and `seed` int32 scalars -> `images`; for
  conditional models `seed` and `labels` int32 `[batch]` (one image per
  label); models listing `truncation` in their `sample_parameters`
  (BigGAN) take a float32 `truncation` too (0 or less: none). At most
  `max_samples` images per call (default 1024): one call
  is one generator pass, and a server should not run out of memory on a
  client's typo. The export draws its own noise, so a client needs no knowledge
  of the latent space. The same seed gives the same images.

The generator is wrapped with `ExportArchive.track_and_add_endpoint`, which
works from the TensorFlow and JAX (via jax2tf) backends alike; the uint8
conversion and noise are TensorFlow ops around it, so the SavedModel is
self-contained and callable with TensorFlow alone. From the torch backend
the model is saved to a temporary `.keras` file and exported by a
TensorFlow-backend Python process (see `_export_in_tensorflow`).
"""

import json
import os
import subprocess
import sys
import tempfile

import keras


def _tf():
    try:
        import tensorflow as tf
    except ImportError as e:  # pragma: no cover - exercised in TF-free envs
        raise ImportError(
            "Exporting a SavedModel needs TensorFlow (`pip install tensorflow`), "
            "whatever the Keras backend."
        ) from e
    return tf


def _export_in_tensorflow(export_function, model, path, verbose, **options):
    """Run `export_function(model, path, **options)` in a TensorFlow-backend
    process (after `_prepare_target` has checked `path`); `options` must be
    JSON values.

    Keras exports torch models only through `torch.export` and torch_xla,
    which reject Keras models' inputs (Keras 3.15, torch 2.x). The model is
    saved to a temporary `.keras` file instead and exported from there; its
    classes must be importable there (keras_gans' own are; register custom
    layers in a module the process can import).
    """
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    code = (
        "import sys, importlib, json, keras\n"
        "module, name, file, path, verbose, options = sys.argv[1:]\n"
        "export = getattr(importlib.import_module(module), name)\n"
        "model = keras.models.load_model(file, compile=False)\n"
        "export(model, path, overwrite=True, verbose=verbose == '1', **json.loads(options))\n"
    )
    with tempfile.TemporaryDirectory(prefix="keras_gans_export_") as tmp:
        file = os.path.join(tmp, "model.keras")
        model.save(file)
        result = subprocess.run(
            [sys.executable, "-c", code, export_function.__module__, export_function.__name__,
             file, os.path.abspath(path), "1" if verbose else "0", json.dumps(options)],
            env=env, capture_output=True, text=True,
        )
    if verbose and result.stdout:
        print(result.stdout, end="")
    if result.returncode:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(
            "Exporting from the torch backend runs the export in a TensorFlow-backend "
            f"process, which failed: {lines[-1] if lines else result.returncode}"
        )
    return path


def _check_version_dir(path):
    path = os.fspath(path)
    version = os.path.basename(os.path.normpath(path))
    if not version.isdigit():
        raise ValueError(
            f"TF Serving expects <model>/<integer version>/, but {path!r} ends in "
            f"{version!r}. Export to e.g. {os.path.join(path, '1')!r}."
        )
    return path


def _prepare_target(path, overwrite):
    """Checks before building an export: TF Serving layout, and an existing
    export at `path`. Returns `(tf, path)`."""
    tf = _tf()  # first: without TensorFlow, that is the message to show
    path = _check_version_dir(path)
    if os.path.exists(path) and os.listdir(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True or bump the version.")
    return tf, path


def _write(archive, path, verbose):
    """Replace whatever is at `path` with the archive's SavedModel.

    Locally the new export is written beside `path` and swapped in, so a
    failed write leaves the version being served as it was.
    """
    gfile = _tf().io.gfile
    if "://" in path:  # Remote storage (gs://, ...): no folder renames there.
        if gfile.exists(path):
            gfile.rmtree(path)
        archive.write_out(path, verbose=verbose)
        return path
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        archive.write_out(os.path.join(staging, "new"), verbose=verbose)
        if os.path.exists(path):
            os.replace(path, os.path.join(staging, "old"))
        os.replace(os.path.join(staging, "new"), path)
    finally:
        gfile.rmtree(staging)
    return path


def _batch_of_at_least_one(tf, fn, *inputs):
    """`fn(*inputs)` (a tensor or a list of them) for batches of any size,
    an empty one included.

    Exports from JAX (jax2tf) require a batch of at least one, so a zero
    row is appended and its output dropped; from TensorFlow the call is
    direct. Rows do not affect one another at inference.
    """
    if keras.backend.backend() != "jax":
        return fn(*inputs)
    n = tf.shape(inputs[0])[0]
    padded = [tf.concat([x, tf.zeros(tf.concat([[1], tf.shape(x)[1:]], 0), x.dtype)], 0)
              for x in inputs]
    return tf.nest.map_structure(lambda y: y[:n], fn(*padded))


def _to_uint8(tf, images):
    images = tf.cast(images, tf.float32)
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def export_generator(gan, path, overwrite=True, verbose=False, max_samples=1024, use_ema=None):
    """Write `gan`'s generator as a SavedModel for TF Serving.

    The signatures follow the model's inputs (`gan.latents`): `serving_default`
    takes each of them (`z`, and `labels` for conditional models) and returns
    uint8 `images` (one output per `gan.image_names`: CoGAN's `images_a`,
    `images_b`); `sample` draws the latents itself from `seed` (and takes
    `num_samples`, or `labels` for conditional models: one image per label;
    and `truncation`, for models that list it in `sample_parameters`).

    Args:
        gan: a trained `keras_gans.GAN` (or subclass).
        path: the version folder, e.g. "saved_models/plants_dcgan/1".
        overwrite: replace an existing export at `path`.
        verbose: let Keras print the signatures it wrote.
        max_samples: the most images one `sample` call returns; larger
            requests fail with a message saying so.
        use_ema: export the generator's moving average (default: when the
            model keeps one) or the raw generator (False).

    Returns:
        The path written.

    Example:

    ```python
    kg.export.export_generator(gan, "saved_models/plants_dcgan/1")
    # then, with TensorFlow only:
    m = tf.saved_model.load("saved_models/plants_dcgan/1")
    images = m.signatures["sample"](num_samples=tf.constant(4), seed=tf.constant(0))["images"]
    ```
    """
    tf, path = _prepare_target(path, overwrite)
    if keras.backend.backend() == "torch":
        return _export_in_tensorflow(export_generator, gan, path, verbose,
                                     max_samples=int(max_samples), use_ema=use_ema)
    specs = list(gan.latents)
    if not specs:
        raise ValueError(f"A {type(gan).__name__} draws no latent inputs; export_generator "
                         "exports models that sample (a CycleGAN: export_cyclegan).")
    network = gan.sampling_generator(use_ema)

    def bounded(count):
        check = tf.debugging.assert_less_equal(
            count, tf.constant(int(max_samples), tf.int32),
            message=f"sample returns at most {int(max_samples)} images per call "
            "(export_generator's max_samples); call it again with another seed",
        )
        with tf.control_dependencies([check]):
            return tf.identity(count)

    archive = keras.export.ExportArchive()
    input_specs = [tf.TensorSpec([None, *spec.shape], spec.dtype, name=spec.name) for spec in specs]
    if len(specs) == 1:
        generator_fn = archive.track_and_add_endpoint(
            "generator", network, input_signature=input_specs
        )
        call = generator_fn
    else:
        generator_fn = archive.track_and_add_endpoint(
            "generator", network, input_signature=[input_specs]
        )
        call = lambda *xs: generator_fn(list(xs))  # noqa: E731

    names = tuple(gan.image_names)

    def images_of(inputs):
        outputs = _batch_of_at_least_one(tf, call, *inputs)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if len(outputs) != len(names):
            raise ValueError(f"The generator returns {len(outputs)} outputs; "
                             f"{type(gan).__name__}.image_names names {len(names)}.")
        return {name: _to_uint8(tf, x) for name, x in zip(names, outputs)}

    @tf.function(input_signature=input_specs)
    def serving_default(*inputs):
        return images_of(inputs)

    archive.add_endpoint("serving_default", serving_default)
    archive.add_endpoint("sample", _sample_function(tf, gan, specs, images_of, bounded))
    return _write(archive, path, verbose)


def _sample_function(tf, gan, specs, images_of, bounded):
    """The `sample` signature: it draws the model's latents itself.

    It takes `seed`, and `labels` (one image per label) for conditional
    models or `num_samples` otherwise, and the extra parameters the model
    lists in `sample_parameters`: `truncation` (float32; entries beyond
    +-truncation are resampled, 0 or less: none) for BigGAN.
    """
    from keras_gans import sampling

    known = {"truncation": tf.TensorSpec([], tf.float32, name="truncation")}
    extra = tuple(getattr(gan, "sample_parameters", ()))
    unknown = [name for name in extra if name not in known]
    if unknown:
        raise ValueError(f"{type(gan).__name__}.sample_parameters names {unknown}; the export's "
                         f"sample signature knows {sorted(known)}.")
    conditional = any(spec.kind == "labels" for spec in specs)
    signature = ([tf.TensorSpec([], tf.int32, name="seed"),
                  tf.TensorSpec([None], tf.int32, name="labels")] if conditional else
                 [tf.TensorSpec([], tf.int32, name="num_samples"),
                  tf.TensorSpec([], tf.int32, name="seed")])
    signature += [known[name] for name in extra]

    @tf.function(input_signature=signature)
    def sample(*values):
        given = {spec.name: value for spec, value in zip(signature, values)}
        labels = given.get("labels")
        count = bounded(tf.shape(labels)[0] if conditional else given["num_samples"])
        drawn = sampling.draw_tensorflow(tf, specs, count, given["seed"], labels=labels,
                                         truncation=given.get("truncation"))
        return images_of([drawn[spec.name] for spec in specs])

    return sample


def load_generator(path):
    """Load an exported generator with TensorFlow; returns the loaded object
    (call `.signatures["serving_default"]` / `["sample"]`)."""
    tf = _tf()
    if not os.path.isdir(os.fspath(path)):
        raise FileNotFoundError(f"No SavedModel folder at {path}.")
    return tf.saved_model.load(os.fspath(path))
