"""Fréchet distance between Gaussians: the FID formula (Heusel et al. 2017).

`d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½)`, computed in float64 with
`scipy.linalg.sqrtm`, following the pytorch-fid reference implementation.
"""

import warnings

import numpy as np
from scipy import linalg


def _sqrtm(a):
    with warnings.catch_warnings():
        # SciPy warns on singular input; the caller checks the result instead.
        warnings.simplefilter("ignore")
        return linalg.sqrtm(a)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    With Inception pool3 statistics of real and generated images this is the
    FID. Covariances estimated from fewer samples than dimensions are
    singular, and `sqrtm` of their product may then be non-finite or wrong;
    in that case `eps * I` is added to both covariances and the square root
    recomputed (as pytorch-fid does). Round-off leaves a tiny imaginary part,
    which is dropped; a large one means the inputs are not covariance
    matrices and raises.

    Args:
        mu1, mu2: mean vectors (D,).
        sigma1, sigma2: covariance matrices (D, D).
        eps: diagonal offset used for near-singular products.

    Returns:
        The squared Fréchet distance as a Python float.

    Raises:
        ValueError: mismatched shapes, or an imaginary component > 1e-3.

    Example:

    >>> a, b = np.random.randn(5000, 4), np.random.randn(5000, 4) + 1
    >>> frechet_distance(a.mean(0), np.cov(a, rowvar=False),
    ...                  b.mean(0), np.cov(b, rowvar=False))  # ~4.0
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape:
        raise ValueError(f"Mean vectors have different shapes: {mu1.shape} vs {mu2.shape}.")
    if sigma1.shape != sigma2.shape or sigma1.shape != (mu1.shape[0],) * 2:
        raise ValueError(
            f"Covariances must both be ({mu1.shape[0]}, {mu1.shape[0]}); got {sigma1.shape} and {sigma2.shape}."
        )
    diff = mu1 - mu2

    product = sigma1 @ sigma2
    covmean = _sqrtm(product)
    scale = max(np.linalg.norm(product), np.finfo(np.float64).tiny)
    residual = np.linalg.norm(covmean @ covmean - product) / scale if np.isfinite(covmean).all() else np.inf
    if not np.isfinite(covmean).all() or residual > 1e-3:
        # Singular product: regularise both covariances, as pytorch-fid does.
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))

    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError(f"Imaginary component {m:.3g} in sqrtm(sigma1 @ sigma2): inputs are not covariances.")
        covmean = covmean.real

    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
