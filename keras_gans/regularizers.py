"""Weight regularizers of GAN papers that Keras does not ship."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gans")
class OffDiagonalOrthogonal(keras.regularizers.Regularizer):
    """BigGAN's orthogonal regularization: `strength * ||W^T W * (1 - I)||_F^2`.

    `W` is the kernel as a `(fan_in, units)` matrix (a conv kernel
    `(kh, kw, c_in, c_out)` as `(kh * kw * c_in, c_out)`), so `W^T W` holds
    the dot products between filters. Brock et al. (2019, section 3.1) drop
    its diagonal from the classic `||W^T W - I||^2`: filters are pushed
    towards orthogonality but their norms are left free, which is what made
    the truncation trick work for more of their models.

    Its gradient is `4 * strength * W (W^T W * (1 - I))`. BigGAN's code
    (`utils.ortho`) adds `2 * strength * (w w^T * (1 - I)) w` to each
    gradient directly (with `w` the PyTorch weight, `(units, fan_in)`, i.e.
    `W^T`), half of that: the authors' `--G_ortho 1e-4` is
    `OffDiagonalOrthogonal(5e-5)`, while the paper's formula with its
    beta = 1e-4 is `OffDiagonalOrthogonal(1e-4)`. The authors' code also skips
    1-D parameters and the shared class embedding; a regularizer goes only
    where it is given, so give it to the kernels that should have it.

    Keras' `OrthogonalRegularizer` is another formula: the *mean absolute*
    cosine similarity between distinct rows (`mode="rows"`, its default: for
    a `Dense` kernel, the input features) or columns (the filters) of a
    rank-2 kernel, `factor * mean_{i != j} |w_i . w_j| / (|w_i| |w_j|)`. It
    is invariant to the filters' scale, penalizes with an L1 rather than a
    squared norm, and rejects conv kernels.

    Args:
        strength: the factor in front (the paper's beta).

    Example:

    >>> layer = keras.layers.Conv2D(64, 3, kernel_regularizer=OffDiagonalOrthogonal(1e-4))
    >>> float(OffDiagonalOrthogonal(1.0)(keras.ops.eye(3)))  # orthonormal: no penalty
    0.0
    """

    def __init__(self, strength=1e-4):
        if not strength >= 0:
            raise ValueError(f"strength must be a number >= 0, got {strength!r}.")
        self.strength = float(strength)

    def __call__(self, kernel):
        if len(kernel.shape) < 2:
            raise ValueError(
                "OffDiagonalOrthogonal regularizes matrices and conv kernels (rank >= 2), "
                f"got a weight of shape {tuple(kernel.shape)}: leave biases and scales out."
            )
        units = kernel.shape[-1]
        w = ops.reshape(ops.cast(kernel, "float32"), (-1, units))
        correlations = ops.matmul(ops.transpose(w), w) * (1.0 - ops.eye(units, dtype="float32"))
        return self.strength * ops.sum(ops.square(correlations))

    def get_config(self):
        return {"strength": self.strength}
