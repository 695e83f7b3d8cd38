"""Kernel Inception Distance (Bińkowski et al. 2018).

The unbiased estimate of the squared maximum mean discrepancy (MMD²) with the
cubic polynomial kernel `k(x, y) = (x·y / d + 1)³`, averaged over random
subsets as in the reference and in StyleGAN2-ADA. Unlike FID it is unbiased,
so its expected value is 0 when both sets come from the same distribution
(individual estimates can then be slightly negative).
"""

import numpy as np


def _kernel(a, b):
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x, y):
    """Unbiased MMD² between two equally sized feature sets (m, d)."""
    m = x.shape[0]
    kxx, kyy, kxy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    # The unbiased estimator leaves out the k(x_i, x_i) diagonal terms.
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return within - 2.0 * kxy.sum() / (m * m)


def kernel_inception_distance(feats1, feats2, num_subsets=100, subset_size=1000, seed=0):
    """KID between two feature sets, as (mean, std) over random subsets.

    Args:
        feats1, feats2: features (N1, D) and (N2, D), e.g. Inception pool3 of
            real and generated images.
        num_subsets: number of random subset pairs.
        subset_size: samples per subset, clipped to the smaller set (as in
            StyleGAN2-ADA), drawn without replacement.
        seed: seed of the subset draws.

    Returns:
        `(mean, std)` of the per-subset MMD² estimates (population std).

    Example:

    >>> real, fake = np.random.randn(2000, 64), np.random.randn(2000, 64)
    >>> kid, kid_std = kernel_inception_distance(real, fake)  # kid ~ 0
    """
    x = np.asarray(feats1, np.float64)
    y = np.asarray(feats2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"Expected two (N, D) feature arrays with equal D; got {x.shape} and {y.shape}.")
    m = min(int(subset_size), x.shape[0], y.shape[0])
    if m < 2:
        raise ValueError("KID needs at least 2 samples in each set.")
    rng = np.random.default_rng(seed)
    values = np.empty(int(num_subsets))
    for i in range(int(num_subsets)):
        xs = x[rng.choice(x.shape[0], m, replace=False)]
        ys = y[rng.choice(y.shape[0], m, replace=False)]
        values[i] = mmd2_unbiased(xs, ys)
    return float(values.mean()), float(values.std())
