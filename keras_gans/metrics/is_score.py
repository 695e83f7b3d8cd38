"""Inception Score (Salimans et al. 2016): `exp(E_x KL(p(y|x) || p(y)))`.

It rewards classifiers that are confident on each image (low-entropy
`p(y|x)`) and images spread over all classes (high-entropy `p(y)`): it is 1 for
a uniform classifier and the number of classes for a confident, balanced one.
"""

import numpy as np
from scipy.special import log_softmax, xlogy


def inception_score(predictions, splits=10, from_logits=False):
    """Inception Score as (mean, std) over `splits` disjoint splits.

    Args:
        predictions: class probabilities (N, K) or, with `from_logits=True`,
            logits (softmax is then taken in float64).
        splits: number of splits (`np.array_split`, so all samples are used).
        from_logits: whether `predictions` are logits.

    Returns:
        `(mean, std)` of the per-split scores.

    Example:

    >>> probs = np.eye(10)[np.arange(1000) % 10]   # confident and balanced
    >>> inception_score(probs)                      # (10.0, 0.0)
    """
    p = np.asarray(predictions, np.float64)
    if p.ndim != 2:
        raise ValueError(f"Expected (N, K) predictions; got shape {p.shape}.")
    if from_logits:
        log_p = log_softmax(p, axis=1)
        p = np.exp(log_p)
    else:
        if (p < -1e-6).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
            raise ValueError(
                "Rows of `predictions` are not probabilities (non-negative, summing "
                "to 1); pass from_logits=True for logits."
            )
        p = np.clip(p, 0.0, None)
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be in [1, {len(p)}]; got {splits}.")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        # xlogy gives 0 * log 0 = 0 for classes with zero probability.
        kl = (xlogy(part, part) - xlogy(part, py)).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
