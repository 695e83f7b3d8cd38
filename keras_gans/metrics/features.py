"""Feature extractors: images in, one feature vector (and optionally logits) out.

Pixel convention (the library's): float images are assumed to be in [-1, 1]
(what a `tanh` generator emits) and integer images (uint8) in [0, 255].
Grayscale images are tiled to RGB for RGB models (and RGB is converted to
luminance for grayscale models), images are resized bilinearly to the
model's input size, and mapped to the value range the model expects.

Everything that touches a model is Keras 3 (layers + `predict_on_batch`), so
it runs on the TensorFlow, JAX and PyTorch backends alike.
"""

import hashlib
import json
import os

import keras
import numpy as np

from keras_gans.images import to_unit_range
from keras_gans.metrics._sources import iter_image_batches

_INCEPTION_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
# (file name, md5) as pinned by keras.applications.InceptionV3 itself.
_INCEPTION_WEIGHTS = {
    False: ("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5", "bcbd6486424b2319ff4ef7d526e38f63"),
    True: ("inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "9a0d58056eeedaa3f26cb7ebd46da564"),
}
#: The weights file InceptionV3 needs, by whether it keeps its top (the
#: ImageNet logits of the Inception Score): what to fetch for offline use.
INCEPTION_WEIGHTS_FILES = {top: name for top, (name, _) in _INCEPTION_WEIGHTS.items()}


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights were requested but could not be obtained."""


def to_model_range(images):
    """Convert a batch to float32 in [-1, 1] with a channel axis.

    Integer images are taken as 0..255 and float images as already in
    [-1, 1]. A batch outside those ranges would silently give meaningless
    features, so it is rejected: a float batch far outside [-1, 1] is almost
    surely 0..255 data in a float array, and integers above 255 are 16-bit
    (or other) data that 0..255 would map to about [-1, 513].
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"Expected images of shape (N, H, W) or (N, H, W, C); got {images.shape}.")
    if images.dtype == np.bool_:
        raise TypeError("Boolean images are not supported; pass uint8 0..255 or float in [-1, 1].")
    if np.issubdtype(images.dtype, np.integer):
        # Any integer dtype holding 0..255 is fine, as for image_dataset.
        if images.dtype != np.uint8 and images.size:
            lo, hi = int(images.min()), int(images.max())
            if lo < 0 or hi > 255:
                raise ValueError(
                    f"Integer images are taken as 0..255 but this {images.dtype} "
                    f"batch spans [{lo}, {hi}]. Convert 16-bit images to uint8 "
                    "(x >> 8) or to float in [-1, 1] (x / 32767.5 - 1)."
                )
        return to_unit_range(images)
    images = images.astype(np.float32, copy=False)
    if images.size:
        lo, hi = float(images.min()), float(images.max())
        if lo < -2.0 or hi > 2.0:
            raise ValueError(
                f"Float images are assumed to be in [-1, 1] but this batch spans "
                f"[{lo:.3g}, {hi:.3g}]. Pass uint8 images for 0..255 data, or "
                "rescale with x / 127.5 - 1."
            )
    return images


def _match_channels(images, channels):
    c = images.shape[-1]
    if channels is None or c == channels:
        return images
    if c == 4:  # drop alpha
        images, c = images[..., :3], 3
        if c == channels:
            return images
    if c == 1 and channels == 3:
        return np.repeat(images, 3, axis=-1)
    if c == 3 and channels == 1:
        return images @ np.array([[0.299], [0.587], [0.114]], np.float32)
    raise ValueError(f"Cannot feed {c}-channel images to a model that expects {channels} channels.")


def _strip_names(obj):
    # Auto-generated layer names ("conv2d_37") depend on how many layers the
    # process built before, so they must not enter the fingerprint. A "dtype"
    # entry is kept whole: its policy's "name" ("mixed_bfloat16") changes the
    # features.
    if isinstance(obj, dict):
        return {k: v if k == "dtype" else _strip_names(v) for k, v in obj.items() if k != "name"}
    if isinstance(obj, (list, tuple)):
        return [_strip_names(v) for v in obj]
    return obj


class FeatureExtractor:
    """Features of any Keras model's layer, batched over any image source.

    Args:
        model: a `keras.Model` (built, with a defined input) or a path to a
            `.keras` file.
        layer: name of the layer whose output is the feature vector
            (flattened to 2-D). `None` uses the model's output.
        logits_layer: optional name of a layer giving class logits, needed
            for the Inception Score (`"is"`).
        image_size: `(height, width)` to resize images to; defaults to the
            model's input size (no resizing if that is undefined).
        input_range: the value range the model expects its inputs in. Images
            in the library's [-1, 1] are mapped linearly onto it, e.g.
            `(0, 255)` or `(0, 1)`.
        batch_size: images per forward pass.
        antialias: antialias when shrinking images (bilinear upsampling is
            unaffected). Image folders are read at the input size already,
            with PIL's antialiased bilinear resize, as training reads them.

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([
    ...     keras.Input((28, 28, 1)),
    ...     keras.layers.Conv2D(8, 3, activation="relu"),
    ...     keras.layers.GlobalAveragePooling2D(name="features"),
    ...     keras.layers.Dense(10, name="logits")])
    >>> extractor = FeatureExtractor(model, layer="features")
    >>> extractor(np.zeros((5, 28, 28), "uint8")).shape
    (5, 8)
    """

    def __init__(
        self,
        model,
        layer=None,
        logits_layer=None,
        image_size=None,
        input_range=(-1.0, 1.0),
        batch_size=64,
        antialias=True,
    ):
        if isinstance(model, (str, os.PathLike)):
            path = os.fspath(model)
            if not os.path.exists(path):
                raise FileNotFoundError(f"Model file not found: {path!r}")
            model = keras.saving.load_model(path, compile=False)
        if not isinstance(model, keras.Model):
            raise TypeError(f"Expected a keras.Model or a .keras path; got {type(model).__name__}.")
        try:
            inputs = model.inputs
        except (AttributeError, ValueError):
            inputs = None
        if not inputs:
            raise ValueError(
                "The model has no defined input; build it with keras.Input(shape) "
                "so that a feature sub-model can be cut from it."
            )
        self.model = model
        self.layer = layer
        self.logits_layer = logits_layer
        if layer is None:
            if len(model.outputs) != 1:
                raise ValueError("The model has several outputs; name the feature `layer`.")
            outputs = [model.outputs[0]]
        else:
            outputs = [model.get_layer(layer).output]
        if logits_layer is not None:
            outputs.append(model.get_layer(logits_layer).output)
        self._submodel = keras.Model(inputs[0], outputs)

        shape = tuple(inputs[0].shape)
        self.channels = shape[-1]
        if image_size is None and shape[1] is not None and shape[2] is not None:
            image_size = (shape[1], shape[2])
        self.image_size = None if image_size is None else tuple(int(s) for s in image_size)
        self.input_range = (float(input_range[0]), float(input_range[1]))
        self.batch_size = int(batch_size)
        self.antialias = bool(antialias)
        self._wrappers = {}
        self._compiled_full_batch = False

    @property
    def has_logits(self):
        return self.logits_layer is not None

    # -- the forward pass ----------------------------------------------------

    def _wrapper(self, height, width):
        # One small functional model per input size: resizing and range
        # mapping run inside the compiled predict step on every backend.
        key = (height, width)
        if key not in self._wrappers:
            inp = keras.Input((height, width, self.channels))
            x = inp
            if self.image_size is not None and key != self.image_size:
                x = keras.layers.Resizing(
                    *self.image_size, interpolation="bilinear", antialias=self.antialias
                )(x)
            lo, hi = self.input_range
            if (lo, hi) != (-1.0, 1.0):
                x = keras.layers.Rescaling(scale=(hi - lo) / 2.0, offset=(hi + lo) / 2.0)(x)
            self._wrappers[key] = keras.Model(inp, self._submodel(x))
        return self._wrappers[key]

    def _predict(self, images):
        n = len(images)
        wrapper = self._wrapper(*images.shape[1:3])
        # Pad a short last batch to the full batch size once the full shape is
        # compiled, so that JAX / tf.function do not recompile for the tail.
        pad = self.batch_size - n if (self._compiled_full_batch and n < self.batch_size) else 0
        if pad:
            images = np.concatenate([images, np.zeros((pad,) + images.shape[1:], images.dtype)])
        outs = wrapper.predict_on_batch(images)
        if n == self.batch_size:
            self._compiled_full_batch = True
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        outs = [np.asarray(keras.ops.convert_to_numpy(o))[:n] for o in outs]
        features = outs[0].reshape(n, -1).astype(np.float32, copy=False)
        logits = outs[1].reshape(n, -1).astype(np.float32, copy=False) if len(outs) > 1 else None
        return features, logits

    def iter_batches(self, images, batch_size=None, max_samples=None, seed=0):
        """Yield `(features, logits_or_None)` per batch without keeping them.

        Args:
            images: array, image folder, `tf.data.Dataset` or iterable of
                batches (see the module docstring for pixel conventions).
            batch_size: overrides the extractor's batch size.
            max_samples: stop after this many images.
            seed: seed of the subset taken from arrays/folders when
                `max_samples` is smaller than the data.
        """
        bs = int(batch_size or self.batch_size)
        # Folder images are read straight at the model's input size, so the
        # wrapper's resize does not apply to them a second time.
        batches = iter_image_batches(
            images, bs, max_samples=max_samples, seed=seed,
            image_size=self.image_size, channels=1 if self.channels == 1 else 3,
        )
        for batch in batches:
            batch = _match_channels(to_model_range(batch), self.channels)
            for start in range(0, len(batch), bs):
                yield self._predict(batch[start : start + bs])

    def __call__(self, images, batch_size=None, max_samples=None):
        """Features of `images` as a float32 array of shape (N, D)."""
        return self.features_and_logits(images, batch_size, max_samples)[0]

    def features_and_logits(self, images, batch_size=None, max_samples=None):
        """`(features (N, D), logits (N, K) or None)` of `images`."""
        feats, logits = [], []
        for f, l in self.iter_batches(images, batch_size, max_samples):
            feats.append(f)
            if l is not None:
                logits.append(l)
        dim = self._submodel.outputs[0].shape
        if not feats:
            return np.zeros((0, int(np.prod(dim[1:]))), np.float32), None
        return np.concatenate(feats), (np.concatenate(logits) if logits else None)

    # -- identity for the statistics cache -----------------------------------

    @property
    def fingerprint(self):
        """Hex SHA-256 of architecture, chosen layers, preprocessing and weights.

        Two extractors with the same fingerprint give the same features, so
        cached real-data statistics keyed by it can be reused safely. It is
        recomputed on every access (a fraction of a second for InceptionV3,
        next to minutes of feature extraction): weights can change in place,
        e.g. while an evaluator trains.
        """
        h = hashlib.sha256()
        meta = {
            "layer": self.layer,
            "logits_layer": self.logits_layer,
            "image_size": self.image_size,
            "input_range": self.input_range,
            "antialias": self.antialias,
            "channels": self.channels,
            "outputs": [str(tuple(o.shape)) for o in self._submodel.outputs],
            # The resizing wrapper is built under the global policy.
            "global_dtype_policy": keras.config.dtype_policy().name,
        }
        h.update(json.dumps(meta, sort_keys=True).encode())
        for lyr in self.model.layers:
            try:
                cfg = _strip_names(lyr.get_config())
            except Exception:  # layers without a config: class name only
                cfg = None
            h.update(f"{type(lyr).__name__}|{lyr.dtype_policy.name}|".encode())
            h.update(json.dumps(cfg, sort_keys=True, default=str).encode())
        for w in self.model.weights:
            arr = np.ascontiguousarray(keras.ops.convert_to_numpy(w))
            h.update(f"{arr.dtype.str}{arr.shape}".encode())
            h.update(memoryview(arr).cast("B"))
        return h.hexdigest()

    def __repr__(self):
        return (
            f"{type(self).__name__}(model={self.model.name!r}, layer={self.layer!r}, "
            f"logits_layer={self.logits_layer!r}, image_size={self.image_size})"
        )


def _inception_weights_path(include_top, cache_dir=None):
    fname, md5 = _INCEPTION_WEIGHTS[include_top]
    origin = _INCEPTION_BASE_URL + fname
    try:
        return keras.utils.get_file(
            fname, origin, cache_subdir="models", file_hash=md5, cache_dir=cache_dir
        )
    except Exception as e:  # keras raises a bare Exception on URL failures
        raise WeightsUnavailableError(
            f"The ImageNet weights for InceptionV3 could not be downloaded from "
            f"{origin} ({type(e).__name__}: {e}). This machine may be offline. "
            f"Either download {fname} elsewhere and pass its local path, "
            f'InceptionFeatureExtractor(weights="/path/{fname}"), or use another '
            "feature extractor: FeatureExtractor(model, layer=...) on any Keras "
            "model, e.g. a classifier trained with scripts/train_evaluator.py "
            '(FeatureExtractor("evaluators/mnist.keras", layer="features")).'
        ) from e


class InceptionFeatureExtractor(FeatureExtractor):
    """InceptionV3 pool3 features (2048-d), the network behind FID and KID.

    Images (float in [-1, 1] or uint8 in [0, 255]) are resized bilinearly to
    299 x 299 and fed in [-1, 1], which is exactly InceptionV3's own
    `preprocess_input` ("tf" mode: x / 127.5 - 1 on 0..255 pixels).

    Note: this is Keras' InceptionV3, not the TF-slim graph of the original
    FID code, so absolute numbers are comparable with each other but not with
    published FIDs.

    Args:
        weights: `"imagenet"` (downloaded once into the Keras cache), a local
            path to the `.h5` weights file, or `None` for random weights
            (only useful for tests).
        logits: also expose the 1000-class ImageNet logits (builds the model
            with its top), needed for the Inception Score.
            Local weights must then be the full file
            `inception_v3_weights_tf_dim_ordering_tf_kernels.h5`.
        batch_size: images per forward pass.
        cache_dir: Keras cache directory for the download (default
            `~/.keras`).

    Raises:
        WeightsUnavailableError: `weights="imagenet"` and the file is neither
            cached nor downloadable (e.g. offline).

    Example:

    >>> extractor = InceptionFeatureExtractor()            # needs network once
    >>> extractor = InceptionFeatureExtractor(
    ...     weights="/data/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
    >>> feats = extractor(images)                           # (N, 2048)
    """

    def __init__(self, weights="imagenet", logits=False, batch_size=32, cache_dir=None):
        include_top = bool(logits)
        if weights == "imagenet":
            # Fetch the file ourselves, before building the model, so that an
            # offline machine fails fast with an actionable message.
            weights = _inception_weights_path(include_top, cache_dir)
        elif weights is not None and not os.path.exists(os.fspath(weights)):
            raise FileNotFoundError(f"InceptionV3 weights file not found: {os.fspath(weights)!r}")
        model = keras.applications.InceptionV3(
            include_top=include_top,
            weights=None,
            input_shape=(299, 299, 3),
            pooling=None if include_top else "avg",
            classifier_activation=None,  # logits, not probabilities
        )
        if weights is not None:
            model.load_weights(os.fspath(weights))
        super().__init__(
            model,
            layer="avg_pool" if include_top else None,
            logits_layer="predictions" if include_top else None,
            image_size=(299, 299),
            input_range=(-1.0, 1.0),
            batch_size=batch_size,
        )


# -- from what a user names ---------------------------------------------------


def _has_layer(model, name):
    try:
        model.get_layer(name)
    except ValueError:
        return False
    return True


def _output_is_softmax(model):
    """Whether the model's (single) output is softmax probabilities."""
    if len(model.outputs) != 1:
        return False
    layer = model.outputs[0]._keras_history.operation
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) == "softmax"


@keras.saving.register_keras_serializable(package="keras_gans")
class _LogProbabilities(keras.layers.Layer):
    """log(p): logits whose softmax is `p` again, for the Inception Score."""

    def call(self, probabilities):
        return keras.ops.log(keras.ops.maximum(probabilities, 1e-12))


def resolve_extractor(extractor=None, layer=None, logits=False, logits_layer=None, batch_size=64):
    """A `FeatureExtractor` from what a user names.

    Args:
        extractor: `None` or `"inception"` (InceptionV3 pool3, ImageNet
            weights; raises `WeightsUnavailableError` offline), the path of a
            `.keras` classifier (e.g. `evaluators/mnist.keras`), a
            `keras.Model`, or a `FeatureExtractor` (returned as it is).
        layer: the feature layer of a `.keras` model / `keras.Model`; default
            its layer named "features" if it has one, else its output.
        logits: also expose class logits (for the Inception Score).
        logits_layer: the layer giving them; default the layer named
            "logits", else the model's output (a softmax output is turned
            into log-probabilities, which are logits of the same softmax).
        batch_size: images per forward pass.
    """
    if isinstance(extractor, FeatureExtractor):
        return extractor
    if extractor is None or (isinstance(extractor, str) and extractor.lower() == "inception"):
        return InceptionFeatureExtractor(logits=logits, batch_size=batch_size)
    if isinstance(extractor, (str, os.PathLike)):
        path = os.fspath(extractor)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Feature extractor model not found: {path!r}")
        if not path.endswith(".keras"):
            raise ValueError(f"Expected 'inception' or a .keras model file as extractor; got {path!r}.")
        model = keras.saving.load_model(path, compile=False)
    elif isinstance(extractor, keras.Model):
        model = extractor
    else:
        raise TypeError(
            "extractor must be None, 'inception', a .keras path, a keras.Model or a "
            f"FeatureExtractor; got {type(extractor).__name__}."
        )
    if layer is None and _has_layer(model, "features"):
        layer = "features"
    if logits and logits_layer is None:
        if _has_layer(model, "logits"):
            logits_layer = "logits"
        elif len(model.outputs) != 1:
            raise ValueError("The extractor model has several outputs; name its logits layer.")
        elif _output_is_softmax(model):
            if layer is None:
                raise ValueError("Name the feature `layer` of a softmax classifier.")
            log_p = _LogProbabilities(name="log_probabilities")(model.outputs[0])
            model = keras.Model(model.inputs, [model.outputs[0], log_p], name=model.name)
            logits_layer = "log_probabilities"
        else:
            logits_layer = model.outputs[0]._keras_history.operation.name
    return FeatureExtractor(
        model, layer=layer, logits_layer=logits_layer if logits else None, batch_size=batch_size
    )
