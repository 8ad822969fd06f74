"""Small compiled pieces of one SGD step, shared by the dense and CSR epochs.

The weights are held as ``w = scale * coef`` so that the L2 shrink costs O(1);
the running average as ``avg = (avg_coef + avg_a * coef) / avg_b`` (Xu, 2011;
Bottou, 2012) so that averaging costs O(nnz); L1 uses the cumulative-penalty
truncation of Tsuruoka et al. (2009), applied to the features a sample touches
(on dense rows too, so that dense and sparse input train identically).  The
penalty still pending on untouched weights is applied to the model's output
(``linear_model._state.apply_pending_l1``), never to the trajectory, so
epochs and ``partial_fit`` chunks compose exactly.
"""

import math

from .._config import jit
from ._layout import CONSTANT, INVSCALING, MAX_DLOSS, MIN_SCALE


@jit()
def inverse_scaling(eta0, t, power_t):
    """eta0 / t ** power_t; the two defaults (classifier 0.5, regressor 0.25)
    by square roots: a pow a sample cost about a quarter of a sequential epoch."""
    if power_t == 0.5:
        return eta0 / math.sqrt(t)
    if power_t == 0.25:
        return eta0 / math.sqrt(math.sqrt(t))
    return eta0 / math.pow(t, power_t)


@jit()
def step_size(schedule, eta0, power_t, optimal_t0, alpha, t):
    """Learning rate at step ``t`` (t >= 1) of ``schedule``."""
    if schedule == CONSTANT:
        return eta0
    if schedule == INVSCALING:
        return inverse_scaling(eta0, t, power_t)
    return 1.0 / (alpha * (optimal_t0 + t - 1.0))


@jit()
def clip_dloss(d):
    """Clip a derivative to +-MAX_DLOSS; returns (clipped value, 1 if clipped)."""
    if d > MAX_DLOSS:
        return MAX_DLOSS, 1
    if d < -MAX_DLOSS:
        return -MAX_DLOSS, 1
    return d, 0


@jit(inline="always")
def overflow_marker(p):
    """NaN for a NaN score ``p`` (``inf - inf``: weights so large that the
    model is undefined on the row), else 0.0.

    Every epoch kernel adds it to its loss sum, whether or not it sums the
    loss, so that such a score reaches the training loop's divergence check:
    hinge and perceptron give a NaN margin a zero loss and a zero derivative,
    and a model of finite but huge weights would otherwise train on silently
    and be published (issue 21).  An infinite score is left alone: finite
    weights times one huge entry of a row give it (scikit-learn fits such rows
    too), and an infinite loss already stops training.
    """
    if math.isnan(p):
        return math.nan
    return 0.0


@jit()
def l1_truncate(coef, l1_q, j, u, scale):
    """Truncate weight ``j`` by its pending cumulative L1 penalty.

    ``u`` is the total penalty per weight so far, ``l1_q[j]`` what weight j has
    actually received (negative for shrinking a positive weight).  Returns the
    change made to ``coef[j]``.
    """
    z = coef[j]
    w = scale * z
    if w > 0.0:
        coef[j] = max(0.0, z - (u + l1_q[j]) / scale)
    elif w < 0.0:
        coef[j] = min(0.0, z + (u - l1_q[j]) / scale)
    delta = coef[j] - z
    l1_q[j] += scale * delta
    return delta


@jit(inline="always")
def fold_average(coef, avg_coef, avg_a, avg_b):
    """Materialise the lazy average into ``avg_coef`` (then avg_a=0, avg_b=1)."""
    if avg_a != 0.0 or avg_b != 1.0:
        for j in range(coef.shape[0]):
            avg_coef[j] = (avg_coef[j] + avg_a * coef[j]) / avg_b


@jit(inline="always")
def scale_weights(coef, scale):
    """coef *= scale, in place."""
    if scale != 1.0:
        for j in range(coef.shape[0]):
            coef[j] *= scale


@jit()
def shrink_or_fold(coef, avg_coef, scale, factor, avg_a, avg_b):
    """Multiply the weight scale by ``factor`` (the L2 shrink); when the scale
    gets tiny, fold it (and the lazy average) into the arrays.  The two folds
    are inlined: a function that calls another with arrays keeps the atomic
    reference counts of its own array arguments on every call.

    Returns the new ``(scale, avg_a, avg_b)``.
    """
    scale *= factor
    if scale < MIN_SCALE:
        fold_average(coef, avg_coef, avg_a, avg_b)
        scale_weights(coef, scale)
        return 1.0, 0.0, 1.0
    return scale, avg_a, avg_b


@jit()
def average_step(t, average_start, scale, avg_a, avg_b):
    """Enter the current weights (step t) into the lazy running average.

    Returns ``(avg_a, avg_b, mu)`` where ``mu = 1 / k`` is the weight of the
    k-th averaged step (for the intercept's eager average).
    """
    k = t - average_start + 1.0
    mu = 1.0 / k
    if k > 1.0:
        avg_b /= 1.0 - mu
    avg_a += mu * avg_b * scale
    return avg_a, avg_b, mu


@jit()
def finish_epoch(coef, avg_coef, scale, avg_a, avg_b):
    """Materialise the lazy average and the weight scale into the arrays."""
    fold_average(coef, avg_coef, avg_a, avg_b)
    scale_weights(coef, scale)
