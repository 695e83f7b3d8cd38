"""Gradients through each backend's own autodiff, for the layer and op tests.

The library's trainer has its own gradient plumbing (`keras_gans.backend`);
these tests check layers and functions against closed forms independently
of it, the way each framework's users would differentiate them.
"""

import keras
from keras import ops

BACKEND = keras.backend.backend()


def input_gradient(fn, x):
    """d fn(x) / dx for a scalar-valued `fn` of a tensor `x`, as NumPy."""
    x = ops.convert_to_tensor(x)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        grad = tape.gradient(value, x)
    elif BACKEND == "jax":
        import jax

        grad = jax.grad(fn)(x)
    else:
        import torch

        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(x), [x])
    return ops.convert_to_numpy(grad)


def variable_gradient(fn, variable):
    """d fn() / d variable for a scalar-valued `fn` that reads (and may
    assign) Keras variables, as NumPy. On JAX the variable is mapped to the
    traced value in a `StatelessScope`, as a JAX training step does, so a
    value assigned inside `fn` is traced too."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = fn()
        grad = tape.gradient(value, variable)
    elif BACKEND == "jax":
        import jax

        def pure(value):
            with keras.StatelessScope(state_mapping=[(variable, value)]):
                return fn()

        grad = jax.grad(pure)(variable.value)
    else:
        import torch

        (grad,) = torch.autograd.grad(fn(), [variable.value])
    return ops.convert_to_numpy(grad)
