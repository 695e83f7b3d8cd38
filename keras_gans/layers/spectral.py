"""Spectral normalization (Miyato et al. 2018) with Keras' own wrapper.

SAGAN and BigGAN normalize every weight layer of their discriminators (and
BigGAN's generator) by the largest singular value of its kernel. The models
of keras-gans use `keras.layers.SpectralNormalization` for this; `spectral_norm`
below only saves them the wrapping boilerplate. How that wrapper behaves
matters for a GAN step, which calls a discriminator several times (real
batch, fake batch, generator phase), so here is what it does:

- **When the power iteration runs.** In every call with `training=True`,
  and only then (its `call` defaults to `training=False`; inside a model,
  Keras passes the model's `training` down). Each such call runs
  `power_iterations` steps from the stored estimate `vector_u` (a
  non-trainable variable), estimates sigma = v W u^T and *assigns*
  W / sigma to the wrapped layer's kernel, which the layer then uses. So
  the kernel variable itself holds the normalized kernel; nothing keeps the
  raw one (unlike PyTorch's `spectral_norm`, which keeps `weight_orig`).
  An all-zero kernel is left alone.
- **Several calls per step.** Each training-mode call is one more power
  iteration and one more division. After the first, sigma of the stored
  kernel is about 1, so later calls change it little and only sharpen `u`.
  But a second training-mode call *within one gradient computation*
  rewrites the kernel in place while the first call's backward pass still
  reads it, which PyTorch's autograd refuses ("modified by an inplace
  operation"). So `GAN.score` runs a spectrally normalized discriminator
  in training mode once per loss (the reals) and in inference mode for
  the rest of that loss (fakes, penalties) whenever the two modes compute
  the same function (no BatchNorm, no dropout): one power iteration per
  loss, and reals and fakes judged by the same kernels, as in PyTorch's
  `spectral_norm`. The generator phase's loss is a gradient computation of
  its own, with its one training-mode call. Inference calls (`training=False`: `predict`,
  `evaluate`, `test_step`) neither move `u` nor touch the kernel; they use the
  kernel the last optimizer step left, W/sigma - lr * grad, whose top
  singular value is 1 only up to that last update (PyTorch's eval mode
  instead divides by sigma from the stored `u`).
- **Gradients differ between backends.** The assignment is not
  differentiated on TensorFlow and PyTorch: the gradient is dL/dW_hat, taken
  as if W_hat = W / sigma were the parameter (a projected-gradient reading).
  On JAX, keras-gans runs the step under a `StatelessScope` in which the
  assigned value is the traced W / sigma(W), so the gradient flows through
  sigma as in the paper and PyTorch (u and v held fixed), giving
  (g - <g, W_hat> v^T u) / sigma for the other backends' g: the two differ
  along the top singular pair. `tests/test_layers_spectral.py` checks both.
- **JAX state.** `vector_u` is a non-trainable variable and the kernel a
  trainable one, both assigned in `call`. keras-gans' JAX step reads back
  every variable assigned under its scope, so both persist as on the other
  backends. Keras' own JAX `fit` (a plain `keras.Model`) returns only the
  non-trainable ones: there `u` advances but the kernel assignment is
  dropped, so the stored kernel stays un-normalized while each forward pass
  uses W / sigma. A trainer that carries only some variable groups must
  carry the wrapped kernels too. Under `input_gradients` (gradient
  penalties) JAX discards the updates, so such a call does not move `u`.
- **Which norm.** A kernel is reshaped to `(-1, last_axis)`: a `Conv2D`
  kernel to `(kh * kw * c_in, c_out)`, a `Dense` one stays `(in, units)`.
  Its top singular value is that matrix's, as in the SN-GAN code, not the
  operator norm of the convolution (which differs and is costlier to get).
  A `Conv2DTranspose` kernel, `(kh, kw, c_out, c_in)`, becomes
  `(kh * kw * c_out, c_in)`, a different matrix from PyTorch's reshape of
  its transposed-convolution weight.
- **Mixed precision.** The kernel and `u` are float32 variables under
  `mixed_bfloat16`, so the power iteration runs in float32; only the wrapped
  layer's computation is in the compute dtype.
"""

from keras import layers


def spectral_norm(layer, power_iterations=1, enabled=True):
    """Wrap `layer` in `keras.layers.SpectralNormalization`, or not.

    A model builder with a `spectral_norm` option writes
    `spectral_norm(layers.Conv2D(...), enabled=option)` once instead of an
    `if` around every layer. The wrapper is named after the layer
    (`<name>_sn`), so a summary reads like the unnormalized network's.

    Args:
        layer: a layer with a `kernel` (`Dense`, `Conv2D`, ...). Not an
            `Embedding`: Keras 3.15's wrapper casts its output to the
            labels' integer dtype (all zeros); normalize a `Dense` on one-hot
            labels instead, which is the same matrix.
        power_iterations: power-iteration steps per training-mode call
            (1 in SN-GAN, SAGAN and BigGAN).
        enabled: `False` returns `layer` itself.

    Returns:
        The wrapped layer (or `layer` when not enabled).

    Example:

    >>> conv = spectral_norm(keras.layers.Conv2D(64, 3, name="d_conv1"))
    >>> conv.name
    'd_conv1_sn'
    >>> dense = keras.layers.Dense(1)
    >>> spectral_norm(dense, enabled=False) is dense
    True
    """
    if not enabled:
        return layer
    if isinstance(layer, layers.Embedding):
        raise ValueError(
            f"spectral_norm({layer.name!r}): Keras' SpectralNormalization breaks an Embedding "
            "(its output is cast to the labels' integer dtype); use a bias-free Dense on "
            "one-hot labels, the same matrix, instead."
        )
    return layers.SpectralNormalization(
        layer, power_iterations=power_iterations, name=f"{layer.name}_sn"
    )
