"""keras-gans: generative adversarial networks for Keras 3.

`import keras_gans` imports every module, which also registers every model,
layer and loss with Keras' serialization registry: `keras.models.load_model`
finds the classes of a `.keras` file by name there, and never imports a
module itself.

The training scripts parse their arguments before Keras (and TensorFlow) is
imported, so that `--help` and argument errors answer at once: they set
`KERAS_GANS_DEFER_IMPORTS=1` before the first `import keras_gans...`. This
module removes the variable as it reads it (subprocesses import eagerly
again) and then loads the rest on the first use of any `keras_gans.<name>`
(PEP 562), or on `import_all()`.
"""

import os

__version__ = "0.1.0"

_DEFER = "KERAS_GANS_DEFER_IMPORTS"
_loading = False


def import_all():
    """Import every module of the package (and so register its classes with
    Keras); what a plain `import keras_gans` does. Only the scripts, which
    defer it, need to call it.

    Example:

    ```python
    import keras, keras_gans
    keras_gans.import_all()
    gan = keras.models.load_model("runs/x/checkpoints/last.keras")
    ```
    """
    global _loading
    if "GAN" in globals():
        return
    _loading = True
    try:
        from keras_gans import (  # noqa: F401
            augment, backend, callbacks, data, distribute, export, export_cyclegan, export_stylegan,
            growing,
            images, layers, losses, metrics, models, optimizers, regularizers, sampling,
        )
        from keras_gans.gan import GAN  # noqa: F401
        from keras_gans.models import (  # noqa: F401
            SAGAN, WGAN, WGANGP, BigGAN, CoGAN, ConditionalGAN, CycleGAN, DCGAN, ProGAN,
            StyleGAN, VanillaGAN,
        )
    finally:
        _loading = False
    globals().update({name: value for name, value in locals().items() if not name.startswith("_")})


def __getattr__(name):
    # Reached only for names not loaded yet: with deferred imports, or for a
    # submodule that `from keras_gans import x` asks for during the loading
    # itself (AttributeError then lets the import system import it).
    if name.startswith("__") or _loading:
        raise AttributeError(f"module 'keras_gans' has no attribute {name!r}")
    import_all()
    try:
        return globals()[name]
    except KeyError:
        raise AttributeError(f"module 'keras_gans' has no attribute {name!r}") from None


if not os.environ.pop(_DEFER, None):
    import_all()
